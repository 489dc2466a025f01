"""Sac fig. 1: the effect of SaC's shrinking bound alpha, from the cached runs of one alpha grid (torch-free: it
reads each run's lipschitz.csv, written per epoch by the training engine, and its per-point verification file).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from bench.io import read_rows


def layer_labels(kinds: list[str]) -> list[str]:
    """sac fig. 1's names, numbered in forward order: C1-C4 for 4C3F's convolutions, L5-L7 for its linear layers."""
    return [f"{'C' if kind == 'conv' else 'L'}{i}" for i, kind in enumerate(kinds, start=1)]


def read_norms(path: str | Path) -> pd.DataFrame:
    """One run's per-epoch operator norms (epoch, name, kind, norm), each layer labelled as sac fig. 1 does."""
    norms = pd.read_csv(path)
    if norms.empty:
        raise ValueError(f"{path} holds no Lipschitz bounds: the run was trained without log_lipschitz")
    first = norms[norms["epoch"] == norms["epoch"].min()]
    return norms.assign(layer=norms["name"].map(dict(zip(first["name"], layer_labels(list(first["kind"]))))))


def alpha_table(alphas: list[float], lipschitz: list[str | Path], verified: list[str | Path],
                chosen: float, paper: dict | None = None) -> pd.DataFrame:
    """The tidy table of sac fig. 1, columns source, alpha, chosen, quantity, layer, epoch, value:

    - quantity "lipschitz": the l2 operator norm of each layer of the shrunk net s * theta after every epoch
      (the left panel reads the last epoch of every alpha, the right one every epoch of the chosen alpha);
    - quantity "clean" / "certified": the final model's clean accuracy and its accuracy certified by its own
      bound (SaC: the Lipschitz margin) on the verification points (layer and epoch empty).

    Rows measured here have source "measured"; ``paper`` ({alpha, clean, certified}: the numbers sac prints for
    the figure) adds them with source "paper".
    """
    frames = []
    for alpha, norms_path, rows_path in zip(alphas, lipschitz, verified, strict=True):
        norms = read_norms(norms_path)
        frames.append(pd.DataFrame({"alpha": alpha, "quantity": "lipschitz", "layer": norms["layer"],
                                    "epoch": norms["epoch"], "value": norms["norm"]}))
        rows, _ = read_rows(rows_path)
        frames.append(pd.DataFrame({"alpha": alpha, "quantity": ["clean", "certified"],
                                    "value": [rows["correct"].mean(), rows["verified_own"].mean()]}))
    table = pd.concat(frames, ignore_index=True).assign(source="measured")
    if paper:
        quoted = pd.DataFrame({"source": "paper", "alpha": paper["alpha"], "quantity": ["clean", "certified"],
                               "value": [paper["clean"], paper["certified"]]})
        table = pd.concat([table, quoted], ignore_index=True)
    table.insert(1, "chosen", table["alpha"] == chosen)
    return table[["source", "alpha", "chosen", "quantity", "layer", "epoch", "value"]]
