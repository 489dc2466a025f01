"""Duet figs. 2 and 3: clean and certified accuracy and loss on the test set after every training epoch, from
the per-epoch metrics the training engine logs (``log_test_metrics``; torch-free)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

MEASURES = ("clean_accuracy", "clean_loss", "verified_accuracy", "certified_loss")
COLUMNS = ["method", "epoch", "eps", "measure", "value", "warmup_end", "rampup_end"]


def test_curves(methods: list[str], metrics: list[str | Path], warmup_epochs: int, rampup_epochs: int) -> pd.DataFrame:
    """One row per (trained method, epoch, measure), with the training eps of that epoch's last step;
    ``warmup_end`` / ``rampup_end`` mark where the eps schedule starts and stops growing."""
    frames = []
    for method, path in zip(methods, metrics, strict=True):
        history = pd.read_csv(path)
        missing = [m for m in MEASURES if m not in history]
        if missing:
            raise ValueError(f"{path} has no {', '.join(missing)}: train its run with log_test_metrics: true")
        long = history.melt(id_vars=["epoch", "eps"], value_vars=list(MEASURES), var_name="measure")
        frames.append(long.assign(method=method))
    table = pd.concat(frames, ignore_index=True)
    return table.assign(warmup_end=warmup_epochs, rampup_end=warmup_epochs + rampup_epochs)[COLUMNS]
