"""Thesis fig. 2.5: the density, over test points, of the increase of the expected loss E_w CE(f_w(x), y) under the
EOT attack (EOT-PGD, n = 20, eps 0.4, alpha 0.1, m = 20 on MNIST in the thesis), per network; Theorem 2.2.1 bounds it
by the gradients' MRL, so GradDiv should shift it left."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from bench.figures import style


def draw(data: str | Path, out_png: str | Path, eps_label: str = "") -> None:
    """``data``: tidy TSV (method, label, idx, loss_increase) of ``graddiv_figures.loss_increase``."""
    style.apply()
    frame = pd.read_csv(data, sep="\t")
    figure, ax = plt.subplots(figsize=(style.COLUMN_WIDTH, 2.4))
    for (method, label), rows in frame.groupby(["method", "label"], sort=False):
        color = style.graddiv_color(method, label)
        sns.kdeplot(rows["loss_increase"], ax=ax, color=color, fill=True, alpha=0.25, warn_singular=False,
                    label=f"{label}, clean {rows['clean_accuracy'].iloc[0]:.0f} % "
                          f"(median {rows['loss_increase'].median():.3g})")
    ax.set_xlabel("loss increase under EOT")
    ax.legend(fontsize="x-small")
    figure.tight_layout()
    style.save(figure, out_png)
