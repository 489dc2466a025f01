"""Test-set measurements after each training epoch: checkpoint selection by verified test error, for the
thesis' "test error at the best checkpoint" (table 3.3), and the learning curves of duet figs. 2-3 (clean and
certified accuracy and loss). The model is verified at its target eps with the method's own bounds."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from bench.bounds import BoundedNet, margin_bounds, robust_logits, worst_margin
from bench.data.registry import stack

# The bounds that verify a model whose method has no certificate of its own (standard training), per ball
UNCERTIFIED = {"linf": ("ibp",), "l2": ("bcp",)}


def own_certifiers(method, norm: str) -> tuple[str, ...]:
    """The bounds a method's models are verified with during training: its own, else ``UNCERTIFIED[norm]``."""
    return tuple(getattr(method, "certifiers", UNCERTIFIED[norm]))


def test_metrics(model: nn.Module, dataset, eps: float, certifiers: tuple[str, ...], skip: int = 1,
                 batch_size: int = 256, norm: str = "linf", generator: torch.Generator | None = None) -> dict:
    """On every ``skip``-th point of ``dataset``: clean accuracy and cross-entropy, verified accuracy (correct
    and verified by some certifier), and the certified loss, the cross-entropy of the robust logits from the
    largest of the certifiers' lower bounds on each margin (thesis eq. 3.3.14). Accuracies in percent.

    Runs in eval mode (BatchNorm with running statistics) and restores the model's mode afterwards.
    """
    was_training, device = model.training, next(model.parameters()).device
    model.eval()
    indices = list(range(0, len(dataset), skip))
    correct = verified = 0
    clean_loss = certified_loss = 0.0
    net = BoundedNet(model)
    for start in range(0, len(indices), batch_size):
        x, y = (t.to(device) for t in stack(dataset, indices[start:start + batch_size]))
        with torch.no_grad():
            logits = model(x)
            bounds = torch.stack([margin_bounds(net, x, y, eps, name, norm, generator=generator)
                                  for name in certifiers])
            ok = logits.argmax(1) == y
            correct += int(ok.sum())
            verified += int((ok & (torch.stack([worst_margin(m, y) for m in bounds]).amax(0) > 0)).sum())
            margins = bounds.amax(0)
            clean_loss += float(F.cross_entropy(logits, y, reduction="sum"))
            certified_loss += float(F.cross_entropy(robust_logits(margins), y, reduction="sum"))
    model.train(was_training)
    n = len(indices)
    return {"clean_accuracy": 100.0 * correct / n, "clean_loss": clean_loss / n,
            "verified_accuracy": 100.0 * verified / n, "certified_loss": certified_loss / n}


def verified_error(model: nn.Module, dataset, eps: float, certifiers: tuple[str, ...], skip: int = 1,
                   batch_size: int = 256, norm: str = "linf", generator: torch.Generator | None = None) -> float:
    """Percent of every ``skip``-th point of ``dataset`` that is misclassified or that no certifier verifies."""
    return 100.0 - test_metrics(model, dataset, eps, certifiers, skip, batch_size, norm, generator)["verified_accuracy"]
