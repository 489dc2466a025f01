"""Thesis fig. 2.8: how well adversarial images of one sample model of a randomized network transfer to the others.

``members`` sample models (50 in the thesis) are fixed, each by a seed its noise is redrawn from at every pass:
a deterministic network, so "we do not have to use the EOT attack". PGD (``steps`` steps of eps / 4 from a random
start; the thesis: eps 0.4, m = 20 on MNIST) on each source model, then every target model's accuracy on those
images: a members x members matrix, rows the sources, columns the targets; its diagonal is white-box PGD. Each row also
holds the target's clean accuracy.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd
import torch
from torch import nn

from bench.attacks import pgd
from bench.data import load_dataset
from bench.data.registry import batches
from bench.device import describe_device, resolve_device
from bench.io import evaluated_indices, training_provenance, write_rows
from bench.models.randomized import is_randomized, sampling
from bench.train import load_trained

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TransferSettings:
    eps: float = 0.4
    steps: int = 20
    members: int = 50
    batch_size: int = 100
    skip: int = 1
    max_points: int | None = None


class SampleModel(nn.Module):
    """One sample model of a randomized network: every pass redraws its noise from ``seed``, so the same input
    shape meets the same weights (Adv-BNN) or noise (RSE) each time."""

    def __init__(self, network: nn.Module, seed: int):
        super().__init__()
        self.network, self.seed = network, seed
        self.generator = torch.Generator(next(network.parameters()).device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with sampling(self.network, self.generator.manual_seed(self.seed)):
            return self.network(x)


def transfer_matrix(model_path: str | Path, settings: TransferSettings, out_tsv: str | Path, seed: int = 0,
                    data_root: str | Path = "data", download: bool = False, device: str = "auto",
                    progress: bool = True) -> pd.DataFrame:
    """One row per (source, target) sample model: correct target predictions on the source's PGD images, points,
    accuracy."""
    dev = resolve_device(device)
    network, run = load_trained(model_path, dev)
    if not is_randomized(network):
        raise ValueError(f"{run.method}'s network is deterministic: it has one sample model")
    network.eval()
    members = [SampleModel(network, seed * 1_000 + k) for k in range(settings.members)]
    test_set = load_dataset(run.dataset, "test", data_root, download)
    indices = evaluated_indices(len(test_set), settings.skip, settings.max_points)
    correct = torch.zeros(settings.members, settings.members, dtype=torch.long)
    clean = torch.zeros(settings.members, dtype=torch.long)
    generator = torch.Generator(dev).manual_seed(seed)
    for _, x, y in batches(test_set, indices, settings.batch_size, dev, "transfer", progress):
        with torch.no_grad():
            clean += torch.stack([(member(x).argmax(1) == y).sum() for member in members]).cpu()
        for s, source in enumerate(members):
            adv = pgd(source, x, y, settings.eps, settings.steps, settings.eps / 4, "linf", generator)
            with torch.no_grad():
                correct[s] += torch.stack([(target(adv).argmax(1) == y).sum() for target in members]).cpu()
    frame = pd.DataFrame([{"source": s, "target": t, "correct": int(correct[s, t]), "points": len(indices),
                           "accuracy": float(correct[s, t]) / len(indices),
                           "target_clean": float(clean[t]) / len(indices)}
                          for s in range(settings.members) for t in range(settings.members)])
    write_rows(frame, out_tsv, {"run": asdict(run), "settings": asdict(settings), "seed": seed,
                                **training_provenance(model_path), "evaluated_on": describe_device(dev)})
    off = frame[frame["source"] != frame["target"]]["accuracy"]
    log.info("%s: off-diagonal accuracy %.1f %% (min %.1f, max %.1f), diagonal %.1f %%", run.method,
             100 * off.mean(), 100 * off.min(), 100 * off.max(),
             100 * frame[frame["source"] == frame["target"]]["accuracy"].mean())
    return frame
