"""Consistency regularization (Jeong & Shin, NeurIPS 2020), their eq. (8) with Gaussian augmentation:

L = (1/m) sum_i CE(f(x + e_i), y) + lam * (1/m) sum_i KL(p_mean || softmax f(x + e_i)) + eta * H(p_mean),

p_mean the mean of the m softmax outputs; each term averaged over the batch.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch.nn.functional as F

from bench.methods.noise import gaussian_noise, noisy, per_input, require_sigma


@dataclass(frozen=True)
class Consistency:
    m: int = 2          # noise draws per input
    lam: float = 10.0   # weight of the KL consistency term
    eta: float = 0.5    # weight of the entropy term
    family = "smoothing"

    def loss(self, model, x, y, ctx):
        sigma = require_sigma("consistency", ctx)
        logits = model(noisy(x, gaussian_noise(x, sigma, self.m, ctx.generator)))
        cross_entropy = F.cross_entropy(logits, y.repeat_interleave(self.m))
        log_soft = per_input(F.log_softmax(logits, dim=1), self.m)
        mean = log_soft.exp().mean(dim=1)
        log_mean = mean.clamp_min(1e-20).log()
        kl = (mean.unsqueeze(1) * (log_mean.unsqueeze(1) - log_soft)).sum(dim=2).mean()
        entropy = -(mean * log_mean).sum(dim=1).mean()
        return cross_entropy + self.lam * kl + self.eta * entropy
