"""Thesis fig. 3.6: learning curves at the scheduled eps_t, shaded with the loss variation along the gradient
descent direction (the range of eq. C.1.2 at each traced step); the dotted line marks the ramp-up's end."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from bench.figures import style


def ramp_end(frame: pd.DataFrame) -> float | None:
    """The epoch where eps_t reaches eps_train: eps_t is linear in the step during the ramp-up, so two traced
    ramp-up steps fix the line (None if fewer were traced)."""
    ramp = frame[(frame["ramp"] > 0) & (frame["ramp"] < 1)].drop_duplicates("epoch").sort_values("epoch")
    if len(ramp) < 2:
        return None
    (e0, r0), (e1, r1) = ramp[["epoch", "ramp"]].to_numpy()[[0, -1]]
    return float(e0 + (1 - r0) * (e1 - e0) / (r1 - r0))


def draw(data: str | Path, out_png: str | Path, eps_label: str = "") -> None:
    """``data``: tidy TSV with columns trained, epoch, ramp, loss, loss_min, loss_max (one row per traced step)."""
    style.apply()
    frame = pd.read_csv(data, sep="\t")
    figure, ax = plt.subplots(figsize=(style.FULL_WIDTH, 2.6))
    for method, run in frame.groupby("trained", sort=False):
        color = style.COLORS.get(method)
        ax.fill_between(run["epoch"], run["loss_min"], run["loss_max"], color=color, alpha=0.2, linewidth=0)
        ax.plot(run["epoch"], run["loss"], color=color, label=style.label(method), linewidth=1.0)
    end = ramp_end(frame)
    if end is not None:
        ax.axvline(end, color="0.3", linestyle=":", linewidth=1.0, label="end of ramp-up")
    ax.set_xlabel("epoch")
    ax.set_ylabel(r"loss at $\epsilon_t$ (nats)")
    ax.set_yscale("log")
    ax.legend(ncol=5, fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.22), frameon=False)
    ax.set_title("Learning curves with the loss variation along $-\\nabla\\mathcal{L}$ (shaded)"
                 + (f", $\\epsilon_{{train}}$ = {eps_label}" if eps_label else ""), fontsize="medium")
    figure.tight_layout()
    style.save(figure, out_png)
