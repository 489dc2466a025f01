"""Thesis figs. B.1 and B.2: left, the Lipschitz constant (product of the layers' l2 norms, log scale) after each
epoch of standard and BCP training; right, the ratio L_BCP^(-1) / L_0^(-1) of the products over all layers but
the last. Dotted lines: the end of the warm-up and of the ramp-up."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from bench.figures import style

BASELINE = "standard"


def draw(data: str | Path, out_png: str | Path, eps_label: str = "") -> None:
    """``data``: tidy TSV of ``bench.analysis.lipschitz_curves.lipschitz_curves``."""
    style.apply()
    frame = pd.read_csv(data, sep="\t")
    figure, (left, right) = plt.subplots(1, 2, figsize=(style.FULL_WIDTH, 2.5))
    network = frame[frame["quantity"] == "network"]
    for method, curve in network.groupby("method", sort=False):
        left.plot(curve["epoch"], curve["value"], marker="o", markersize=2.5, linewidth=1.1,
                  color=style.COLORS.get(method, "0.3"), label=style.label(method))
    left.set_yscale("log")
    left.set_ylabel("Lipschitz bound $L$ (product)")
    left.legend(fontsize="x-small")
    penultimate = frame[frame["quantity"] == "penultimate"].pivot(index="epoch", columns="method", values="value")
    for method in [m for m in penultimate.columns if m != BASELINE]:
        right.plot(penultimate.index, penultimate[method] / penultimate[BASELINE], marker="o", markersize=2.5,
                   linewidth=1.1, color=style.COLORS.get(method, "0.3"), label=style.label(method))
    right.axhline(1.0, color="0.5", linewidth=0.8)
    right.set_ylabel(r"$L^{(-1)}_{BCP} / L^{(-1)}_{0}$")
    for ax in (left, right):
        ax.set_xlabel("epoch")
        for end in (frame["warmup_end"].iloc[0], frame["rampup_end"].iloc[0]):
            ax.axvline(end, color="0.4", linestyle=":", linewidth=0.8)
    figure.tight_layout()
    style.save(figure, out_png)
