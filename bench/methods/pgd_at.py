"""PGD adversarial training (Madry et al. 2018): cross-entropy on 7-step PGD examples at the scheduled eps."""
from dataclasses import dataclass

import torch.nn.functional as F

from bench.attacks import pgd
from bench.methods.schedules import require_eps, scheduled_eps


@dataclass(frozen=True)
class PGDTraining:
    steps: int = 7
    family = "linf"
    certifiers = ("ibp", "crown_ibp")

    def loss(self, model, x, y, ctx):
        require_eps("pgd", ctx)
        eps_t = scheduled_eps(ctx)
        if eps_t > 0:
            x = pgd(model, x, y, eps_t, self.steps, 2.5 * eps_t / self.steps, ctx.norm, ctx.generator)
        return F.cross_entropy(model(x), y)
