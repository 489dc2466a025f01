"""Thesis figs. B.1 and B.2: the Lipschitz constant of a network during standard and BCP training, from the
per-epoch layer norms the training engine logs (``log_lipschitz``; torch-free)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from bench.analysis.alpha_sweep import read_norms

COLUMNS = ["method", "epoch", "quantity", "layer", "value", "warmup_end", "rampup_end"]


def lipschitz_curves(methods: list[str], lipschitz: list[str | Path], warmup_epochs: int,
                     rampup_epochs: int) -> pd.DataFrame:
    """One row per (trained method, epoch, quantity): quantity "layer" holds each layer's l2 operator norm
    (labelled C1.., L.. in forward order), "network" their product L (the product bound, fig. B.1) and
    "penultimate" the product over all but the last layer, L^(-1) (fig. B.2's ratio compares it between
    methods). ``warmup_end`` / ``rampup_end``: the epochs the thesis marks with dotted lines."""
    frames = []
    for method, path in zip(methods, lipschitz, strict=True):
        norms = read_norms(path)
        layers = norms.assign(quantity="layer", value=norms["norm"])[["epoch", "quantity", "layer", "value"]]
        last = norms["layer"].iloc[-1]  # read_norms refuses an empty log
        products = [pd.DataFrame({"epoch": group.index, "quantity": name, "layer": "", "value": group.values})
                    for name, group in (("network", norms.groupby("epoch")["norm"].prod()),
                                        ("penultimate", norms[norms["layer"] != last].groupby("epoch")["norm"].prod()))]
        frames.append(pd.concat([layers, *products]).assign(method=method))
    table = pd.concat(frames, ignore_index=True)
    return table.assign(warmup_end=warmup_epochs, rampup_end=warmup_epochs + rampup_epochs)[COLUMNS]
