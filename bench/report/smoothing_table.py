"""Randomized-smoothing tables (Shrink & Cert Tables 2-3): certified accuracy per sigma block and radius.

Every cell shows ``paper / reproduced [95% interval]`` and, where the paper's dataset and model were run, the
difference. A row without a run shows the paper's number and "not run yet"; reproduced numbers are computed
here from per-sample certificate files. A radius that the run's n cannot certify reads "—" (zero by
construction, not a measurement); a model that collapsed to one class reads "collapsed".
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from tabulate import tabulate

from bench.audit import Finding, Row, audit_section
from bench.io import read_rows
from bench.report.cells import (COLLAPSED, NOT_CERTIFIABLE, Footnotes, Measured, collapse_reason,
                                describe_training, format_cell, ran)
from bench.smoothing import certified_radius, clopper_pearson_lower

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MeasuredRun:
    method: str
    sigma: float
    certificates: pd.DataFrame
    provenance: dict

    @classmethod
    def load(cls, method: str, sigma: float, tsv: str | Path) -> "MeasuredRun":
        return cls(method, sigma, *read_rows(tsv))

    def certified(self, radius: float) -> Measured:
        return certified_accuracy(self.certificates, radius)

    def collapse(self) -> str | None:
        frame = self.certificates
        return collapse_reason(frame["predict"], frame["correct"], self.provenance["num_classes"])

    def largest_radius(self) -> float:
        return max_radius_factor(self.provenance["n"], self.provenance["alpha"]) * self.sigma


def certified_accuracy(frame: pd.DataFrame, radius: float) -> Measured:
    """Approximate certified accuracy at l2 ``radius``: correct, not abstained, and radius >= r.

    ``>=`` as in Cohen et al.'s analysis code, so that radius 0 gives the smoothed clean accuracy.
    """
    return Measured.of((frame["correct"] == 1) & (frame["radius"] >= radius))


def max_radius_factor(n: int, alpha: float) -> float:
    """R_max / sigma = Phi^-1(alpha^(1/n)): no radius beyond it can be certified with n samples."""
    return certified_radius(clopper_pearson_lower(n, n, alpha), 1.0)


def _describe_trainings(runs: list[MeasuredRun]) -> list[str]:
    """One line per distinct training protocol, naming the runs trained with it (a method's sigmas are listed
    only where its protocol differs between them)."""
    protocols: dict[str, dict[str, list[float]]] = {}
    for run in sorted(runs, key=lambda r: (r.method, r.sigma)):
        text = describe_training(run.provenance["training"])
        protocols.setdefault(text, {}).setdefault(run.method, []).append(run.sigma)
    sigmas = {method: sorted(r.sigma for r in runs if r.method == method) for method in {r.method for r in runs}}
    lines = []
    for text, used in protocols.items():
        names = [method if levels == sigmas[method] else f"{method} (sigma {', '.join(f'{s:g}' for s in levels)})"
                 for method, levels in used.items()]
        lines.append(f"- Training of {', '.join(names)}: {text}.")
    return lines


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
    devices = sorted({f"trained on {r.provenance['trained_on']}; certified on {r.provenance['certified_on']}"
                      for r in runs})
    return [
        f"- Scale: **{scale}**. {scale_note}",
        f"- Dataset used: {dataset_text}; model used: `{model}`.",
        *_describe_trainings(runs),
        f"- Seed {first['seed']}; " + " | ".join(devices) + ".",
        f"- Certified test points per model: {', '.join(map(str, points))} ({subset}).",
        "- CERTIFY (Cohen et al.): " + "; ".join(f"n0={a}, n={b}, alpha={c}" for a, b, c in protocols)
        + "; each model certified with its training sigma.",
        *(["- **Fast path**: some models were certified with the bf16 / channels-last base model "
            "(`fast_path: true`), not the fp32 one."] if any(r.provenance.get("fast_path") for r in runs) else []),
        "- Largest radius these n can certify (all n draws agree): "
        + "; ".join(f"{max_radius_factor(n, alpha):.2f} x sigma at n={n}" for _, n, alpha in protocols) + ".",
    ]


def reproduced_row(run: MeasuredRun, radii: list) -> Row:
    """A run's certified accuracies as a row for bench.audit (radii it cannot certify left out)."""
    return Row("reproduced", "reproduced", f"sigma {float(run.sigma)}", run.method, "certified accuracy",
               {str(r): run.certified(r).value if r <= run.largest_radius() else None for r in radii})


