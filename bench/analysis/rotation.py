"""Duet Table 1: each trained model's layer rotations against a vanilla guide's, and its Lipschitz bound.

Per layer of each model: the similarity of its rank-r rotation to the guide's on the inputs the layer receives
(``bench.bounds.rotation.rotation_similarities``, averaged over the evaluated test points) and a guaranteed
bound on its l2 Lipschitz constant (``bench.bounds.lipschitz.l2_lipschitz_bound``), whose product over the
layers bounds the network's (duet eq. 3). One tidy file for the whole table, every model against the same guide.
"""
from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import torch
from torch import nn

from bench.bounds.lipschitz import l2_lipschitz_bound
from bench.bounds.network import BoundedNet
from bench.bounds.rotation import rotation_similarities
from bench.data import load_dataset
from bench.data.registry import stack
from bench.device import describe_device, resolve_device
from bench.io import evaluated_indices, file_sha256, load_checkpoint, training_provenance, write_rows
from bench.train import load_trained

log = logging.getLogger(__name__)


def layer_rows(model: nn.Module, guide_state: dict, x_batches, rank: int) -> list[dict]:
    """One row per layer of ``model`` (in forward order): its Lipschitz bound and, for linear and
    convolutional layers, the mean rotation similarity to the guide over every input of ``x_batches``."""
    similarity = rotation_similarities(model, guide_state, x_batches, rank)
    names = {id(module): name for name, module in model.named_modules()}
    net = BoundedNet(model)
    with torch.no_grad():
        net.record(x_batches[0][:1])
    rows = []
    for i, layer in enumerate(net.layers):
        name = names[id(layer)]
        rows.append({"layer": name, "kind": type(layer).__name__,
                     "similarity": similarity.get(name, float("nan")),
                     "lipschitz": float(l2_lipschitz_bound(layer, net.in_shapes[i]))})
    return rows


def analyse_rotation(cells: list[list], guide_path: str | Path, rank: int, out_tsv: str | Path, skip: int = 1,
                     max_points: int | None = None, batch_size: int = 100, data_root: str | Path = "data",
                     download: bool = False, device: str = "auto", deterministic: bool | None = None) -> pd.DataFrame:
    """``cells``: [method, paper dataset, paper model, model.pt] per table cell. Writes one row per (cell, layer)."""
    dev = resolve_device(device, deterministic)
    guide = load_checkpoint(guide_path, dev)["state_dict"]
    rows, provenance, test_sets = [], {}, {}
    for method, dataset, paper_model, model_path in cells:
        model, run = load_trained(model_path, dev)
        if run.dataset not in test_sets:
            test_sets[run.dataset] = load_dataset(run.dataset, "test", data_root, download)
        test_set = test_sets[run.dataset]
        indices = evaluated_indices(len(test_set), skip, max_points)
        batches = [stack(test_set, indices[start:start + batch_size])[0].to(dev)
                   for start in range(0, len(indices), batch_size)]
        cell = {"method": method, "dataset": dataset, "paper_model": paper_model, "model": run.model,
                "used_dataset": run.dataset, "points": len(indices)}
        rows += [{**cell, **row} for row in layer_rows(model, guide, batches, rank)]
        provenance[method] = training_provenance(model_path)
    frame = pd.DataFrame(rows)
    write_rows(frame, out_tsv, {"guide": str(guide_path), "guide_sha256": file_sha256(guide_path), "rank": rank,
                                "skip": skip, "max_points": max_points, "models": provenance,
                                "analysed_on": describe_device(dev)})
    for method, group in frame.groupby("method", sort=False):
        log.info("%s: mean rotation similarity %.3f, Lipschitz bound %.4g", method, group["similarity"].mean(),
                 group["lipschitz"].prod())
    return frame
