"""Deterministic-certification tables (thesis tables 3.4, 3.6, C.1, C.3-C.6; book table 14.1; sac table 1):
one row per (dataset, eps, eps_train, method), with standard / PGD / verified error in percent or, where the
paper prints them (sac), clean / PGD / certified accuracy as fractions.

Cells show ``paper / reproduced [95% interval]`` and, where the paper's dataset and model were run, the
difference. Verified error uses the method's own bounds, as the thesis does; measured-only columns give the
PGD error where the paper prints none, the verified error under the tightest bound the suite computed, and
the count of verifier errors (points where a bound failed). A failed bound certifies nothing, so such a point
counts as not verified, and the count says how much of a verified error is failures rather than loose bounds
(``bench.verify``). A row the
suite cannot train (a method the paper only quotes) reads "not run here"; a row it can train but the config
does not select reads "not run yet"; a model that collapsed to one class or to chance reads "collapsed".
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from tabulate import tabulate

from bench.audit import Finding, Row, audit_section, unsound
from bench.io import parse_eps, read_rows
from bench.reference import cell_setting
from bench.report.cells import (COLLAPSED, Footnotes, Measured, as_shown, collapse_reason, describe_training,
                                format_cell, missing_text, ran)

log = logging.getLogger(__name__)
UNITS = {"error": ("error %", "errors in percent"), "accuracy": ("accuracy", "accuracies as fractions"),
         "accuracy_percent": ("accuracy %", "accuracies in percent")}  # metric -> (column suffix, in words)
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
    paper_model: str | None = None  # the block's model: tells apart blocks of one dataset and eps (thesis T3.2)
    seed: int = 0

    @classmethod
    def load(cls, method: str, dataset: str, eps: str, eps_train: str, paper_model: str, seed: int,
             tsv: str | Path) -> "VerifiedRun":
        return cls(method, dataset, eps, eps_train, *read_rows(tsv), paper_model, seed)

    @property
    def key(self) -> tuple:
        return self.method, self.dataset, self.eps, self.eps_train, self.paper_model

    def hits(self, column: str) -> Measured:
        """Points that are correct / PGD-robust / verified (``column`` as the paper names it, or ours)."""
        return Measured.of(self.frame[COLUMN_OF.get(column, column)])

    def collapse(self) -> str | None:
        return collapse_reason(self.frame["predict"], self.frame["correct"], self.provenance["num_classes"])


def _measured_cell(measured: dict, method: str, block: dict, setting: dict) -> list[VerifiedRun]:
    """The runs of one cell (one per seed): keyed by the block's model too, or (for runs that carry none)
    without it."""
    key = (method, block["dataset"], block["eps"], setting["eps_train"])
    return measured.get((*key, setting["model"])) or measured.get((*key, None)) or []


def _describe(runs: list[VerifiedRun], scale: str, scale_note: str) -> list[str]:
    lines = [f"- Scale: **{scale}**. {scale_note}"]
    if not runs:
        return lines + ["- No row of this table has been run yet."]
    trainings: dict[str, set[str]] = {}
    for r in runs:
        trainings.setdefault(describe_training(r.provenance["training"]), set()).add(r.method)
    points = sorted({len(r.frame) for r in runs})
    steps = sorted({r.provenance["settings"]["pgd_steps"] for r in runs})
    certifiers = sorted({c for r in runs for c in r.provenance["settings"]["certifiers"]})
    devices = sorted({f"trained on {r.provenance['trained_on']}; verified on {r.provenance['verified_on']}"
                      for r in runs})
    lines += [f"- Training of {', '.join(sorted(methods))}: {text}." for text, methods in trainings.items()]
    seeds = sorted({r.provenance["seed"] for r in runs})
    lines += [f"- Seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}; " + " | ".join(devices) + ".",
              f"- Test points per cell: {', '.join(map(str, points))}; PGD: {', '.join(map(str, steps))} steps of "
              "eps/4 from a random start.",
              f"- Bounds computed for 'tightest': {', '.join(certifiers)} (plus each method's own)."]
    return lines


def _measured_only(run: VerifiedRun, column: str, metric: str) -> str:
    value, low, high = as_shown(run.hits(column), metric)
    digits = 2 if metric == "accuracy" else 1
    return f"{value:.2f} [{low:.{digits}f}, {high:.{digits}f}]"


def _spread_cell(paper: float | None, spread, runs: list[VerifiedRun], column: str, metric: str, aggregate: str,
                 comparable: bool) -> str:
    """``paper (max/min) / measured aggregate (max/min)`` over the runs' seeds (no spread for one run), the
    paper's spread where it prints one; (measured - paper) where comparable."""
    paper_text = "n/a" if paper is None else f"{paper:.2f}" + (f" ({spread[0]:.2f}/{spread[1]:.2f})" if spread else "")
    if not runs:
        return paper_text
    values = pd.Series([as_shown(run.hits(column), metric)[0] for run in runs])
    value = float(values.median() if aggregate == "median" else values.mean())
    text = f"{paper_text} / {value:.2f}" + (f" ({values.max():.2f}/{values.min():.2f})" if len(values) > 1 else "")
    return text + (f" ({value - paper:+.2f})" if comparable and paper is not None else "")


