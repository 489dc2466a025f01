"""MACER (Zhai et al., ICLR 2020): maximise the certified radius of the soft smoothed classifier.

With k noise draws per input, L = CE(log mean_i softmax(f(x + e_i)), y)
                                + lam * sigma / 2 * sum over the hinge set of (gamma - (Phi^-1(p1) - Phi^-1(p2)))
(their eq. 6 / Algorithm 1), divided by the batch size. p1 >= p2 are the two largest entries of the mean of
softmax(beta * f(x + e_i)); the hinge set holds the inputs whose top class is y and whose radius term
Phi^-1(p1) - Phi^-1(p2) is finite and at most gamma: a wrongly classified input adds no radius term.
``deferred_epochs`` > 0 trains without the radius term for that many epochs first, the "deferred" MACER of Jeong
& Shin's reimplementation (their code trains with lambda = 0 until the first learning-rate drop); Zhai et al.
use 0.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch.distributions import Normal

from bench.methods.noise import gaussian_noise, noisy, per_input, require_sigma


@dataclass(frozen=True)
class MACER:
    k: int = 16          # noise draws per input
    gamma: float = 8.0   # hinge threshold
    beta: float = 16.0   # inverse temperature of the soft classifier in the radius term
    lam: float = 12.0    # weight of the radius term
    deferred_epochs: int = 0
    family = "smoothing"

    def radius_hinge(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Per-input hinge gamma - (Phi^-1(p1) - Phi^-1(p2)), zero outside the hinge set. The gap is recomputed
        on the hinge set only, so an infinite Phi^-1(1) elsewhere sends no NaN gradient back (as their code)."""
        soft = F.softmax(self.beta * logits, dim=2).mean(dim=1)
        top, index = soft.topk(2, dim=1)
        standard = Normal(torch.zeros((), device=logits.device), torch.ones((), device=logits.device))
        with torch.no_grad():
            gap = standard.icdf(top[:, 0]) - standard.icdf(top[:, 1])
            inside = (index[:, 0] == y) & torch.isfinite(gap) & (gap <= self.gamma)
        hinge = torch.zeros(len(y), dtype=logits.dtype, device=logits.device)
        kept = top[inside]
        return hinge.masked_scatter(inside, self.gamma - (standard.icdf(kept[:, 0]) - standard.icdf(kept[:, 1])))

    def loss(self, model, x, y, ctx):
        sigma = require_sigma("macer", ctx)
        logits = per_input(model(noisy(x, gaussian_noise(x, sigma, self.k, ctx.generator))), self.k)
        soft = F.softmax(logits, dim=2).mean(dim=1)
        classification = F.nll_loss(torch.log(soft + 1e-10), y, reduction="sum")
        if ctx.epoch < self.deferred_epochs:
            return classification / len(x)
        radius = self.radius_hinge(logits, y).sum() * sigma / 2
        return (classification + self.lam * radius) / len(x)
