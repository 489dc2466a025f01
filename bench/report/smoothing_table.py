"""Randomized-smoothing tables (Shrink & Cert Tables 2-3): certified accuracy per sigma block and radius.

Every cell shows ``paper / reproduced (reproduced - paper)``. A row without a run shows the paper's
number and "not run yet"; reproduced numbers are computed here from per-sample certificate files.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from tabulate import tabulate

from bench.smoothing import certified_radius, clopper_pearson_lower



@dataclass(frozen=True)
class MeasuredRun:
    method: str
    sigma: float
    certificates: pd.DataFrame
    provenance: dict

    @classmethod
    def load(cls, method: str, sigma: float, tsv: str | Path) -> "MeasuredRun":
        tsv = Path(tsv)
        return cls(method, sigma, pd.read_csv(tsv, sep="\t"),
                   json.loads(tsv.with_suffix(".json").read_text()))


def certified_accuracy(frame: pd.DataFrame, radius: float) -> float:
    """Approximate certified accuracy at l2 ``radius``: correct, not abstained, and radius >= r.

    ``>=`` as in Cohen et al.'s analysis code, so that radius 0 gives the smoothed clean accuracy.
    """
    return float(((frame["correct"] == 1) & (frame["radius"] >= radius)).mean())


def max_radius_factor(n: int, alpha: float) -> float:
    """R_max / sigma = Phi^-1(alpha^(1/n)): no radius beyond it can be certified with n samples."""
    return certified_radius(clopper_pearson_lower(n, n, alpha), 1.0)


def format_cell(paper: float | None, measured: float | None, missing: str = "not run yet") -> str:
    """``paper / reproduced (reproduced - paper)``; ``missing`` where nothing was measured."""
    paper_text = "n/a" if paper is None else f"{paper:.2f}"
    if measured is None:
        return f"{paper_text} / {missing}"
    if paper is None:
        return f"{paper_text} / {measured:.2f}"
    return f"{paper_text} / {measured:.2f} ({measured - paper:+.2f})"


def _describe_runs(runs: list[MeasuredRun], scale: str, scale_note: str) -> list[str]:
    if not runs:
        return [f"- Scale: **{scale}**. {scale_note}", "- No row of this table has been run yet."]
    first = runs[0].provenance
    dataset, model = first["run"]["dataset"], first["run"]["model"]
    stand_in = first.get("dataset_stand_in_for")
    dataset_text = f"`{dataset}`" + (f" (offline stand-in for `{stand_in}`)" if stand_in else "")
    points = sorted({r.provenance["num_points"] for r in runs})
    subset = (f"test indices divisible by {first['skip']}, of {first['num_test']}"
              + (f", first {first['max_points']}" if first.get("max_points") else ""))
    protocols = sorted({(r.provenance["n0"], r.provenance["n"], r.provenance["alpha"]) for r in runs})
    return [
        f"- Scale: **{scale}**. {scale_note}",
        f"- Dataset used: {dataset_text}; model used: `{model}`.",
        f"- Certified test points per model: {', '.join(map(str, points))} ({subset}).",
        "- CERTIFY (Cohen et al.): " + "; ".join(f"n0={a}, n={b}, alpha={c}" for a, b, c in protocols)
        + "; each model certified with its training sigma.",
        "- Largest radius these n can certify (all n draws agree): "
        + "; ".join(f"{max_radius_factor(n, alpha):.2f} x sigma at n={n}" for _, n, alpha in protocols) + ".",
    ]


def build_smoothing_table(reference: dict, runs: list[MeasuredRun], scale: str, scale_note: str,
                          commit: str, paper_key: str) -> str:
    """Markdown for one reference table, measured cells filled from ``runs``."""
    radii = reference["columns"]
    measured = {(r.method, float(r.sigma)): r for r in runs}
    rows = []
    for sigma, block in reference["values"].items():
        for method, label in reference["rows"].items():
            run = measured.get((method, float(sigma)))
            cells = [format_cell(paper, None if run is None else certified_accuracy(run.certificates, radius))
                     for paper, radius in zip(block.get(method, [None] * len(radii)), radii)]
            rows.append([f"{float(sigma):.2f}", label, *cells])
    headers = [reference["block"], "method", *(f"r={radius:g}" for radius in radii)]
    protocol = reference["protocol"]
    lines = [
        f"# {reference['title']}",
        "",
        f"Rebuilt by certbench from paper `{paper_key}`; reference numbers as printed in the paper "
        f"(paper protocol: n0={protocol['n0']}, n={protocol['n']}, alpha={protocol['alpha']}).",
        "",
        *_describe_runs(runs, scale, scale_note),
        f"- Commit: `{commit}`.",
        "- Cell: paper / reproduced (reproduced - paper). Certified accuracy at l2 radius r is the fraction of "
        "certified test points that are classified correctly, not abstained, with certified radius >= r.",
        "",
        tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True),
        "",
    ]
    return "\n".join(lines)
