"""Reference numbers: transcribed once, checked against the paper text and against PAPER_MAP."""
import re

import pytest

from bench.reference import reference_table
from conftest import SHARED

PAPER = SHARED / "papers" / "sac_shrink_and_cert_2023.txt"
PAPER_MAP = SHARED / "PAPER_MAP.md"
needs_shared = pytest.mark.skipif(not PAPER.exists(), reason="shared/ papers not beside the checkout")


def paper_rows(caption_start: str) -> list[tuple[str | None, str, list[float]]]:
    """(sigma or None, method text, numbers) for each row of the sac table before ``caption_start``."""
    lines = PAPER.read_text().splitlines()
    end = next(i for i, line in enumerate(lines) if line.startswith(caption_start))
    start = max(i for i in range(end) if lines[i].startswith("$\\sigma$"))
    rows = []
    for line in lines[start + 2:end]:
        cells = [c for c in line.split("\t") if c.strip()]
        if not cells:
            continue
        sigma = re.fullmatch(r"<b>([\d.]+)</b>", cells[0])
        if sigma:
            cells = cells[1:]
        rows.append((sigma.group(1) if sigma else None, cells[0],
                     [float(re.sub(r"</?b>", "", c)) for c in cells[1:]]))
    return rows


METHOD_IN_TEXT = {"cohen": "Randomized Smoothing", "smoothadv": "SmoothAdv", "macer": "MACER",
                  "consistency": "Consistency", "sac": "Ours"}


@needs_shared
@pytest.mark.parametrize("table, caption", [("table2", "Table 2."), ("table3", "Table 3.")])
def test_transcription_matches_the_paper_text(table, caption):
    ref = reference_table("sac", table)
    printed, sigma = {}, None
    for row_sigma, method_text, numbers in paper_rows(caption):
        sigma = float(row_sigma) if row_sigma else sigma
        key = next(k for k, text in METHOD_IN_TEXT.items() if method_text.startswith(text))
        printed[(sigma, key)] = numbers
    transcribed = {(float(s), m): v for s, block in ref["values"].items() for m, v in block.items()}
    assert transcribed == printed


@pytest.mark.skipif(not PAPER_MAP.exists(), reason="shared/PAPER_MAP.md not beside the checkout")
def test_table2_grid_matches_paper_map():
    row = next(line for line in PAPER_MAP.read_text().splitlines() 
               if line.startswith("| `tables/table2_cifar_l2.md`"))
    _, target, source, grid, rows, columns, _ = row.split("|")
    ref = reference_table("sac", "table2")
    assert ref["target"] in target and "sac T2" in source
    sigmas = [float(s) for s in re.search(r"sigma in \{([^}]*)\}", grid).group(1).split(",")]
    assert [float(s) for s in ref["values"]] == sigmas
    radii = [float(r) for r in re.search(r"radius ([\d., ]+)", columns).group(1).strip(" ,").split(",")]
    assert ref["columns"] == radii
    assert len(ref["rows"]) == len(rows.split(",")) == 5
    protocol = dict(re.findall(r"(n0|n|alpha)=([\d.]+)", columns))
    assert ref["protocol"]["n0"] == int(protocol["n0"]) and ref["protocol"]["alpha"] == float(protocol["alpha"])


def test_a_quoted_row_reads_not_run_here_while_its_block_trains_the_others():
    from bench.reference import quoted_row
    from bench.report.cells import missing_text

    wrn = next(b for b in reference_table("bcp", "table3_2")["blocks"] if b["model"] == "wrn")
    assert quoted_row(wrn, "cap") and not quoted_row(wrn, "bcp")
    assert missing_text("cap", wrn) == "not run here" and missing_text("bcp", wrn) == "not run yet"
    assert missing_text("colt") == "not run here"  # not a method of the suite