def _aggregated_cells(runs: list[VerifiedRun], paper: list, spread: list, columns: list, metric: str, aggregate: str,
                      comparable: bool, missing: str, extra: list[str], notes: Footnotes) -> list[str]:
    """A cell of a table over seeds (thesis tables B.2-B.3): each column's median or mean over the seeds with
    their max/min; the verifier errors summed; collapsed seeds counted in a footnote, not dropped."""
    if not runs:
        return [f"{_spread_cell(p, s, [], c, metric, aggregate, False)} / {missing}"
                for p, s, c in zip(paper, spread, columns)] + [missing] * (len(extra) + 1)
    collapsed = [run.seed for run in runs if run.collapse()]
    mark = notes.mark(f"Seed{'s' if len(collapsed) > 1 else ''} {', '.join(map(str, collapsed))} of {runs[0].method} "
                      "collapsed (one class or chance): kept in the median / mean.") if collapsed else ""
    return ([_spread_cell(p, s, runs, c, metric, aggregate, comparable) + mark
             for p, s, c in zip(paper, spread, columns)]
            + [_spread_cell(None, None, runs, c, metric, aggregate, False).removeprefix("n/a / ") for c in extra]
            + [str(sum(int(run.frame["verifier_error"].sum()) for run in runs))])


def _row_cells(run: VerifiedRun | None, paper: list, columns: list, metric: str, comparable: bool, missing: str,
               extra: list[str], notes: Footnotes) -> list[str]:
    if run is None:
        return [format_cell(p, None, missing=missing) for p in paper] + [missing] * (len(extra) + 1)
    reason = run.collapse()
    if reason:
        mark = notes.mark(f"Collapsed model: {reason}; its errors describe that failure, not the method, so none is "
                          "shown.")
        log.warning("%s (%s, eps %s, eps_train %s) collapsed: %s", run.method, run.dataset, run.eps, run.eps_train,
                    reason)
        return [format_cell(p, COLLAPSED + mark) for p in paper] + [COLLAPSED + mark] * len(extra) + [
            str(int(run.frame["verifier_error"].sum()))]
    return ([format_cell(p, run.hits(c), metric, comparable) for p, c in zip(paper, columns)]
            + [_measured_only(run, c, metric) for c in extra] + [str(int(run.frame["verifier_error"].sum()))])


def _part_rows(part: dict, measured: dict, used: dict[str, str], notes: Footnotes) -> list[str]:
    rows, metric, columns, aggregate = [], part["metric"], part["columns"], part.get("aggregate")
    extra = (["pgd"] if "pgd" not in columns else []) + ["verified_tightest"]
    for block in part["blocks"]:
        for method, label in part["rows"].items():
            if method not in block["values"]:
                continue  # the paper prints no such row in this block
            setting = cell_setting(block, method)
            runs = _measured_cell(measured, method, block, setting)
            dataset = used[block["dataset"]] if runs else block["dataset"]  # a row says what ran, if anything did
            model = runs[0].provenance["run"]["model"] if runs else setting["model"]
            comparable = bool(runs) and dataset == block["dataset"] and model == setting["model"]
            paper = block["values"][method] or [None] * len(columns)
            missing = missing_text(method, block)
            if aggregate:
                spread = block.get("spread", {}).get(method) or [None] * len(columns)
                cells = _aggregated_cells(runs, paper, spread, columns, metric, aggregate, comparable, missing, extra,
                                          notes)
            else:
                cells = _row_cells(runs[0] if runs else None, paper, columns, metric, comparable, missing, extra,
                                   notes)
            note = block.get("notes", {}).get(method)  # what the reference says about the paper's row
            rows.append([ran(block["dataset"], dataset), ran(setting["model"], model), block["eps"],
                         setting["eps_train"], label + (f" {notes.mark(note)}" if note else ""), *cells])
    unit = UNITS[metric][0]
    headers = ["dataset", "model", f"eps ({part.get('norm', 'l_inf')})", "eps_train", "method",
               *(f"{c} {unit}" for c in columns),
               *(f"PGD {unit} (measured only)" for c in extra if c == "pgd"),
               f"{columns[-1]} {unit}, tightest bound", "verifier errors (counted as not verified)"]
    return [tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)]


