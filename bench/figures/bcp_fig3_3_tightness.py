"""Thesis fig. 3.3: violins of the outer bound's tightness per test point with BCP's box (the normalised l1 norm
of the translation vector; smaller is tighter), one per dataset, and the tightness without the box as a
dotted line (a constant: the Lipschitz ball alone). The title of each violin gives the mean reduction, and the
one the thesis states for that dataset (sec. 3.2.2)."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from bench.figures import style


def draw(data: str | Path, out_png: str | Path, eps_label: str = "") -> None:
    """``data``: tidy TSV of the outer-bound analyses (panel, paper_reduction, idx, tightness_bcp,
    tightness_lipschitz)."""
    style.apply()
    frame = pd.read_csv(data, sep="\t")
    panels = list(dict.fromkeys(frame["panel"]))
    figure, axes = plt.subplots(1, len(panels), figsize=(min(style.FULL_WIDTH, 2.1 * len(panels) + 0.6), 2.6),
                                squeeze=False)
    for ax, panel in zip(axes[0], panels):
        rows = frame[frame["panel"] == panel]
        sns.violinplot(y=rows["tightness_bcp"], ax=ax, color="0.75", cut=0, inner="quartile",
                       linewidth=0.8)
        without = rows["tightness_lipschitz"].mean()
        ax.axhline(without, color="0.2", linestyle=":", linewidth=1.0, label="without BCP")
        reduction = 100 * (1 - rows["tightness_bcp"].mean() / without)
        paper = rows["paper_reduction"].iloc[0] if "paper_reduction" in rows else None
        stated = "" if pd.isna(paper) else f"\npaper: {paper:g}% tighter"
        ax.set_title(f"{panel}\nmeasured: {reduction:.1f}% tighter{stated}", fontsize="small")
        ax.set_ylabel("tightness $\\tau(x)$" if ax is axes[0][0] else "")
        ax.set_ylim(bottom=0)
    axes[0][-1].legend(fontsize="x-small", loc="lower right")
    figure.tight_layout()
    style.save(figure, out_png)
