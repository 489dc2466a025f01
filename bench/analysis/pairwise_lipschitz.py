"""Average pairwise Lipschitz constants of trained models (crm Table 2): over all unique class pairs (i, j), the
direct bound on z_i - z_j (L_ij), the sum of the per-class bounds (L_i + L_j, GloRo's proxy) and sqrt(2) L (the
whole net's, LMT's proxy), each by the naive product and by LipLT (``bench.bounds.liplt``, guaranteed constants).
"""
from __future__ import annotations

import logging
import math
from pathlib import Path

import pandas as pd
import torch
from torch import nn

from bench.bounds.liplt import liplt_bound, linear_maps, naive_bound, pair_rows
from bench.data import dataset_spec
from bench.io import training_provenance, write_rows
from bench.train import load_trained

log = logging.getLogger(__name__)
BOUNDS = {"naive": naive_bound, "liplt": liplt_bound}


def pairwise_statistics(model: nn.Module, input_shape: tuple[int, ...]) -> list[dict]:
    """One row per (bound, statistic): mean L_ij, mean L_i + L_j over unique pairs, and sqrt(2) L."""
    maps, last = linear_maps(model, input_shape), [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    classes = last.out_features
    pairs = [(i, j) for i in range(classes) for j in range(i + 1, classes)]
    rows = []
    with torch.no_grad():
        for name, bound in BOUNDS.items():
            pair = bound(maps, rows=pair_rows(last, pairs))
            single = bound(maps, rows=pair_rows(last, [(i, None) for i in range(classes)]))
            class_sum = torch.stack([single[i] + single[j] for i, j in pairs])
            rows += [{"bound": name, "statistic": "pair", "value": float(pair.mean())},
                     {"bound": name, "statistic": "class_sum", "value": float(class_sum.mean())},
                     {"bound": name, "statistic": "global", "value": math.sqrt(2) * float(bound(maps))}]
    return rows


def analyse_pairwise_lipschitz(cells: list[list], out_tsv: str | Path) -> pd.DataFrame:
    """``cells``: [method, paper dataset, paper model, model.pt] per table cell; one row per cell and statistic."""
    rows, provenance = [], {}
    for method, dataset, paper_model, model_path in cells:
        model, run = load_trained(model_path)
        cell = {"method": method, "dataset": dataset, "paper_model": paper_model, "model": run.model,
                "used_dataset": run.dataset}
        rows += [{**cell, **row} for row in pairwise_statistics(model, dataset_spec(run.dataset).shape)]
        provenance[f"{method} {dataset}"] = training_provenance(model_path)
    frame = pd.DataFrame(rows)
    write_rows(frame, out_tsv, {"models": provenance})
    for (dataset, bound), group in frame.groupby(["dataset", "bound"], sort=False):
        log.info("%s %s: %s", dataset, bound, ", ".join(f"{s} {v:.4g}" for s, v in zip(group["statistic"],
                                                                                        group["value"])))
    return frame
