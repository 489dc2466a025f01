"""OURS (thesis sec. 3.3.3): CROWN-IBP whose lower ReLU slopes are set by one projected sign-gradient step
on the loss from a ~ U[0, 1] (eq. 3.3.24), or seven steps of size 0.1 (app. C.8, eq. C.8.7)."""
from dataclasses import dataclass

from bench.methods.schedules import mixed_certified_loss, require_eps


@dataclass(frozen=True)
class Ours:
    beta: tuple[float, float] = (1.0, 1.0)
    kappa: tuple[float, float] = (1.0, 0.0)
    bound: str = "ours"  # or "ours_7step"
    family = "linf"

    @property
    def certifiers(self):
        return (self.bound,) if self.beta[1] == 1 else (self.bound, "ibp")

    def loss(self, model, x, y, ctx):
        require_eps("ours", ctx)
        return mixed_certified_loss(model, x, y, ctx, self.bound, self.kappa, self.beta)
