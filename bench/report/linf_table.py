"""Deterministic-certification tables (thesis tables 3.4, 3.6, C.1, C.3-C.6; book table 14.1; sac table 1):
one row per (dataset, eps, eps_train, method), with standard / PGD / verified error in percent or, where the
paper prints them (sac), clean / PGD / certified accuracy as fractions.

Cells show ``paper / reproduced (reproduced - paper)``. Verified error uses the method's own bounds, as the
thesis does; an extra measured-only column gives it under the tightest bound the suite computed, and
another counts verifier errors (a bound that failed), which are never folded into "not certified".
A row the suite cannot train (a method the paper only quotes) reads "not run here"; a row it can train but
the config does not select reads "not run yet".
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from tabulate import tabulate

from bench.methods import METHODS
from bench.reference import cell_setting
from bench.report.smoothing_table import format_cell

COLUMN_OF = {"standard": "correct", "clean": "correct", "pgd": "pgd_correct", "verified": "verified_own",
             "certified": "verified_own"}


@dataclass(frozen=True)
class VerifiedRun:
    method: str
    dataset: str  # the paper's dataset name (the block key), not the stand-in
    eps: str      # test eps as the paper writes it
    eps_train: str
    frame: pd.DataFrame
    provenance: dict

    @classmethod
    def load(cls, method: str, dataset: str, eps: str, eps_train: str, tsv: str | Path) -> "VerifiedRun":
        tsv = Path(tsv)
        return cls(method, dataset, eps, eps_train, pd.read_csv(tsv, sep="\t"),
                   json.loads(tsv.with_suffix(".json").read_text()))

    def error(self, column: str) -> float:
        """Percent of evaluated points that are not correct / not PGD-robust / not verified."""
        return 100.0 * (1.0 - self.frame[COLUMN_OF.get(column, column)].astype(bool).mean())

    def measure(self, column: str, metric: str) -> float:
        return self.error(column) if metric == "error" else 1.0 - self.error(column) / 100.0


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


def _part_rows(part: dict, measured: dict) -> list[list[str]]:
    rows, metric, columns = [], part["metric"], part["columns"]
    for block in part["blocks"]:
        for method, label in part["rows"].items():
            if method not in block["values"]:
                continue  # the paper prints no such row in this block
            eps_train = cell_setting(block, method)["eps_train"]
            run = measured.get((method, block["dataset"], block["eps"], eps_train))
            paper = block["values"][method] or [None] * len(columns)
            missing = "not run yet" if method in METHODS else "not run here"
            cells = [format_cell(p, None if run is None else run.measure(c, metric), missing)
                     for p, c in zip(paper, columns)]
            extra = [missing] * 2 if run is None else [
                f"{run.measure('verified_tightest', metric):.2f}", str(int(run.frame["verifier_error"].sum()))]
            rows.append([block["dataset"], block["eps"], eps_train, label, *cells, *extra])
    unit = "error %" if metric == "error" else "accuracy"
    headers = ["dataset", "eps (l_inf)", "eps_train", "method", *(f"{c} {unit}" for c in columns),
               f"{columns[-1]} {unit}, tightest bound", "verifier errors"]
    return [tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)]


def build_linf_table(reference: dict, parts: list[dict], runs: list[VerifiedRun], scale: str, scale_note: str,
                     commit: str, paper_key: str, used: dict[str, str]) -> str:
    """Markdown for one reference table printed as ``parts`` (itself, or its sub-tables); ``used`` maps each
    paper dataset to the dataset actually trained."""
    measured = {(r.method, r.dataset, r.eps, r.eps_train): r for r in runs}
    metrics = {part["metric"] for part in parts}
    unit = "errors in percent" if metrics == {"error"} else "accuracies as fractions"
    lines = [
        f"# {reference['title']}", "",
        f"Rebuilt by certbench from paper `{paper_key}`; reference numbers as printed in the paper.", "",
        *_describe(runs, scale, scale_note, used),
        f"- Commit: `{commit}`.",
        f"- Cell: paper / reproduced (reproduced - paper), {unit}; n/a where the paper prints '-'. A point "
        "counts as verified when it is classified correctly and the method's own bound proves every margin "
        "positive. eps_train is the training radius the paper states for the row.", "",
    ]
    for part in parts:
        if len(parts) > 1:
            lines += [f"## {part['title']}", ""]
        lines += [*_part_rows(part, measured), ""]
    return "\n".join(lines)
