"""Thesis figs. C.6-C.8 during the ramp-up, one column per training method. Top (C.6, C.7): active, unstable
and dead ReLUs per input under the method's own intermediate bounds at eps_t; bottom (C.8): the histogram
of the slope u+/(u+ - l-) of unstable ReLUs over the ramp-up (colour: share of the step's unstable ReLUs)."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from bench.figures import style

STATES = {"relu_active": ("active", "tab:green"), "relu_unstable": ("unstable", "tab:orange"),
          "relu_dead": ("dead", "tab:red")}  # the thesis' colours (fig. C.7)


def cell_edges(centres: np.ndarray) -> np.ndarray:
    """Edges of cells centred on the traced epochs (half-way between neighbours)."""
    if len(centres) == 1:
        return np.array([centres[0] - 0.5, centres[0] + 0.5])
    middle = (centres[1:] + centres[:-1]) / 2
    return np.concatenate([[2 * centres[0] - middle[0]], middle, [2 * centres[-1] - middle[-1]]])


def draw(data: str | Path, out_png: str | Path, eps_label: str = "") -> None:
    """``data``: tidy TSV; rows of kind ``states`` (trained, epoch, relu_active, relu_unstable, relu_dead) and of
    kind ``slopes`` (trained, step, epoch, slope_from, slope_to, count)."""
    style.apply()
    frame = pd.read_csv(data, sep="\t")
    methods = list(dict.fromkeys(frame["trained"]))
    figure, axes = plt.subplots(2, len(methods), figsize=(style.FULL_WIDTH, 4.4), squeeze=False, sharex=True,
                                sharey="row", layout="constrained")
    shares = []
    for col, method in enumerate(methods):
        states = frame[(frame["trained"] == method) & (frame["kind"] == "states")]
        for column, (name, color) in STATES.items():
            axes[0][col].plot(states["epoch"], states[column], color=color, label=name, linewidth=1.0)
        axes[0][col].set_title(style.label(method), fontsize="medium")
        slopes = frame[(frame["trained"] == method) & (frame["kind"] == "slopes")]
        grid = slopes.pivot_table(index="slope_from", columns="epoch", values="count", aggfunc="sum")
        share = grid / grid.sum(axis=0).replace(0, np.nan)
        edges = np.append(grid.index.to_numpy(), slopes["slope_to"].max())
        shares.append(axes[1][col].pcolormesh(cell_edges(grid.columns.to_numpy()), edges, share.to_numpy(),
                                              cmap="mako_r", shading="flat"))
        axes[1][col].set_xlabel("epoch (ramp-up)")
    axes[0][0].set_ylabel("ReLUs per input")
    axes[1][0].set_ylabel("unstable slope $u^+/(u^+ - l^-)$")
    axes[0][-1].legend(fontsize="x-small", frameon=False)
    top = max(float(np.nanmax(mesh.get_array())) for mesh in shares)  # one colour scale for every method
    for mesh in shares:
        mesh.set_clim(0, top)
    figure.colorbar(shares[0], ax=axes[1].tolist(), label="share of the step's\nunstable ReLUs", fraction=0.03)
    figure.suptitle("ReLU states during the ramp-up" + (f", $\\epsilon_{{train}}$ = {eps_label}" if eps_label else ""),
                    fontsize="medium")
    style.save(figure, out_png)
