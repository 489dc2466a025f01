"""The l_inf reference numbers (thesis tables 3.4, C.2, 3.6, C.1; book table 14.1) against the paper text."""
import re

import pytest

from bench.methods import METHODS
from bench.reference import reference_table
from conftest import SHARED

THESIS = SHARED / "papers" / "lee_thesis_heuristic_to_certified_2021.txt"
BOOK = SHARED / "papers" / "book_ch14_certified_training.txt"
needs_shared = pytest.mark.skipif(not THESIS.exists(), reason="shared/ papers not beside the checkout")
TRIPLE = r"(\d+\.\d+) / (\d+\.\d+) / (\d+\.\d+)"


def triples_after(caption: str, rows: int) -> list[list[list[float] | None]]:
    """For the first ``rows`` lines holding 'a / b / c' groups after ``caption``: each group as numbers,
    with None where the paper prints '-'."""
    lines = THESIS.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(caption))
    found = []
    for line in lines[start + 1:]:
        cells = [re.sub(r"</?[bu]>", "", c).strip() for c in line.split("\t")]
        groups = [[float(v) for v in re.fullmatch(TRIPLE, c).groups()] if re.fullmatch(TRIPLE, c) else None
                  for c in cells if re.fullmatch(TRIPLE, c) or c == "-"]
        if groups:
            found.append(groups)
        if len(found) == rows:
            return found
    raise AssertionError(f"fewer than {rows} rows after {caption!r}")


def block_values(table: str, methods: list[str]) -> list[list]:
    return [[block["values"].get(m) for m in methods] for block in reference_table("landscape", table)["blocks"]]


@needs_shared
def test_table3_4_and_c2_match_the_thesis():
    assert block_values("table3_4", ["ibp", "crown_ibp", "cap", "ours"]) == triples_after("Table 3.4:", 10)
    assert block_values("table3_4", ["ibp_kappa0", "crown_ibp_kappa0", "cap", "ours_kappa0"]) == \
        triples_after("Table C.2:", 10)


@needs_shared
def test_table3_6_matches_the_thesis():
    assert block_values("table3_6", ["ours", "crown_ibp_1to0"]) == triples_after("Table 3.6:", 5)


@needs_shared
def test_table_c1_matches_the_thesis():
    lines = THESIS.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Table C.1:"))
    printed = {}
    for line in lines[start + 1:start + 8]:
        cells = line.split("\t")
        if cells[0] in ("Standard", "PGD", "Verified"):
            printed[cells[0]] = [float(re.sub(r"</?u>", "", c)) for c in cells[1:]]
    ref = reference_table("landscape", "tableC1")
    values = ref["blocks"][0]["values"]
    for k, method in enumerate(ref["rows"]):
        assert values[method] == [printed["Standard"][k], printed["PGD"][k], printed["Verified"][k]]


@pytest.mark.skipif(not BOOK.exists(), reason="shared/ papers not beside the checkout")
def test_book_table14_1_matches_the_text():
    printed = [line.split("\t") for line in BOOK.read_text().splitlines() if line.startswith(("MNIST\t0.4", "CIFAR-10\t8/255"))]
    ref = reference_table("book", "table14_1")
    rows = list(ref["rows"])
    for block in ref["blocks"]:
        lines = [p for p in printed if p[1] == block["eps"]]
        assert [[float(p[3]), float(p[4])] for p in lines] == [block["values"][m] for m in rows]


@pytest.mark.parametrize("paper, table", [("landscape", "table3_4"), ("landscape", "table3_6"),
                                          ("landscape", "tableC1"), ("book", "table14_1")])
def test_every_row_is_a_registered_method_or_declared_missing(paper, table):
    ref = reference_table(paper, table)
    assert set(ref["rows"]) - set(METHODS) <= {"improved_ibp"}
    for block in ref["blocks"]:
        assert set(block["values"]) == set(ref["rows"])
        assert all(v is None or len(v) == len(ref["columns"]) for v in block["values"].values())
