"""CAP, the convex adversarial polytope (Wong & Kolter 2018; Wong et al. 2018): the dual network with the
slope u/(u - l) on every ReLU of every layer (thesis sec. 3.3.1), kappa fixed at 0 as in app. C.1.2.

Our dual is exact (a backward pass per layer); the original approximates it with random projections.
"""
from dataclasses import dataclass

from bench.methods.schedules import mixed_certified_loss, require_eps


@dataclass(frozen=True)
class CAP:
    family = "linf"
    certifiers = ("cap",)

    def loss(self, model, x, y, ctx):
        require_eps("cap", ctx)
        return mixed_certified_loss(model, x, y, ctx, "cap", (0.0, 0.0), (1.0, 1.0))
