"""Duet figs. 2 and 3: test accuracy (top) and loss (bottom) after every epoch, clean on the left (fig. 2) and
certified on the right (fig. 3: accuracy verified by the method's own certificate at eps_target, the
cross-entropy of the worst-case logits). Standard training, Duet's guide, has no certificate of its own: its
certified curves use Duet's (BCP's). Dotted lines: the end of the warm-up and of the ramp-up."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from bench.figures import style

PANELS = [("clean_accuracy", "clean accuracy (%)"), ("verified_accuracy", "certified accuracy (%)"),
          ("clean_loss", "clean loss"), ("certified_loss", "certified loss")]


def draw(data: str | Path, out_png: str | Path, eps_label: str = "") -> None:
    """``data``: tidy TSV of ``bench.analysis.test_curves.test_curves``."""
    style.apply()
    frame = pd.read_csv(data, sep="\t")
    figure, axes = plt.subplots(2, 2, figsize=(style.FULL_WIDTH, 4.4), sharex=True)
    for ax, (measure, title) in zip(axes.flat, PANELS):
        for method, curve in frame[frame["measure"] == measure].groupby("method", sort=False):
            ax.plot(curve["epoch"], curve["value"], marker="o", markersize=2.5, linewidth=1.1,
                    color=style.COLORS.get(method, "0.3"), label=style.label(method))
        ax.set_ylabel(title)
        if measure.endswith("loss"):
            ax.set_yscale("log")
            ax.set_xlabel("epoch")
        for end in (frame["warmup_end"].iloc[0], frame["rampup_end"].iloc[0]):
            ax.axvline(end, color="0.4", linestyle=":", linewidth=0.8)
    axes[0, 0].set_title("fig. 2: clean")
    axes[0, 1].set_title(f"fig. 3: certified (l2, eps {eps_label})" if eps_label else "fig. 3: certified")
    axes[0, 0].legend(fontsize="x-small")
    figure.tight_layout()
    style.save(figure, out_png)
