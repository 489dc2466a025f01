"""Thesis figs. 3.7, 3.9, C.10 and C.11 (one column each): non-smoothness of the loss landscape during the ramp-up,
at the scheduled eps_t. Top: loss variation along the gradient descent direction (range of eq. C.1.2);
middle: l2 distance and bottom: cosine distance between successive loss gradients (eq. 3.3.19). Lower is
smoother."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from bench.figures import style

MEASURES = {"loss_variation": "loss variation (nats)", "grad_l2_distance": "gradient $\\ell_2$ distance",
            "grad_cosine_distance": "gradient cosine distance"}


def draw(data: str | Path, out_png: str | Path, eps_label: str = "") -> None:
    """``data``: tidy TSV with columns panel, trained, epoch and the three measures (one row per traced step)."""
    style.apply()
    frame = pd.read_csv(data, sep="\t")
    panels = list(dict.fromkeys(frame["panel"]))
    figure, axes = plt.subplots(len(MEASURES), len(panels), figsize=(style.FULL_WIDTH, 6.2), squeeze=False,
                                sharex="col", layout="constrained")
    for col, panel in enumerate(panels):
        for method, run in frame[frame["panel"] == panel].groupby("trained", sort=False):
            for row, measure in enumerate(MEASURES):
                axes[row][col].plot(run["epoch"], run[measure], color=style.COLORS.get(method), linewidth=0.9,
                                    label=style.label(method))
        axes[0][col].set_title(panel, fontsize="medium")
        axes[-1][col].set_xlabel("epoch (ramp-up)")
        axes[-1][col].legend(fontsize="x-small", frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.3))
        for row in range(len(MEASURES)):
            axes[row][col].set_yscale("log")
    for row, axis_label in enumerate(MEASURES.values()):
        axes[row][0].set_ylabel(axis_label)
    figure.suptitle("Non-smoothness of the loss landscape during the ramp-up (lower is smoother)"
                    + (f", $\\epsilon_{{train}}$ = {eps_label}" if eps_label else ""), fontsize="medium")
    style.save(figure, out_png)
