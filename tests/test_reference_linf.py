"""The l_inf reference numbers (thesis tables 3.3, 3.4, C.1-C.6; book table 14.1; sac table 1) against the
paper text."""
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


def labelled_rows(caption: str, within: int, labels: tuple[str, ...]) -> dict[str, list[str]]:
    """The tab-separated cells of the lines (of the ``within`` after ``caption``) whose first cell is a label."""
    lines = THESIS.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(caption))
    rows = [line.split("\t") for line in lines[start + 1:start + within]]
    return {cells[0]: cells[1:] for cells in rows if cells[0] in labels}


@needs_shared
def test_table_c1_matches_the_thesis():
    printed = {name: [float(re.sub(r"</?u>", "", c)) for c in cells]
               for name, cells in labelled_rows("Table C.1:", 8, ("Standard", "PGD", "Verified")).items()}
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


@pytest.mark.parametrize("paper, table", [("landscape", t) for t in ("table3_3", "table3_4", "table3_6", "tableC1",
                                                                     "tableC3", "tableC4", "tableC5", "tableC6")]
                         + [("book", "table14_1")])
def test_every_row_is_a_registered_method_with_a_value_in_every_block(paper, table):
    ref = reference_table(paper, table)
    assert set(ref["rows"]) <= set(METHODS)
    for block in ref["blocks"]:
        assert set(block["values"]) == set(ref["rows"])
        assert all(v is None or len(v) == len(ref["columns"]) for v in block["values"].values())


def test_sac_table1_quotes_only_rows_the_suite_cannot_train():
    ref = reference_table("sac", "table1")
    assert set(ref["rows"]) - set(METHODS) == {"colt", "smoothing_linf", "linf_dist_net"}


def numbers_after(caption: str, count: int, per_line: int) -> list[list[float]]:
    """The first ``count`` lines after ``caption`` holding at least ``per_line`` plain numbers: their last
    ``per_line`` numbers."""
    lines = THESIS.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(caption))
    found = []
    for line in lines[start + 1:]:
        values = [float(v) for v in re.findall(r"(?<![\d/.])\d+\.\d+(?![\d/])", re.sub(r"</?[bu]>", "", line))]
        if len(values) >= per_line:
            found.append(values[-per_line:])
        if len(found) == count:
            return found
    raise AssertionError(f"fewer than {count} rows after {caption!r}")


@needs_shared
def test_tables_c3_to_c6_match_the_thesis():
    c3 = reference_table("landscape", "tableC3")
    printed = numbers_after("Table C.3:", 7, 12)
    for block, line in zip(c3["blocks"], printed):
        assert [v for m in c3["rows"] for v in block["values"][m]] == line
    c4 = reference_table("landscape", "tableC4")
    printed = numbers_after("Table C.4:", 2, 6)
    for block, line in zip(c4["blocks"], printed):
        assert [v for m in c4["rows"] for v in block["values"][m]] == line
    for table, caption, count in (("tableC5", "Table C.5:", 5), ("tableC6", "Table C.6:", 4)):
        ref = reference_table("landscape", table)
        assert block_values(table, list(ref["rows"])) == triples_after(caption, count)


@needs_shared
def test_table3_3_matches_the_thesis():
    ref = reference_table("landscape", "table3_3")
    loss, error = numbers_after("Table 3.3:", 2, 4)
    assert [ref["blocks"][0]["values"][m] for m in ref["rows"]] == [list(p) for p in zip(loss, error)]


SAC = SHARED / "papers" / "sac_shrink_and_cert_2023.txt"
SAC_LABELS = {"cap": "CAP(", "crown_ibp_1to0": "CROWN-IBP", "ibp": "IBP*", "improved_ibp": "IBP (Shi",
              "colt": "COLT", "smoothing_linf": "Randomized Smoothing", "linf_dist_net": "distance Net",
              "sac_linf": "Ours"}


@pytest.mark.skipif(not SAC.exists(), reason="shared/ papers not beside the checkout")
def test_sac_table1_matches_the_paper():
    lines = SAC.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Dataset\t$\\epsilon$\tMethod"))
    end = next(i for i, line in enumerate(lines) if line.startswith("Table 1."))
    printed, eps = {}, None
    for line in lines[start + 1:end]:
        cells = [re.sub(r"</?b>", "", c).strip() for c in line.split("\t") if c.strip()]
        if not cells:
            continue
        eps = next((c for c in cells if c.endswith("/255")), eps)
        method = next(m for m, label in SAC_LABELS.items() if any(label in c for c in cells))
        values = [None if c == "-" else float(c) for c in cells if c == "-" or re.fullmatch(r"\d\.\d+", c)]
        printed[(eps, method)] = values + [None] * (3 - len(values))
    ref = reference_table("sac", "table1")
    expected = {(b["eps"], m): v for b in ref["blocks"] for m, v in b["values"].items()}
    assert expected == printed
    assert set(ref["rows"]) == set(SAC_LABELS)


@needs_shared
def test_table3_5_matches_the_thesis_and_each_ours_cell_is_its_variant_elsewhere():
    printed = {name: [[float(v) for v in c.split(" / ")] for c in cells]
               for name, cells in labelled_rows("Table 3.5:", 10, ("RS", "DiffAI", "COLT", "OURS")).items()}
    ref = reference_table("landscape", "table3_5")
    assert set(ref["rows"]) - set(METHODS) == {"rs", "diffai", "colt"}
    for k, block in enumerate(ref["blocks"]):
        values = block["values"]
        assert [values["rs"], values["diffai"], values["colt"]] == [printed[n][k] for n in ("RS", "DiffAI", "COLT")]
        (variant, ours), = ((m, v) for m, v in values.items() if m in METHODS)
        assert ours == printed["OURS"][k]
        # the same model printed in table 3.4 / C.2 or C.3 (standard and verified of its triple)
        elsewhere = [b["values"][variant] for name in ("table3_4", "tableC3")
                     for b in reference_table("landscape", name)["blocks"]
                     if (b["dataset"], b["eps"]) == (block["dataset"], block["eps"]) and variant in b["values"]]
        assert [[t[0], t[2]] for t in elsewhere] and all([t[0], t[2]] == ours for t in elsewhere), variant
