"""Checkpoint selection by verified test error, for the thesis' "test error at the best checkpoint"
(table 3.3): after every epoch the model is verified at its target eps with the method's own bounds."""
from __future__ import annotations

import torch
from torch import nn

from bench.bounds import BoundedNet, margin_bounds, worst_margin
from bench.data.registry import stack


def verified_error(model: nn.Module, dataset, eps: float, certifiers: tuple[str, ...], skip: int = 1,
                   batch_size: int = 256, norm: str = "linf", generator: torch.Generator | None = None) -> float:
    """Percent of every ``skip``-th point of ``dataset`` that is misclassified or that no certifier verifies.

    Runs in eval mode (BatchNorm with running statistics) and restores the model's mode afterwards.
    """
    was_training, device = model.training, next(model.parameters()).device
    model.eval()
    indices, verified = list(range(0, len(dataset), skip)), 0
    net = BoundedNet(model)
    for start in range(0, len(indices), batch_size):
        x, y = (t.to(device) for t in stack(dataset, indices[start:start + batch_size]))
        with torch.no_grad():
            ok = model(x).argmax(1) == y
            worst = torch.stack([worst_margin(margin_bounds(net, x, y, eps, name, norm, generator=generator), y)
                                 for name in certifiers]).amax(0)
        verified += int((ok & (worst > 0)).sum())
    model.train(was_training)
    return 100.0 * (1.0 - verified / len(indices))
