"""Tables of training-time quantities (thesis table 3.3): the training loss at the beginning of certified
training and the verified test error at the best checkpoint, read from each run's ``metrics.csv``.

Our reading of "at the beginning": the mean training loss over the first ramp-up epoch (the first epoch with
eps > 0; before it every method minimizes the same clean loss). The best checkpoint is the epoch with the
lowest verified test error under the method's own bounds (``select_best`` in the training protocol).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from tabulate import tabulate

from bench.reference import cell_setting
from bench.report.cells import describe_training, format_cell, ran


@dataclass(frozen=True)
class TrainingRun:
    method: str
    dataset: str
    eps: str
    eps_train: str
    history: pd.DataFrame
    model: str       # the model trained (a stand-in at smoke scale)
    settings: dict   # its training protocol

    @classmethod
    def load(cls, method, dataset, eps, eps_train, metrics: str | Path, model: str, settings: dict) -> "TrainingRun":
        return cls(method, dataset, eps, eps_train, pd.read_csv(metrics), model, settings)

    @property
    def warmup_epochs(self) -> int:
        return self.settings.get("warmup_epochs", 0)

    def train_loss_start(self) -> float:
        first_ramp = self.history[self.history["epoch"] == self.warmup_epochs + 1]
        if first_ramp.empty:
            raise ValueError(f"{self.method}: no epoch after the {self.warmup_epochs} warm-up epochs was trained")
        return float(first_ramp["loss"].iloc[0])

    def best(self) -> tuple[float, int]:
        """(lowest verified test error, its epoch)."""
        if "verified_error" not in self.history:
            raise ValueError(f"{self.method}: the run recorded no verified test error per epoch; its training "
                             "protocol needs `select_best: true` in config/config.yaml")
        row = self.history.loc[self.history["verified_error"].idxmin()]
        return float(row["verified_error"]), int(row["epoch"])

    def measure(self, column: str) -> float:
        return self.train_loss_start() if column == "train_loss_start" else self.best()[0]


LABELS = {"train_loss_start": "train loss at the beginning",
          "best_verified_error": "test (verified) error % at the best checkpoint"}


def build_training_table(reference: dict, runs: list[TrainingRun], scale: str, scale_note: str, commit: str,
                         paper_key: str, used: dict[str, str]) -> str:
    measured = {(r.method, r.dataset, r.eps, r.eps_train): r for r in runs}
    columns, rows = reference["columns"], []
    for block in reference["blocks"]:
        for method, label in reference["rows"].items():
            if method not in block["values"]:
                continue
            setting = cell_setting(block, method)
            run = measured.get((method, block["dataset"], block["eps"], setting["eps_train"]))
            dataset = used[block["dataset"]] if run else block["dataset"]  # a row says what ran, if anything did
            model = run.model if run else setting["model"]
            comparable = dataset == block["dataset"] and model == setting["model"]
            cells = [format_cell(p, None if run is None else run.measure(c), comparable=comparable)
                     for p, c in zip(block["values"][method], columns)]
            best_epoch = "not run yet" if run is None else str(run.best()[1])
            rows.append([ran(block["dataset"], dataset), ran(setting["model"], model), block["eps"],
                         label, *cells, best_epoch])
    headers = ["dataset", "model", "eps (l_inf)", "method", *(LABELS[c] for c in columns), "best epoch"]
    trainings: dict[str, set[str]] = {}
    for r in runs:
        trainings.setdefault(describe_training(r.settings), set()).add(r.method)
    lines = [
        f"# {reference['title']}", "",
        f"Rebuilt by certbench from paper `{paper_key}`; reference numbers as printed in the paper.", "",
        f"- Scale: **{scale}**. {scale_note}",
        *(f"- Training of {', '.join(sorted(methods))}: {text}." for text, methods in trainings.items()),
        "- Train loss at the beginning: mean training loss of the first ramp-up epoch (the first with eps > 0).",
        "- Best checkpoint: the epoch with the lowest verified test error under the method's own bounds, "
        "checked after every epoch on the test points the protocol's `select_skip` picks.",
        f"- Commit: `{commit}`.",
        "- Cell: paper / reproduced, and (reproduced - paper) only where the paper's dataset and model were run; "
        "`a → b`: b ran in place of the paper's a.", "",
        tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True), "",
    ]
    return "\n".join(lines)
