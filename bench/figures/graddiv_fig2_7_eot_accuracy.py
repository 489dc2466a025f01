"""Thesis figs. 2.7, A.2, A.5: accuracy (%) of each network, a randomized one as a 20-member ensemble, under
EOT-PGD (alpha = eps / 4, m = 20): against eps (figs. 2.7 on MNIST and STL10, A.2 the regularisers on MNIST) or
against the gradient samples n at one eps (fig. A.5, MNIST at 0.38)."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from bench.figures import style


def draw(data: str | Path, out_png: str | Path, eps_label: str = "") -> None:
    """``data``: tidy TSV (panel, method, label, attack, x_name, x, eps, accuracy, points) of ``eot_accuracy``."""
    style.apply()
    frame = pd.read_csv(data, sep="\t")
    panels = list(dict.fromkeys(frame["panel"]))
    columns = 2
    rows_needed = (len(panels) + columns - 1) // columns
    figure, axes = plt.subplots(rows_needed, columns, figsize=(style.FULL_WIDTH, 2.3 * rows_needed), squeeze=False)
    for ax, panel in zip(axes.flat, panels):
        rows = frame[frame["panel"] == panel]
        for (method, label), curve in rows.groupby(["method", "label"], sort=False):
            curve = curve.sort_values("x")
            ax.plot(curve["x"], curve["accuracy"], marker="o", markersize=3, linewidth=1.1, label=label,
                    color=style.graddiv_color(method, label))
        by_samples = rows["x_name"].iloc[0] == "n"
        ax.set_xlabel("gradient samples n" if by_samples else "$\\epsilon$")
        ax.set_title(panel + (f" (EOT-PGD, eps {rows['eps'].iloc[0]:g})" if by_samples else
                              f" ({rows['attack'].iloc[0].replace('pgd_n', 'EOT-PGD, n = ')})"), fontsize="small")
        ax.set_ylabel("accuracy (%)")
        ax.set_ylim(0, 100)
        ax.legend(fontsize="xx-small")
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    figure.tight_layout()
    style.save(figure, out_png)
