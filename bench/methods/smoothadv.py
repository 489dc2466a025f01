"""SmoothAdv (Salman et al., NeurIPS 2019): adversarial training of the smoothed classifier.

Each step attacks the soft smoothed classifier with SmoothAdv-PGD (``bench.attacks.smoothed_pgd_l2``) using
m noise draws per input, then trains the base classifier on the adversarial input plus the same m draws
(their "multi-noise" training, sec. 4 / app. A): cross-entropy averaged over the m noisy copies. The attack
radius rises linearly to ``eps`` over the first ``warmup_epochs`` epochs, as in their code.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch.nn.functional as F

from bench.attacks import smoothed_pgd_l2
from bench.methods.noise import gaussian_noise, noisy, require_sigma


@dataclass(frozen=True)
class SmoothAdv:
    eps: float = 0.25        # l2 radius of the attack
    steps: int = 1           # PGD steps (step size 2 eps / steps)
    m: int = 1               # noise draws per input, shared by the attack and the loss
    warmup_epochs: int = 10  # epochs of linear eps ramp-up
    family = "smoothing"

    def attack_eps(self, epoch: int) -> float:
        if self.warmup_epochs <= 0:
            return self.eps
        return min(self.eps, (epoch + 1) * self.eps / self.warmup_epochs)

    def loss(self, model, x, y, ctx):
        sigma = require_sigma("smoothadv", ctx)
        noise = gaussian_noise(x, sigma, self.m, ctx.generator)
        x_adv = smoothed_pgd_l2(model, x, y, noise, self.attack_eps(ctx.epoch), self.steps)
        return F.cross_entropy(model(noisy(x_adv, noise)), y.repeat_interleave(self.m))
