"""Thesis fig. 2.4: 100 gradient samples of two randomized networks at the first test image, projected on the plane
of their two mean unit gradients and drawn as directions on the unit circle; each line is a mean vector, its length
the sample MRL rho_hat (the thesis: 0.6406 for Adv-BNN, 0.1507 with GradDiv, on MNIST)."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from bench.figures import style


def draw(data: str | Path, out_png: str | Path, eps_label: str = "") -> None:
    """``data``: tidy TSV (method, label, kind, x, y, angle, rho, paper_rho) of ``graddiv_figures.scatter``."""
    style.apply()
    frame = pd.read_csv(data, sep="\t")
    figure, ax = plt.subplots(figsize=(style.COLUMN_WIDTH, style.COLUMN_WIDTH))
    circle = np.linspace(0, 2 * np.pi, 200)
    ax.plot(np.cos(circle), np.sin(circle), color="0.8", linewidth=0.8)
    for (method, label), rows in frame.groupby(["method", "label"], sort=False):
        color = style.graddiv_color(method, label)
        samples, mean = rows[rows["kind"] == "sample"], rows[rows["kind"] == "mean"].iloc[0]
        ax.scatter(np.cos(samples["angle"]), np.sin(samples["angle"]), s=9, color=color, alpha=0.6)
        paper = f", paper {mean['paper_rho']:.4f}" if pd.notna(mean["paper_rho"]) else ""
        name = f"{label} (clean {mean['clean_accuracy']:.0f} %)"
        ax.plot([0, mean["x"]], [0, mean["y"]], color=color, linewidth=2,
                label=f"{name}: $\\hat\\rho$ = {mean['rho']:.4f}{paper}")
    ax.set_aspect("equal")
    ax.set_xlim(-1.15, 1.15)
    ax.set_ylim(-1.15, 1.15)
    ax.set_xlabel("along $\\bar g$")
    ax.set_ylabel("along $\\bar g_{reg}$, orthogonalised")
    ax.legend(fontsize="x-small", loc="upper center", bbox_to_anchor=(0.5, -0.2))
    figure.tight_layout()
    style.save(figure, out_png)