def build_linf_table(reference: dict, parts: list[dict], runs: list[VerifiedRun], scale: str, scale_note: str,
                     commit: str, paper_key: str, used: dict[str, str]) -> str:
    """Markdown for one reference table printed as ``parts`` (itself, or its sub-tables); ``used`` maps each
    paper dataset to the dataset actually trained."""
    measured: dict[tuple, list[VerifiedRun]] = {}
    for r in sorted(runs, key=lambda r: r.seed):
        measured.setdefault(r.key, []).append(r)
    unit = " / ".join(sorted({UNITS[part["metric"]][1] for part in parts}))
    notes = Footnotes()
    body = []
    for part in parts:
        if len(parts) > 1:
            body += [f"## {part['title']}", ""]
        body += [*_part_rows(part, measured, used, notes), ""]
    audit = audit_section(paper_key, reference["target"], _reproduced_rows(parts, measured), _measured_findings(runs))
    lines = [
        f"# {reference['title']}", "",
        f"Rebuilt by certbench from paper `{paper_key}`; reference numbers as printed in the paper.", "",
        *_describe(runs, scale, scale_note),
        f"- Commit: `{commit}`.",
        *(f"- Over seeds: a cell of this table is the {aggregate} of the runs at each seed of the config's table "
          f"entry (`seeds`), with their (max/min), beside the paper's {aggregate} (and its max/min where printed); "
          "the verifier errors are summed over the seeds." for aggregate in sorted({p["aggregate"] for p in parts
                                                                                   if p.get("aggregate")})),
        f"- Cell: paper / reproduced [95% Clopper-Pearson interval over the test points], {unit}; "
        "(reproduced - paper) only where the paper's dataset and model were run; n/a where the paper prints '-'. "
        "A point counts as verified when it is classified correctly and the method's own bound proves every "
        "margin positive; a point where that bound failed counts as not verified (the last column counts them). "
        "eps_train is the training radius the paper states for the row; `a → b`: b ran in "
        "place of the paper's a.", "",
        *body,
        *notes.lines(),
        "",
        *audit,
    ]
    return "\n".join(lines)


def _reproduced_rows(parts: list[dict], measured: dict) -> list[Row]:
    """Every measured cell as a row for bench.audit, in the table's unit (collapsed models left out)."""
    rows = []
    for part in parts:
        for block in part["blocks"]:
            for method in block["values"]:
                setting = cell_setting(block, method)
                runs = [run for run in _measured_cell(measured, method, block, setting) if not run.collapse()]
                if runs:  # over seeds: the table's aggregate (median or mean)
                    values = {c: pd.Series([as_shown(run.hits(c), part["metric"])[0] for run in runs]).agg(
                        part.get("aggregate", "median")) for c in part["columns"]}
                    rows.append(Row("reproduced", part["title"], f"{block['dataset']} eps {block['eps']}", method,
                                    part["metric"], values, (block["dataset"], setting["eps_train"]),
                                    parse_eps(block["eps"])))
    return rows


def _measured_findings(runs: list[VerifiedRun]) -> list[Finding]:
    """What only per-point results show: collapsed models, and points a bound verifies but PGD breaks."""
    findings = []
    for run in runs:
        where = f"{run.method}, {run.dataset} eps {run.eps} (eps_train {run.eps_train}, seed {run.seed})"
        if run.collapse():
            findings.append(Finding("collapsed", where, run.collapse()))
        findings += unsound(run.frame, where)
    return findings
