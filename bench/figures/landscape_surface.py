"""The robust-loss surface around each trained model (Li et al. 2018, filter-normalised random directions): one
panel per model, filled contours of log10 of the robust loss over the (alpha, beta) plane, theta marked at the
centre.

All panels share one colour scale (and one colorbar): filter normalisation exists so that surfaces of different
models compare side by side (Li et al. sec. 4), and a per-panel scale would hide that one model sits in a deeper
or wider basin than another. The scale is log10 because the robust loss grows by orders of magnitude away from
the trained weights, which a linear scale would squeeze into the outermost band. ``clean_loss`` stays in the
table; the figure draws the robust loss only.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from bench.figures import style

LEVELS = 16


def draw(data: str | Path, out_png: str | Path, eps_label: str = "") -> None:
    """``data``: tidy TSV with columns trained (method of the model), alpha, beta, robust_loss, clean_loss."""
    style.apply()
    frame = pd.read_csv(data, sep="\t")
    frame["log_loss"] = np.log10(frame["robust_loss"])
    trained = list(dict.fromkeys(frame["trained"]))
    levels = np.linspace(frame["log_loss"].min(), frame["log_loss"].max(), LEVELS)
    width = style.COLUMN_WIDTH if len(trained) == 1 else style.FULL_WIDTH
    figure, axes = plt.subplots(1, len(trained), figsize=(width, 0.75 * width / len(trained) + 0.9),
                                sharex=True, sharey=True, squeeze=False, layout="constrained")
    for ax, method in zip(axes[0], trained):
        surface = frame[frame["trained"] == method].pivot(index="beta", columns="alpha", values="log_loss")
        filled = ax.contourf(surface.columns, surface.index, surface.to_numpy(), levels=levels, cmap="viridis")
        ax.contour(surface.columns, surface.index, surface.to_numpy(), levels=levels[::3], colors="white",
                   linewidths=0.3, alpha=0.6)
        ax.plot(0, 0, marker="+", color="white", markersize=7, markeredgewidth=1.2)
        ax.set(title=style.label(method), aspect="equal")
        ax.grid(False)
    figure.supxlabel("direction 1 (filter-normalised)", fontsize=plt.rcParams["axes.labelsize"])
    figure.supylabel("direction 2", fontsize=plt.rcParams["axes.labelsize"])
    figure.colorbar(filled, ax=axes[0].tolist(), label="robust loss (nats, log$_{10}$)", shrink=0.9,
                    ticks=MaxNLocator(6))
    figure.suptitle("Robust loss around each trained model" + (f" at $\\epsilon$ = {eps_label}" if eps_label else ""),
                    fontsize="medium")
    style.save(figure, out_png)
