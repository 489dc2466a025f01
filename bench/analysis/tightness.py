"""Tightness of linear relaxations on one fixed trained model (thesis sec. 3.3.4, fig. 3.10 and app. C.9).

The thesis' tightness is the sum over classes of the worst-case margin, sum_m s_m(x) with s_m the upper bound
on z_m - z_y (eq. 3.3.15), i.e. minus the sum of our lower bounds on z_y - z_m; the test loss is the robust
cross-entropy CE(s(x), y) (eq. 3.3.14). Lower is tighter for both. Every relaxation shares IBP intermediate
bounds and differs only in the lower ReLU slopes of the last backward pass (OURS, CROWN-IBP, CAP-IBP, RANDOM).
"""
from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path

import pandas as pd
import torch
import torch.nn.functional as F

from bench.bounds import BoundedNet, margin_bounds, robust_logits
from bench.data import load_dataset
from bench.data.registry import stack
from bench.device import describe_device, resolve_device
from bench.io import evaluated_indices, training_provenance, write_rows
from bench.train import load_trained

log = logging.getLogger(__name__)


def tightness_and_loss(margins: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per point: sum_m s_m = -sum_m (lower bound on z_y - z_m), and CE(-margins, y)."""
    return -margins.sum(dim=1), F.cross_entropy(robust_logits(margins), y, reduction="none")


def analyse_tightness(model_path: str | Path, eps: float, relaxations: list[str], out_tsv: str | Path,
                      skip: int = 1, max_points: int | None = None, batch_size: int = 100, seed: int = 0,
                      data_root: str | Path = "data", download: bool = False, device: str = "auto",
                      deterministic: bool | None = None) -> pd.DataFrame:
    """One row per (test point, relaxation): ``tightness`` and ``test_loss`` at ``eps`` (l_inf)."""
    dev = resolve_device(device, deterministic)
    model, run = load_trained(model_path, dev)
    test_set = load_dataset(run.dataset, "test", data_root, download)
    indices = evaluated_indices(len(test_set), skip, max_points)
    generator = torch.Generator(dev).manual_seed(seed)  # RANDOM's slopes
    net, rows = BoundedNet(model), []
    for start in range(0, len(indices), batch_size):
        idx = indices[start:start + batch_size]
        x, y = (t.to(dev) for t in stack(test_set, idx))
        for relaxation in relaxations:
            with torch.no_grad():  # OURS re-enables grad for its slope step only
                margins = margin_bounds(net, x, y, eps, relaxation, generator=generator)
            tightness, loss = tightness_and_loss(margins, y)
            rows += [{"idx": i, "relaxation": relaxation, "tightness": float(t), "test_loss": float(l)}
                     for i, t, l in zip(idx, tightness, loss)]
    frame = pd.DataFrame(rows)
    write_rows(frame, out_tsv, {"run": asdict(run), "eps": eps, "relaxations": relaxations, "seed": seed,
                                "skip": skip, "max_points": max_points, **training_provenance(model_path),
                                "analysed_on": describe_device(dev)})
    log.info("tightness of %s on %d points: %s", run.method, len(indices),
             frame.groupby("relaxation")["tightness"].median().round(3).to_dict())
    return frame
