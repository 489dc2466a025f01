"""CROWN-IBP (beta = 1) plus lambda times the ReLU stability loss of Xiao et al. (2019), thesis app. C.13,
fig. C.11: L + lambda * L_RS with L_RS(u, l) = -tanh(1 + u * l) over the IBP input bounds (l, u) of every
ReLU at eps_t. The thesis does not say how L_RS aggregates its neurons; here it is their mean over the batch
and every ReLU (so lambda does not scale with the width), a choice recorded with the method.
"""
from dataclasses import dataclass

import torch

from bench.bounds import relu_input_bounds
from bench.methods.crown_ibp import CrownIBP
from bench.methods.schedules import scheduled_eps


def relu_stability_loss(bounds: list[tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
    """Mean of -tanh(1 + u * l) over the batch and every ReLU: -tanh(1) ~ -0.76 at l = 0 or u = 0, lower for
    stable ReLUs (u * l > 0), up to 1 for unstable ones far across zero."""
    return torch.cat([(-torch.tanh(1 + lower * upper)).flatten(1) for lower, upper in bounds], 1).mean()


@dataclass(frozen=True)
class CrownIBPStability:
    rs_lambda: float
    family = "linf"
    certifiers = ("crown_ibp",)

    def loss(self, model, x, y, ctx):
        loss = CrownIBP().loss(model, x, y, ctx)
        eps_t = scheduled_eps(ctx)
        if eps_t == 0 or self.rs_lambda == 0:
            return loss
        return loss + self.rs_lambda * relu_stability_loss(relu_input_bounds(model, x, eps_t, "ibp", ctx.norm))
