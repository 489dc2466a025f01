"""Thesis figs. 3.4 and B.3: verified accuracy of CAP, LMT, IBP and BCP against the l2 evaluation radius, one
panel per training setting (fig. 3.4's three, then B.3's), the training radius eps_target marked by a vertical
line. Dotted: the tightest bound the suite computed on the same models (each method's own certificate is solid,
as the thesis plots)."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.lines import Line2D

from bench.figures import style

PER_ROW = 3  # panels per row: fig. 3.4's three, then fig. B.3's below


def draw(data: str | Path, out_png: str | Path, eps_label: str = "") -> None:
    """``data``: tidy TSV of ``bench.analysis.verified_vs_eps.verified_vs_eps``."""
    style.apply()
    frame = pd.read_csv(data, sep="\t")
    panels = list(dict.fromkeys(frame["panel"]))
    columns = min(len(panels), PER_ROW)
    grid_rows = -(-len(panels) // columns)
    figure, axes = plt.subplots(grid_rows, columns, figsize=(min(style.FULL_WIDTH, 2.4 * columns), 2.4 * grid_rows),
                                squeeze=False, sharey=True)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    for ax, panel in zip(axes.flat, panels):
        rows = frame[frame["panel"] == panel]
        for method, curve in rows.groupby("method", sort=False):
            curve = curve.sort_values("eps_eval")
            color = style.COLORS.get(method)
            ax.plot(curve["eps_eval"], 100 * curve["verified"], marker="o", markersize=3, linewidth=1.1,
                    color=color, label=style.label(method))
            ax.plot(curve["eps_eval"], 100 * curve["verified_tightest"], linestyle=":", linewidth=0.9, color=color)
        ax.axvline(rows["eps_target"].iloc[0], color="0.4", linewidth=0.8)
        ax.set_title(panel, fontsize="small")
        ax.set_xlabel(r"$\epsilon_{eval}$ ($\ell_2$)")
        ax.set_ylim(0, 100)
    for row in axes:
        row[0].set_ylabel("verified accuracy (%)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    handles.append(Line2D([], [], color="0.3", linestyle=":", linewidth=0.9))
    labels.append("tightest bound of the suite")
    figure.tight_layout()
    figure.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=len(labels),
                  fontsize="x-small", frameon=False)
    style.save(figure, out_png)
