"""IBP training (Gowal et al. 2018): eq. C.1.1 with the interval bound (beta = 0)."""
from dataclasses import dataclass

from bench.methods.schedules import mixed_certified_loss, require_eps


@dataclass(frozen=True)
class IBP:
    kappa: tuple[float, float] = (1.0, 0.0)
    family = "linf"
    certifiers = ("ibp",)

    def loss(self, model, x, y, ctx):
        require_eps("ibp", ctx)
        return mixed_certified_loss(model, x, y, ctx, "ibp", self.kappa, (0.0, 0.0))
