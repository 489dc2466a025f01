"""The one style of every certbench figure: paper-column sizes, fonts, a colour and a label per method or
relaxation (the papers' names), and saving as .png and vector .pdf side by side."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, on clusters and in CI

import matplotlib.pyplot as plt  # noqa: E402
import seaborn as sns  # noqa: E402

COLUMN_WIDTH, FULL_WIDTH = 3.3, 6.9  # inches: one and two columns of a two-column paper
LABELS = {"ibp": "IBP", "crown_ibp": "CROWN-IBP", "crown_ibp_1to0": "CROWN-IBP$_{1\\to0}$", "cap": "CAP",
          "cap_ibp": "CAP-IBP", "ours": "OURS", "random_ibp": "RANDOM", "zero_ibp": "ZERO",
          "improved_ibp": "IBP (Shi et al.)", "cohen": "Cohen et al.", "lmt": "LMT", "bcp": "BCP",
          "standard": "standard training", "duet": "Duet", "crm": "CRM", "gloro": "GloRo"}
PQ_VARIANTS = ("0_0", "0_0.25", "0_0.5", "0.5_1", "1_1")  # thesis fig. 3.9 / table C.1: lower slope ~ Bernoulli
LABELS |= {f"crown_ibp_pq_{pq}": "(p, q) = ({}, {})".format(*pq.split("_")) for pq in PQ_VARIANTS}
LABELS |= {"crown_ibp_rs_0.01": "CROWN-IBP + 0.01 $L_{RS}$", "crown_ibp_rs_10": "CROWN-IBP + 10 $L_{RS}$"}
_PALETTE = sns.color_palette("colorblind", 10)
COLORS = {"ours": _PALETTE[3], "crown_ibp": _PALETTE[0], "crown_ibp_1to0": _PALETTE[9], "cap": _PALETTE[2],
          "cap_ibp": _PALETTE[2], "ibp": _PALETTE[4], "random_ibp": _PALETTE[7], "zero_ibp": _PALETTE[8],
          "improved_ibp": _PALETTE[5], "cohen": _PALETTE[1], "lmt": _PALETTE[1], "bcp": (0.1, 0.1, 0.1),
          "standard": _PALETTE[7], "duet": _PALETTE[3], "crm": _PALETTE[3], "gloro": _PALETTE[0]}
# thesis ch. 2: Adv-BNN black and Adv-BNN + GradDiv red (figs. 2.4, 2.8, 2.9); with several regularisers, one
# colour per regulariser, read from the label ("Adv-BNN + GradDiv-DPP"), whichever run name trained it
COLORS |= {"pgd": _PALETTE[4], "rse": _PALETTE[2], "adv_bnn": (0.1, 0.1, 0.1)}
REGULARIZER_COLORS = {"κ": _PALETTE[3], "mean": _PALETTE[0], "max": _PALETTE[9], "smoothmax": _PALETTE[8],
                      "DPP": _PALETTE[1]}
# the (p, q) variants from sparse to dense lower slopes, in one sequential palette
COLORS |= {"crown_ibp_rs_0.01": _PALETTE[9], "crown_ibp_rs_10": _PALETTE[7]}
COLORS |= dict(zip((f"crown_ibp_pq_{pq}" for pq in PQ_VARIANTS), sns.color_palette("flare", len(PQ_VARIANTS))))


def layer_palette(layers) -> dict[str, tuple]:
    """One colour per layer, in forward order (sac fig. 1's C1-C4, L5-L7): first layers dark, last ones light."""
    layers = list(dict.fromkeys(layers))
    return dict(zip(layers, sns.color_palette("viridis", len(layers))))


def apply() -> None:
    sns.set_theme(context="paper", style="whitegrid", font_scale=0.9,
                  rc={"font.family": "serif", "pdf.fonttype": 42, "savefig.dpi": 200, "figure.dpi": 100})


def label(name: str) -> str:
    return LABELS.get(name, name)


def graddiv_color(method: str, label: str) -> tuple:
    """A network's colour in the GradDiv figures: its regulariser's, else its method's."""
    if "GradDiv" in label:
        return REGULARIZER_COLORS.get(label.rpartition("GradDiv-")[2], _PALETTE[3])
    return COLORS.get(method, _PALETTE[6])


def matrix_panels(frame, rows: str, columns: str, values: str, title, axis: str, colorbar: str, limits):
    """One grey-scale matrix per (method, label) of ``frame`` side by side (darker is lower), titled by
    ``title(label, rows of that network)``, with one colour bar: thesis figs. 2.8, 2.9."""
    groups = list(frame.groupby(["method", "label"], sort=False))
    figure, axes = plt.subplots(1, len(groups), figsize=(FULL_WIDTH, FULL_WIDTH / len(groups) - 0.2), squeeze=False,
                                constrained_layout=True)
    for ax, ((_, label), group) in zip(axes[0], groups):
        image = ax.imshow(group.pivot(index=rows, columns=columns, values=values).to_numpy(), cmap="gray",
                          vmin=limits[0], vmax=limits[1])
        ax.set_title(title(label, group), fontsize="x-small")
        ax.set_xlabel(axis.replace("source", "target"))
        ax.grid(False)
    axes[0, 0].set_ylabel(axis)
    figure.colorbar(image, ax=axes[0].tolist(), label=colorbar, shrink=0.8)
    return figure


def palette(names) -> dict[str, tuple]:
    return {label(n): COLORS.get(n, _PALETTE[6]) for n in names}


_scale_mark = ""  # set by mark_scale: printed on every figure saved, unless the run is at paper scale


def mark_scale(scale: str) -> None:
    """Stamp every figure saved from now on with the scale it was built at, unless that is the paper's: a smoke
    figure comes from stand-in data and a small model and must never read as a paper result."""
    global _scale_mark
    _scale_mark = "" if scale == "paper" else (f"{scale.upper()} SCALE: offline stand-in data and model, "
                                               "not comparable to the paper")


def save(figure, out_png: str | Path) -> None:
    """Write ``out_png`` and the same figure as vector PDF beside it (stamped with a non-paper scale)."""
    if _scale_mark:
        figure.text(0.995, 1.0, _scale_mark, ha="right", va="bottom", fontsize="x-small", color="firebrick")
    out_png = Path(out_png)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out_png, bbox_inches="tight")
    figure.savefig(out_png.with_suffix(".pdf"), bbox_inches="tight")
    plt.close(figure)
