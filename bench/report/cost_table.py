"""Training-cost tables (thesis table 3.1): seconds per epoch of certified training for each method, and the
speed-up of the others over the first row (CAP / BCP, as printed), read from each run's ``metrics.csv``
(``bench.train`` records every epoch's wall time and peak memory).

An epoch's cost is the median over the epochs trained with eps > 0 (after the warm-up, when the bounds are
computed). Times depend on the machine and, at smoke scale, on a tiny stand-in: the header says where each run
trained, and the paper's GPU seconds are shown beside, never compared (no difference column).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from tabulate import tabulate

from bench.audit import audit_section
from bench.reference import cell_setting, quoted_row
from bench.report.cells import describe_training, missing_text, ran


@dataclass(frozen=True)
class CostRun:
    method: str
    dataset: str     # the paper's dataset (the block key)
    paper_model: str
    history: pd.DataFrame
    model: str       # the model trained (a stand-in at smoke scale)
    provenance: dict  # bench.io.training_provenance of the trained model

    @classmethod
    def load(cls, method, dataset, paper_model, metrics: str | Path, model: str, provenance: dict) -> "CostRun":
        return cls(method, dataset, paper_model, pd.read_csv(metrics), model, provenance)

    def certified_epochs(self) -> pd.DataFrame:
        epochs = self.history[self.history["eps"] > 0]
        if epochs.empty:
            raise ValueError(f"{self.method}: no epoch with eps > 0 was trained (only the warm-up)")
        return epochs

    def seconds(self) -> float:
        return float(self.certified_epochs()["seconds"].median())

    def peak_memory_mb(self) -> float | None:
        epochs = self.certified_epochs()
        return float(epochs["peak_memory_mb"].max()) if "peak_memory_mb" in epochs else None


def _paper(value) -> str:
    """As printed: "-" for none, "53.0" and "689" as the yaml holds them."""
    return "-" if value is None else str(value)


def build_cost_table(reference: dict, runs: list[CostRun], scale: str, scale_note: str, commit: str,
                     paper_key: str, used: dict[str, str]) -> str:
    """Seconds per epoch and peak memory, paper beside measured; the speed-up over the first row where the
    paper prints one (its blocks' ``speedup``), the paper's memory where it prints a ``memory_gb`` column."""
    measured = {(r.method, r.dataset, r.paper_model): r for r in runs}
    methods, columns = list(reference["rows"]), reference["columns"]
    base, rows = methods[0], []
    speedups = any("speedup" in block for block in reference["blocks"])
    for block in reference["blocks"]:
        cells = {m: measured.get((m, block["dataset"], cell_setting(block, m)["model"])) for m in block["values"]}
        for method in [m for m in methods if m in block["values"]]:
            run = cells[method]
            missing = missing_text(method, block)
            setting = cell_setting(block, method)
            dataset = used.get(block["dataset"], block["dataset"]) if run else block["dataset"]
            paper = dict(zip(columns, block["values"][method]))
            memory = run.peak_memory_mb() if run else None
            row = [ran(block["dataset"], dataset), ran(setting["model"], run.model if run else setting["model"]),
                   reference["rows"][method], _paper(paper["seconds_per_epoch"]),
                   f"{run.seconds():.2f}" if run else missing]
            if speedups:
                other = cells.get(base)
                measured_speedup = (f"{other.seconds() / run.seconds():.1f}" if run and other
                                    else "-" if quoted_row(block, base) else missing)  # no measured base row
                row += ["", ""] if method == base else [_paper(block.get("speedup")), measured_speedup]
            if "memory_gb" in paper:
                row.append(_paper(paper["memory_gb"]))
            rows.append(row + [missing if run is None else "" if memory is None else f"{memory / 1024:.2f}"])
    headers = ["dataset", "model", "method", "paper s / epoch", "measured s / epoch (median, eps > 0)",
               *([f"paper speed-up over {reference['rows'][base]}", "measured speed-up"] if speedups else []),
               *(["paper memory (GB)"] if "memory_gb" in columns else []), "measured peak memory (GiB)"]
    trainings: dict[str, set[str]] = {}
    for r in runs:
        trainings.setdefault(describe_training(r.provenance["training"]), set()).add(r.method)
    devices = sorted({r.provenance["trained_on"] for r in runs})
    lines = [
        f"# {reference['title']}", "",
        f"Rebuilt by certbench from paper `{paper_key}`; reference numbers as printed in the paper.", "",
        f"- Scale: **{scale}**. {scale_note}",
        *(f"- Training of {', '.join(sorted(m))}: {text}." for text, m in trainings.items()),
        f"- Trained on: {'; '.join(devices) or 'nothing yet'}. Seconds and memory depend on the machine: the "
        "paper's (its GPU) are shown beside the measured ones, never subtracted from them.",
        "- Measured: the median wall time of the epochs trained with eps > 0, and the largest peak memory of those "
        "epochs (CUDA memory allocated on a GPU, the process's peak RSS on CPU).",
        f"- Commit: `{commit}`.", "",
        tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True), "",
        *audit_section(paper_key, reference["target"], []),  # times: no accuracy rule applies to them
    ]
    return "\n".join(lines)
