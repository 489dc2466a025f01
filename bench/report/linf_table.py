"""Deterministic-certification tables (thesis tables 3.4, 3.6, C.1; book table 14.1): one row per
(dataset, eps, method), with standard / PGD / verified error in percent.

Cells show ``paper / reproduced (reproduced - paper)``. Verified error uses the method's own bounds, as the
thesis does; an extra measured-only column gives it under the tightest bound the suite computed, and
another counts verifier errors (a bound that failed), which are never folded into "not certified".
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from tabulate import tabulate

from bench.report.smoothing_table import format_cell

COLUMN_OF = {"standard": "correct", "pgd": "pgd_correct", "verified": "verified_own"}


@dataclass(frozen=True)
class VerifiedRun:
    method: str
    dataset: str  # the paper's dataset name (the block key), not the stand-in
    eps: str
    frame: pd.DataFrame
    provenance: dict

    @classmethod
    def load(cls, method: str, dataset: str, eps: str, tsv: str | Path) -> "VerifiedRun":
        tsv = Path(tsv)
        return cls(method, dataset, eps, pd.read_csv(tsv, sep="\t"), json.loads(tsv.with_suffix(".json").read_text()))

    def error(self, column: str) -> float:
        """Percent of evaluated points that are not correct / not PGD-robust / not verified."""
        return 100.0 * (1.0 - self.frame[COLUMN_OF.get(column, column)].astype(bool).mean())


def _describe(runs: list[VerifiedRun], scale: str, scale_note: str, used: dict[str, str]) -> list[str]:
    lines = [f"- Scale: **{scale}**. {scale_note}"]
    if not runs:
        return lines + ["- No row of this table has been run yet."]
    replaced = sorted({f"`{used[r.dataset]}` for `{r.dataset}`" for r in runs if used[r.dataset] != r.dataset})
    if replaced:
        lines.append("- Offline stand-ins used: " + "; ".join(replaced) + ".")
    models = sorted({r.provenance["run"]["model"] for r in runs})
    points = sorted({len(r.frame) for r in runs})
    steps = sorted({r.provenance["settings"]["pgd_steps"] for r in runs})
    certifiers = sorted({c for r in runs for c in r.provenance["settings"]["certifiers"]})
    lines += [f"- Models trained: {', '.join(f'`{m}`' for m in models)}.",
              f"- Test points per cell: {', '.join(map(str, points))}; PGD: {', '.join(map(str, steps))} steps of "
              "eps/4 from a random start.",
              f"- Bounds computed for 'tightest': {', '.join(certifiers)} (plus each method's own)."]
    return lines


def build_linf_table(reference: dict, runs: list[VerifiedRun], scale: str, scale_note: str, commit: str,
                     paper_key: str, used: dict[str, str]) -> str:
    """Markdown for one reference table; ``used`` maps each paper dataset to the dataset actually trained."""
    measured = {(r.method, r.dataset, r.eps): r for r in runs}
    columns, rows = reference["columns"], []
    for block in reference["blocks"]:
        for method, label in reference["rows"].items():
            run = measured.get((method, block["dataset"], block["eps"]))
            paper = block["values"].get(method) or [None] * len(columns)
            cells = [format_cell(p, None if run is None else run.error(c)) for p, c in zip(paper, columns)]
            extra = ["not run yet"] * 2 if run is None else [
                f"{run.error('verified_tightest'):.2f}", str(int(run.frame["verifier_error"].sum()))]
            rows.append([block["dataset"], block["eps"], label, *cells, *extra])
    headers = ["dataset", "eps (l_inf)", "method", *(f"{c} error %" for c in columns),
               "verified error %, tightest bound", "verifier errors"]
    lines = [
        f"# {reference['title']}", "",
        f"Rebuilt by certbench from paper `{paper_key}`; reference numbers as printed in the paper.", "",
        *_describe(runs, scale, scale_note, used),
        f"- Commit: `{commit}`.",
        "- Cell: paper / reproduced (reproduced - paper), errors in percent. Verified error counts a point as "
        "verified when it is classified correctly and the method's own bound proves every margin positive.",
        "", tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True), "",
    ]
    return "\n".join(lines)
