"""Certified l2 radii per test point (crm eq. 5): R(x) = min_{i != y} (z_y - z_i) / L_yi, with LipLT's and with the
naive pairwise constants (guaranteed, ``bench.bounds.liplt``); 0 for a misclassified point (crm Figure 1)."""
from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import torch

from bench.bounds.liplt import pairwise_constants, pairwise_radii
from bench.data import load_dataset
from bench.data.registry import stack
from bench.io import evaluated_indices, training_provenance, write_rows
from bench.train import load_trained

log = logging.getLogger(__name__)


def certified_radii(logits: torch.Tensor, y: torch.Tensor, constants: torch.Tensor) -> torch.Tensor:
    """crm eq. 5 per point, clamped at 0 (a misclassified point is certified at no radius)."""
    return pairwise_radii(logits, y, constants).min(1).values.clamp(min=0)


def analyse_radii(model_path: str | Path, out_tsv: str | Path, skip: int = 1, max_points: int | None = None,
                  batch_size: int = 100, data_root: str | Path = "data", download: bool = False) -> pd.DataFrame:
    model, run = load_trained(model_path)
    test_set = load_dataset(run.dataset, "test", data_root, download)
    indices = evaluated_indices(len(test_set), skip, max_points)
    shape = tuple(test_set[0][0].shape)
    constants = {bound: pairwise_constants(model, shape, bound=bound).float() for bound in ("liplt", "naive")}
    rows = []
    with torch.no_grad():
        for start in range(0, len(indices), batch_size):
            idx = indices[start:start + batch_size]
            x, y = stack(test_set, idx)
            logits = model(x)
            radii = {bound: certified_radii(logits, y, c) for bound, c in constants.items()}
            rows += [{"idx": i, "label": int(y[k]), "correct": bool(logits[k].argmax() == y[k]),
                      **{f"radius_{bound}": float(r[k]) for bound, r in radii.items()}} for k, i in enumerate(idx)]
    frame = pd.DataFrame(rows)
    write_rows(frame, out_tsv, {"model": training_provenance(model_path), "skip": skip, "max_points": max_points})
    log.info("%d points: median certified radius %.4g (LipLT), %.4g (naive)", len(frame),
             frame["radius_liplt"].median(), frame["radius_naive"].median())
    return frame
