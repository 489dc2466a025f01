"""crm Figure 1: the empirical distribution of certified l2 radii (crm eq. 5) over the test points, as the fraction
certified at each radius: left, the CRM model with LipLT's pairwise constants against the naive ones (fig. 1a);
right, CRM against standard training, both with LipLT's (fig. 1b). The dotted line: the table's eps."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from bench.figures import style
from bench.io import parse_eps


def certified_fraction(ax, radii: pd.Series, **kwargs) -> None:
    values = np.sort(radii.to_numpy())
    ax.step(values, 1 - np.arange(len(values)) / len(values), where="post", linewidth=1.2, **kwargs)


def draw(data: str | Path, out_png: str | Path, eps_label: str = "") -> None:
    """``data``: tidy TSV of ``bench.analysis.radii`` per trained method (columns method, radius_liplt, ...)."""
    style.apply()
    frame = pd.read_csv(data, sep="\t")
    figure, (left, right) = plt.subplots(1, 2, figsize=(style.FULL_WIDTH, 2.5), sharey=True)
    crm = frame[frame["method"] == "crm"]
    certified_fraction(left, crm["radius_liplt"], color=style.COLORS["crm"], label="LipLT")
    certified_fraction(left, crm["radius_naive"], color="0.5", linestyle="--", label="naive")
    left.set_title("CRM: LipLT vs naive constants")
    for method, rows in frame.groupby("method", sort=False):
        certified_fraction(right, rows["radius_liplt"], color=style.COLORS.get(method, "0.3"),
                           label=style.label(method))
    right.set_title("CRM vs standard training (LipLT)")
    left.set_ylabel("fraction certified")
    for ax in (left, right):
        if eps_label:
            ax.axvline(parse_eps(eps_label), color="0.4", linestyle=":", linewidth=0.8, label=f"eps = {eps_label}")
        ax.set_xlabel("certified l2 radius")
        ax.set_xlim(left=0)
        ax.legend(fontsize="x-small")
    figure.tight_layout()
    style.save(figure, out_png)
