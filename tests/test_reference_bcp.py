"""The l2 reference numbers of thesis table 3.2 (bench/reference/bcp.yaml) against the thesis text."""
import re

import pytest

from bench.reference import reference_table
from conftest import SHARED

THESIS = SHARED / "papers" / "lee_thesis_heuristic_to_certified_2021.txt"
LABELS = {"CAP": "cap", "LMT": "lmt", "IBP": "ibp", "BCP": "bcp"}


@pytest.mark.skipif(not THESIS.exists(), reason="shared/ papers not beside the checkout")
def test_table3_2_rows_are_the_thesis_rows_in_order():
    """The text lost the line of the 6C2F block's BCP row, whose numbers sit on the WRN label's line: read in
    order, every (method, standard, PGD, verified) of the text is the yaml's, block after block."""
    lines = THESIS.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Table 3.2:"))
    printed = []
    for line in lines[start + 1:start + 30]:
        cells = [c.strip() for c in line.split("\t") if c.strip()]
        method = next((LABELS[c] for c in cells if c in LABELS), None)
        numbers = [float(c) for c in cells if re.fullmatch(r"\d+\.\d\d", c)]
        if method and len(numbers) == 3:
            printed.append((method, numbers))
    ref = reference_table("bcp", "table3_2")
    assert [(m, v) for block in ref["blocks"] for m, v in block["values"].items()] == printed
    assert [(b["dataset"], b["model"], b["eps"]) for b in ref["blocks"]] == [
        ("mnist", "4c3f", "1.58"), ("cifar10", "4c3f", "36/255"), ("cifar10", "6c2f", "36/255"),
        ("cifar10", "wrn", "36/255"), ("tinyimagenet", "8c2f", "36/255")]


@pytest.mark.skipif(not THESIS.exists(), reason="shared/ papers not beside the checkout")
def test_table3_1_times_and_speedups_are_the_thesis_ones():
    lines = THESIS.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Table 3.1:"))
    printed = []
    for line in lines[start + 1:start + 12]:
        cells = [c.strip().replace(",", "").rstrip("*") for c in line.split("\t") if c.strip()]
        numbers = [c for c in cells if re.fullmatch(r"\d+(\.\d+)?|-", c)]
        speedup = re.search(r"times (\d+\.\d)", line)
        if len(numbers) in (2, 3):  # CAP, BCP and, where CAP is "-", a "-" speed-up
            printed.append(([None if n == "-" else float(n) for n in numbers[:2]],
                            float(speedup.group(1)) if speedup else None))
    ref = reference_table("bcp", "table3_1")
    assert [([b["values"]["cap"][0], b["values"]["bcp"][0]], b["speedup"]) for b in ref["blocks"]] == printed
