"""Thesis figs. 2.3, A.1, A.3, A.4: GradDiv's concentration measures of the loss gradients, averaged over each
training epoch, one row of panels per training setting (the figure's panels), one column per measure. Dotted
lines: the ends of lambda's warm-up and ramp-up, then each learning-rate decay."""
from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.ticker import MaxNLocator

from bench.figures import style

MEASURES = {"kappa": "$\\hat\\kappa / p$ (2.2.16)", "mean": "mean cosine (2.2.17)", "dpp": "DPP loss (2.2.19)",
            "max": "max cosine (A.2)", "smoothmax": "smooth max cosine (A.2)"}


def draw(data: str | Path, out_png: str | Path, eps_label: str = "") -> None:
    """``data``: tidy TSV (panel, method, label, measure, epoch, value, marks) of ``bench.analysis.graddiv_figures``."""
    style.apply()
    frame = pd.read_csv(data, sep="\t")
    panels = list(dict.fromkeys(frame["panel"]))
    columns = max(frame[frame["panel"] == p]["measure"].nunique() for p in panels)
    figure, axes = plt.subplots(len(panels), columns, figsize=(style.FULL_WIDTH, 1.9 * len(panels)), squeeze=False)
    for row, panel in zip(axes, panels):
        rows = frame[frame["panel"] == panel]
        for ax, measure in zip(row, dict.fromkeys(rows["measure"])):
            for (method, label), curve in rows[rows["measure"] == measure].groupby(["method", "label"], sort=False):
                ax.plot(curve["epoch"], curve["value"], color=style.graddiv_color(method, label), label=label,
                        linewidth=1.1)
            for mark in str(rows["marks"].iloc[0]).split(";"):
                if mark and float(mark) > 0:
                    ax.axvline(float(mark), color="0.5", linestyle=":", linewidth=0.8)
            ax.set_title(MEASURES.get(measure, measure), fontsize="small")
            ax.set_xlabel("epoch")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        for ax in row[rows["measure"].nunique():]:
            ax.axis("off")
        row[0].set_ylabel(textwrap.fill(panel, 22), fontsize="small")
        row[rows["measure"].nunique() - 1].legend(fontsize="x-small", loc="upper left", bbox_to_anchor=(1.02, 1))
    figure.tight_layout()
    style.save(figure, out_png)
