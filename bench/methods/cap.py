"""CAP, the convex adversarial polytope (Wong & Kolter 2018; Wong et al. 2018): the dual network with the
slope u/(u - l) on every ReLU of every layer (thesis sec. 3.3.1), kappa fixed at 0 as in app. C.1.2.

``projections`` = 0 trains on the exact dual (a backward pass per layer, "cap"); k > 0 estimates the
intermediate bounds from k random projections per source as Wong et al. (2018) do (``bench.bounds.projection``),
the thesis' setting (k = 50, app. C). Verification always uses the exact dual.
"""
from dataclasses import dataclass

from bench.bounds import BoundSpec
from bench.methods.schedules import mixed_certified_loss, require_eps


@dataclass(frozen=True)
class CAP:
    projections: int = 0
    family = "linf"
    certifiers = ("cap",)

    def loss(self, model, x, y, ctx):
        require_eps("cap", ctx)
        bound = BoundSpec("projection", "chord", projections=self.projections) if self.projections else "cap"
        return mixed_certified_loss(model, x, y, ctx, bound, (0.0, 0.0), (1.0, 1.0))
