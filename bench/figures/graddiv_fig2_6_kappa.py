"""Thesis fig. 2.6: the density, over test images, of kappa_hat (eq. 2.2.10) from 100 gradient samples per image,
one panel per dataset (MNIST, CIFAR10, STL10), one curve per network: the regularised ones should sit left of
Adv-BNN. Log scale: kappa_hat grows with the input dimension p."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from bench.figures import style


def draw(data: str | Path, out_png: str | Path, eps_label: str = "") -> None:
    """``data``: tidy TSV (panel, method, label, idx, kappa, ...) of ``graddiv_figures.kappa``."""
    style.apply()
    frame = pd.read_csv(data, sep="\t")
    panels = list(dict.fromkeys(frame["panel"]))
    figure, axes = plt.subplots(len(panels), 1, figsize=(style.COLUMN_WIDTH, 1.9 * len(panels)), squeeze=False)
    for ax, panel in zip(axes[:, 0], panels):
        for (method, label), rows in frame[frame["panel"] == panel].groupby(["method", "label"], sort=False):
            sns.kdeplot(np.log10(rows["kappa"]), ax=ax, color=style.graddiv_color(method, label),
                        label=f"{label} (clean {100 * rows['correct'].mean():.0f} %)", warn_singular=False)
        ax.set_title(panel, fontsize="small")
        ax.set_xlabel("$\\log_{10} \\hat\\kappa$")
        ax.legend(fontsize="xx-small")  # each panel's networks, with their clean accuracy
    figure.tight_layout()
    style.save(figure, out_png)
