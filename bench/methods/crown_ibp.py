"""CROWN-IBP (Zhang et al. 2020; thesis eq. 3.3.16 and C.1.1): IBP intermediate bounds, a CROWN backward
pass for the margins, mixed with the IBP margins by beta.

``bound`` selects the lower ReLU slope of the backward pass, which gives the thesis' variants: "crown_ibp"
(1[u + l > 0]), "cap_ibp" (u/(u - l), app. C.12) and the Bernoulli (p, q) slopes of table C.1.
"""
from dataclasses import dataclass

from bench.bounds import BoundSpec
from bench.methods.schedules import mixed_certified_loss, require_eps


@dataclass(frozen=True)
class CrownIBP:
    beta: tuple[float, float] = (1.0, 1.0)
    kappa: tuple[float, float] = (1.0, 0.0)
    bound: str = "crown_ibp"
    pq: tuple[float, float] | None = None  # Bernoulli lower slopes, thesis sec. 3.3.3
    family = "linf"

    @property
    def certifiers(self):
        own = "crown_ibp" if self.pq is not None else self.bound  # a sampled slope is no fixed verifier
        return (own,) if self.beta[1] == 1 else (own, "ibp")

    def loss(self, model, x, y, ctx):
        require_eps("crown_ibp", ctx)
        bound = BoundSpec(slope=("pq", *self.pq)) if self.pq is not None else self.bound
        return mixed_certified_loss(model, x, y, ctx, bound, self.kappa, self.beta)
