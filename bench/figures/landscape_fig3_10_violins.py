"""Thesis fig. 3.10 and C.9: violins of the test loss (left) and the tightness (right) of the relaxations OURS,
CROWN-IBP, CAP-IBP and RANDOM, one row of panels per trained model (fig. 3.10: the model trained with OURS;
C.9: CROWN-IBP 1->0, CROWN-IBP 1->1, IBP). Lower is tighter."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from bench.figures import style

MEASURES = {"test_loss": "robust test loss (nats)", "tightness": "tightness $\\sum_m \\bar{s}_m$ (logits)"}


def draw(data: str | Path, out_png: str | Path, eps_label: str = "") -> None:
    """``data``: tidy TSV with columns trained (method of the model), relaxation, test_loss, tightness."""
    style.apply()
    frame = pd.read_csv(data, sep="\t")
    trained = list(dict.fromkeys(frame["trained"]))
    relaxations = list(dict.fromkeys(frame["relaxation"]))
    frame["relaxation"] = frame["relaxation"].map(style.label)
    figure, axes = plt.subplots(len(trained), 2, figsize=(style.FULL_WIDTH, 1.9 * len(trained)), squeeze=False)
    for row, method in enumerate(trained):
        subset = frame[frame["trained"] == method]
        for col, (measure, axis_label) in enumerate(MEASURES.items()):
            ax = axes[row][col]
            sns.violinplot(data=subset, x="relaxation", y=measure, hue="relaxation", legend=False,
                           palette=style.palette(relaxations), cut=0, inner="quartile", linewidth=0.6, ax=ax)
            ax.set_xlabel("")
            ax.set_ylabel(axis_label)
            ax.set_title(f"model trained with {style.label(method)}", fontsize="small")
    figure.suptitle("Relaxations on one fixed model" + (f" at $\\epsilon$ = {eps_label}" if eps_label else "")
                    + " (lower is tighter)", fontsize="medium")
    figure.tight_layout()
    style.save(figure, out_png)
