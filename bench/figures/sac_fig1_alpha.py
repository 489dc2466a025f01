"""Sac fig. 1 (4C3F on CIFAR-10, SaC for l_inf). Left: the l2 operator norm of every layer of the shrunk network
and its clean and certified accuracy against alpha, the bound on the shrinking mask s. Right: the same per-layer
bounds after every epoch at the alpha the paper keeps."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from bench.figures import style


LABELS = {"clean": "clean accuracy", "certified": "certified (Lipschitz margin)"}
PLAIN = FuncFormatter(lambda value, _: f"{value:g}")  # 0.6, 2, 4 rather than 6 x 10^-1


def draw(data: str | Path, out_png: str | Path, eps_label: str = "") -> None:
    """``data``: tidy TSV of ``bench.analysis.alpha_sweep.alpha_table`` (source, alpha, chosen, quantity, layer,
    epoch, value); the paper's points are drawn as hollow red markers."""
    style.apply()
    frame = pd.read_csv(data, sep="\t")
    paper, frame = frame[frame["source"] == "paper"], frame[frame["source"] == "measured"]
    norms = frame[frame["quantity"] == "lipschitz"]
    final = norms[norms["epoch"] == norms.groupby("alpha")["epoch"].transform("max")]
    colors = style.layer_palette(norms["layer"])
    figure, (left, right) = plt.subplots(1, 2, figsize=(style.FULL_WIDTH, 2.7))

    for layer, rows in final.groupby("layer", sort=False):
        rows = rows.sort_values("alpha")
        left.plot(rows["alpha"], rows["value"], marker="o", markersize=3, linewidth=1.0, color=colors[layer],
                  label=layer)
    left.axhline(1.0, color="0.5", linestyle=":", linewidth=0.8)
    left.set_xscale("log")
    left.set_yscale("log")
    left.set_xlabel(r"$\alpha$ (bound on the shrinking mask $s$)")
    left.set_ylabel("layer Lipschitz bound (after training)")
    accuracy = left.twinx()
    for quantity, linestyle in (("clean", "-"), ("certified", "--")):
        rows = frame[frame["quantity"] == quantity].sort_values("alpha")
        accuracy.plot(rows["alpha"], rows["value"], color="black", linestyle=linestyle, marker="s", markersize=3,
                      linewidth=1.2, label=LABELS[quantity])
    for quantity, marker in (("clean", "*"), ("certified", "P")):
        rows = paper[paper["quantity"] == quantity]
        accuracy.scatter(rows["alpha"], rows["value"], marker=marker, s=40, facecolors="white", edgecolors="firebrick",
                         zorder=5, label=f"paper: {quantity}")
    accuracy.set_ylim(0, 1)
    accuracy.set_ylabel("accuracy")
    accuracy.grid(False)
    chosen = frame.loc[frame["chosen"], "alpha"].iloc[0]
    left.axvline(chosen, color="0.3", linewidth=0.8, alpha=0.5)

    for layer, rows in norms[norms["chosen"]].groupby("layer", sort=False):
        right.plot(rows["epoch"], rows["value"], linewidth=1.0, color=colors[layer], label=layer)
    right.axhline(1.0, color="0.5", linestyle=":", linewidth=0.8)
    right.set_yscale("log")
    for axis in (left.yaxis, right.yaxis):
        axis.set_major_locator(LogLocator(subs=(1, 2, 5)))
    for axis in (left.xaxis, left.yaxis, right.yaxis):
        axis.set_major_formatter(PLAIN)
        axis.set_minor_formatter(NullFormatter())
    right.set_xlabel("epoch")
    right.set_ylabel("layer Lipschitz bound")
    right.set_title(rf"$\alpha$ = {chosen:g}", fontsize="medium")

    handles = left.get_legend_handles_labels()[0] + accuracy.get_legend_handles_labels()[0]
    columns = len(handles) if len(handles) <= 6 else (len(handles) + 1) // 2
    figure.legend(handles=handles, ncol=columns, fontsize="small", loc="upper center",
                  bbox_to_anchor=(0.5, 0.02), frameon=False)
    figure.suptitle("SaC: per-layer Lipschitz bounds and accuracy against the shrinking bound $\\alpha$"
                    + (f" (certified at $\\epsilon$ = {eps_label})" if eps_label else ""), fontsize="medium")
    figure.tight_layout()
    style.save(figure, out_png)
