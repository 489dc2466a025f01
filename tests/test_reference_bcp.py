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
    # the WRN's BCP row (the lost line's) is null: the suite trains it, with no paper number beside
    assert [(m, v) for block in ref["blocks"] for m, v in block["values"].items() if None not in v] == printed
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


@pytest.mark.skipif(not THESIS.exists(), reason="shared/ papers not beside the checkout")
def test_tableB2_medians_and_spreads_are_the_thesis_ones():
    lines = THESIS.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Table B.2:"))
    printed = {}
    for line in lines[start + 1:start + 8]:
        cells = [c.strip() for c in line.split("\t") if c.strip()]
        if cells and cells[0] in LABELS:
            numbers = [[float(n) for n in re.findall(r"\d+\.\d\d", cell)] for cell in cells[1:]]
            printed[LABELS[cells[0]]] = ([n[0] for n in numbers], [n[1:] for n in numbers if len(n) == 3] or None)
    block = reference_table("bcp", "tableB2")["blocks"][0]
    assert {m: (block["values"][m], block.get("spread", {}).get(m)) for m in block["values"]} == printed


@pytest.mark.skipif(not THESIS.exists(), reason="shared/ papers not beside the checkout")
def test_tableB3_means_sit_at_their_lambda_pair():
    lines = THESIS.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Table B.3:"))
    columns = [1, 0.9, 0.5, 0.01]  # lambda_0, as printed left to right; rows lambda_1, cells right-aligned
    printed = {}
    for line in lines[start + 1:start + 10]:
        cells = line.split("\t")
        if re.fullmatch(r"\d+(\.\d+)?", cells[0].strip()) and "/" in line:
            row = [c.strip() for c in cells[1:]]
            for lam0, cell in zip(columns, row):
                if cell:
                    printed[f"bcp-lam_start{lam0:g}-lam_end{float(cells[0]):g}"] = [float(n) for n in cell.split("/")]
    assert reference_table("bcp", "tableB3")["blocks"][0]["values"] == printed
