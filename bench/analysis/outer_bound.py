"""Thesis fig. 3.3: how much BCP's box tightens the Lipschitz outer bound, per test point of a trained model.

The tightness is the normalised l1 norm of the translation vector, tau(x) = sum_{i != j} t_i(x; j) / (c (c - 1))
(thesis sec. 3.2.2), with t_i(x; j) = (z_j(x) - z_i(x)) - min over the outer bound of (zeta_j - zeta_i): with BCP
the minimum over ball ∩ box at the penultimate layer, without it over the ball alone, which gives the constant
rho ||W_j - W_i||_2 (the dotted line of fig. 3.3). Both use the same guaranteed per-layer constants.
"""
from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path

import pandas as pd
import torch

from bench.bounds.bcp import ball_and_box, ball_box_lower_bound, sound_norm
from bench.bounds.network import Ball, BoundedNet
from bench.data import load_dataset
from bench.data.registry import stack
from bench.device import describe_device, resolve_device
from bench.io import evaluated_indices, training_provenance, write_rows
from bench.train import load_trained

log = logging.getLogger(__name__)


def all_pairs(num_classes: int, dtype=torch.float32) -> torch.Tensor:
    """(c (c - 1), c): row (j, i) is e_j - e_i for every ordered pair i != j."""
    eye = torch.eye(num_classes, dtype=dtype)
    return torch.stack([eye[j] - eye[i] for j in range(num_classes) for i in range(num_classes) if i != j])


def translation_tightness(model: torch.nn.Module, x: torch.Tensor, eps: float, norm: str = "l2"):
    """(tau with BCP, tau without it) per point of ``x``, for a sequential ReLU net ending in a linear layer."""
    net = BoundedNet(model)
    z, rho, lower, upper = ball_and_box(net, Ball(x, eps, norm), sound_norm(net))
    last = net.layers[-1]
    c = all_pairs(last.out_features, x.dtype).to(x.device) @ last.weight  # (pairs, penultimate)
    c = c.expand(len(x), *c.shape)
    clean = torch.einsum("bpn,bn->bp", c, z)
    bound = ball_box_lower_bound(c, z.unsqueeze(1), rho.view(-1, 1, 1), lower.unsqueeze(1), upper.unsqueeze(1))
    return (clean - bound).mean(1), (rho.view(-1, 1) * c.norm(dim=-1)).mean(1)


def analyse_outer_bound(model_path: str | Path, eps: float, norm: str, out_tsv: str | Path, skip: int = 1,
                        max_points: int | None = None, batch_size: int = 100, data_root: str | Path = "data",
                        download: bool = False, device: str = "auto",
                        deterministic: bool | None = None) -> pd.DataFrame:
    """One row per test point: ``tightness_bcp`` and ``tightness_lipschitz`` at ``eps`` on ``norm`` balls."""
    dev = resolve_device(device, deterministic)
    model, run = load_trained(model_path, dev)
    test_set = load_dataset(run.dataset, "test", data_root, download)
    indices, rows = evaluated_indices(len(test_set), skip, max_points), []
    for start in range(0, len(indices), batch_size):
        idx = indices[start:start + batch_size]
        x, _ = (t.to(dev) for t in stack(test_set, idx))
        with torch.no_grad():
            tight, loose = translation_tightness(model, x, eps, norm)
        rows += [{"idx": i, "tightness_bcp": float(a), "tightness_lipschitz": float(b)}
                 for i, a, b in zip(idx, tight, loose)]
    frame = pd.DataFrame(rows)
    write_rows(frame, out_tsv, {"run": asdict(run), "eps": eps, "norm": norm, "skip": skip, "max_points": max_points,
                                **training_provenance(model_path), "analysed_on": describe_device(dev)})
    log.info("outer-bound tightness of %s on %d points: BCP %.4g (median), Lipschitz only %.4g", run.method,
             len(frame), frame["tightness_bcp"].median(), frame["tightness_lipschitz"].median())
    return frame
