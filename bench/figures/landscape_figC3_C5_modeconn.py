"""Thesis figs. C.3-C.5: mode connectivity along the Bezier curve phi(t) between two trained models (w0 at t = 0,
w1 at t = 1), one column per pair of end points (C.3: CROWN-IBP - IBP, C.4: IBP - OURS, C.5: CROWN-IBP - OURS) and
one line per loss the curve was trained with: robust loss (top) and verified error (bottom) along t. A dotted line
marks max(loss(w0), loss(w1)) of each curve: a curve that rises above it has a barrier (thesis app. C.5)."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.lines import Line2D

from bench.figures import style

MEASURES = {"robust_loss": "robust loss (nats)", "verified_error": "verified error (%)"}


def draw(data: str | Path, out_png: str | Path, eps_label: str = "") -> None:
    """``data``: tidy TSV with columns w0, w1 (methods of the end-point models), curve_loss, t, robust_loss,
    verified_error, clean_error."""
    style.apply()
    frame = pd.read_csv(data, sep="\t").sort_values("t", kind="stable")
    pairs = list(dict.fromkeys(zip(frame["w0"], frame["w1"])))
    figure, axes = plt.subplots(2, len(pairs), figsize=(style.FULL_WIDTH, 4.4), sharex=True, squeeze=False)
    for col, (w0, w1) in enumerate(pairs):
        pair = frame[(frame["w0"] == w0) & (frame["w1"] == w1)]
        for row, (measure, axis_label) in enumerate(MEASURES.items()):
            ax = axes[row][col]
            for loss, curve in pair.groupby("curve_loss", sort=False):
                color = style.COLORS.get(loss)
                ax.plot(curve["t"], curve[measure], marker="o", markersize=2.5, linewidth=1.2, color=color,
                        label=f"$\\theta_c$ trained with {style.label(loss)} loss")
                if measure == "robust_loss":
                    ends = curve[measure].iloc[[0, -1]].max()
                    ax.axhline(ends, color=color, linestyle=":", linewidth=0.8)
            values = pair[measure]
            if measure == "robust_loss" and values.max() > 10 * values.min():  # another method's loss at an end
                ax.set_yscale("log")                                             # point can be far higher
            ax.set_ylabel(axis_label if col == 0 else "")
            ax.xaxis.set_major_formatter("{x:g}")
        axes[0][col].set_title(f"$w_0$ = {style.label(w0)}, $w_1$ = {style.label(w1)}", fontsize="small")
        axes[1][col].set_xlabel("t")
    handles = {h.get_label(): h for ax in axes.flat for h in ax.get_lines() if not h.get_label().startswith("_")}
    handles["max(loss($w_0$), loss($w_1$)): a curve above it has a barrier"] = Line2D([], [], color="0.4",
                                                                                       linestyle=":", linewidth=0.8)
    figure.legend(handles.values(), handles.keys(), loc="lower center", ncol=2, frameon=False, fontsize="small")
    figure.suptitle("Mode connectivity along the Bezier curve $\\phi(t)$ from $w_0$ (t = 0) to $w_1$ (t = 1)"
                    + (f" at $\\epsilon$ = {eps_label}" if eps_label else ""), fontsize="medium")
    figure.tight_layout(rect=(0, 0.08, 1, 1))
    style.save(figure, out_png)