def _cells(run: MeasuredRun | None, paper: list, radii: list, comparable: bool, notes: Footnotes) -> list[str]:
    if run is None:
        return [format_cell(p, None) for p in paper]
    reason = run.collapse()
    if reason:
        mark = notes.mark(f"Collapsed model: {reason}; its certified accuracies describe that failure, not the "
                          "method, so none is shown.")
        log.warning("%s at sigma %g collapsed: %s", run.method, run.sigma, reason)
        return [format_cell(p, COLLAPSED + mark) for p in paper]
    cells = []
    for p, radius in zip(paper, radii):
        if radius > run.largest_radius():
            mark = notes.mark(f"Zero by construction: at n={run.provenance['n']}, alpha={run.provenance['alpha']} "
                              f"no radius above {run.largest_radius() / run.sigma:.2f} x sigma can be certified.")
            cells.append(format_cell(p, NOT_CERTIFIABLE + mark))
        else:
            cells.append(format_cell(p, run.certified(radius), comparable=comparable))
    return cells


def build_smoothing_table(reference: dict, runs: list[MeasuredRun], scale: str, scale_note: str,
                          commit: str, paper_key: str) -> str:
    """Markdown for one reference table, measured cells filled from ``runs``."""
    radii = reference["columns"]
    measured = {(r.method, float(r.sigma)): r for r in runs}
    notes, rows = Footnotes(), []
    for sigma, block in reference["values"].items():
        for method, label in reference["rows"].items():
            run = measured.get((method, float(sigma)))
            used = run.provenance["run"] if run else {"dataset": reference["dataset"], "model": reference["model"]}
            comparable = (used["dataset"], used["model"]) == (reference["dataset"], reference["model"])
            paper = block.get(method, [None] * len(radii))
            rows.append([f"{float(sigma):.2f}", label, ran(reference["dataset"], used["dataset"]),
                         ran(reference["model"], used["model"]), *_cells(run, paper, radii, comparable, notes)])
    headers = [reference["block"], "method", "dataset", "model", *(f"r={radius:g}" for radius in radii)]
    audit = audit_section(paper_key, reference["target"], [reproduced_row(run, radii) for run in runs
                                                           if not run.collapse()],
                          [Finding("collapsed", f"{run.method}, sigma {float(run.sigma)}", run.collapse())
                           for run in runs if run.collapse()])
    protocol = reference["protocol"]
    quoted = [f"- Quoted row {reference['rows'][method]}: its numbers fit n={q['n']} (largest certifiable radius "
              f"{max_radius_factor(q['n'], protocol['alpha']):.2f} x sigma) rather than the paper's n={protocol['n']} "
              f"({max_radius_factor(protocol['n'], protocol['alpha']):.2f} x sigma): {q['why']}."
              for method, q in reference.get("quoted_n", {}).items()]
    lines = [
        f"# {reference['title']}",
        "",
        f"Rebuilt by certbench from paper `{paper_key}`; reference numbers as printed in the paper "
        f"(paper protocol: n0={protocol['n0']}, n={protocol['n']}, alpha={protocol['alpha']}).",
        "",
        *quoted,
        *(f"- Paper-scale setting of {reference['rows'][method]}: {text}"
          for method, text in reference.get("settings", {}).items()),
        *_describe_runs(runs, scale, scale_note),
        f"- Commit: `{commit}`.",
        "- Cell: paper / reproduced [95% Clopper-Pearson interval over the certified test points], and "
        "(reproduced - paper) only where the paper's dataset and model were run. Certified accuracy at l2 radius "
        "r is the fraction of certified test points that are classified correctly, not abstained, with "
        "certified radius >= r.",
        "",
        tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True),
        "",
        *notes.lines(),
        "",
        *audit,
    ]
    return "\n".join(lines)
