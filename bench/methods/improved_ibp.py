"""Improved IBP (Shi et al. 2021, "Fast certified robust training with short warmup"), the third row of
book table 14.1 and the "IBP (Shi et al., 2021)" rows of sac table 1. IBP training plus:

- IBP initialization: every weight layer but the last is drawn from N(0, 2*pi / n_in^2), n_in its fan-in,
  which keeps the expected interval width from growing layer by layer at initialization;
- BatchNorm after every affine layer, a property of the architecture (CNN-7; ``small_bn`` at smoke scale);
- two warm-up regularizers on the ReLU input intervals [l, u], weighted lambda * (1 - eps_t / eps): at full
  lambda in the eps = 0 epochs, where their code bounds at eps = 1e-6 (its ``min_eps``) so that the
  regularizers have intervals to work on, decaying over the ramp-up and switched off after it:
    L_tightness = mean_layers relu(tau - w_0 / w_i) / tau, w_i the mean half-width at layer i, w_0 at the
                  input of the first affine layer, so bounds may widen at most 1/tau times;
    L_relu      = mean_layers [relu(tau - r_mean) + relu(tau - r_var)] / tau, with r = min(a/b, b/a) of the
                  active (l > 0) and inactive (u < 0) neurons' mean |centre| and centred variance, which
                  keeps neither state from dominating; a layer without a finite ratio adds 0 (as in their
                  code, which still counts it in the mean).
The robust term is the pure IBP cross-entropy (kappa = 0), their recipe's objective.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from bench.bounds import Ball, BoundedNet, margin_spec, robust_logits
from bench.bounds.ibp import ibp_margins, interval_bounds
from bench.methods.schedules import require_eps, scheduled_eps


def ibp_initialize(model: nn.Module) -> None:
    """Shi et al.'s IBP initialization of every Conv2d / Linear weight except the output layer's."""
    affine = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        for layer in affine[:-1]:
            fan_in = layer.weight[0].numel()
            layer.weight.normal_(0.0, math.sqrt(2 * math.pi) / fan_in)


def _balance(active: torch.Tensor, inactive: torch.Tensor, tau: float) -> torch.Tensor:
    """relu(tau - min(a/b, b/a)) / tau, written min(a, b) / max(a, b) so that a zero side gives ratio 0 (the
    largest penalty) with a finite gradient; 0/0 (both sides empty) stays NaN."""
    ratio = torch.minimum(active, inactive) / torch.maximum(active, inactive)
    return F.relu(tau - ratio) / tau


def tightness_loss(width0: torch.Tensor, pre: dict, tau: float) -> torch.Tensor:
    """L_tightness: mean over ReLU layers of relu(tau - w_0 / w_i) / tau."""
    widths = [((upper - lower) / 2).mean().clamp(min=1e-12) for lower, upper in pre.values()]
    terms = [F.relu(tau - width0 / width) / tau for width in widths]
    return torch.stack(terms).mean()


def relu_balance_loss(pre: dict, tau: float) -> torch.Tensor:
    """L_relu: mean over ReLU layers of the active / inactive imbalance of mean |centre| and variance.
    A layer with neither active nor inactive neurons (every ReLU unstable) has no ratio and adds 0."""
    terms = []
    for lower, upper in pre.values():
        centre = (upper + lower) / 2
        active, inactive = (lower > 0).float(), (upper < 0).float()
        spread = (centre - centre.mean()) ** 2
        term = (_balance((centre * active).mean(), -(centre * inactive).mean(), tau)
                + _balance((spread * active).sum(), (spread * inactive).sum(), tau))
        if torch.isfinite(term):
            terms.append(term)
    return torch.stack(terms).sum() / len(pre) if terms else next(iter(pre.values()))[0].new_zeros(())


def warmup_regularizer(net: BoundedNet, ball: Ball, pre: dict, tau: float) -> torch.Tensor:
    """L_tightness + L_relu over the ReLU input intervals ``pre``; w_0 is taken at the input of the first
    affine layer (after the model's input normalization)."""
    first_affine = next(i for i, layer in enumerate(net.layers) if isinstance(layer, (nn.Conv2d, nn.Linear)))
    _, (lower0, upper0) = interval_bounds(net, ball, first_affine)
    return tightness_loss(((upper0 - lower0) / 2).mean(), pre, tau) + relu_balance_loss(pre, tau)


MIN_EPS = 1e-6  # Shi et al.'s code never bounds below this radius (its min_eps), warm-up included


@dataclass(frozen=True)
class ImprovedIBP:
    reg_weight: float = 0.5  # lambda, their default
    tau: float = 0.5         # their default tolerance
    family = "linf"
    certifiers = ("ibp",)

    def initialize(self, model: nn.Module) -> None:
        ibp_initialize(model)

    def loss(self, model, x, y, ctx):
        require_eps("improved_ibp", ctx)
        logits = model(x)  # also updates the BatchNorm running statistics used at test time
        eps_t = max(scheduled_eps(ctx), MIN_EPS)
        net = BoundedNet(model)
        if net.needs_record():
            net.record(x)
        ball = Ball(x, eps_t, ctx.norm)
        margins, pre = ibp_margins(net, ball, margin_spec(y, logits.shape[-1], x.dtype))
        loss = F.cross_entropy(robust_logits(margins), y)
        weight = self.reg_weight * (1 - ctx.ramp)
        return loss + weight * warmup_regularizer(net, ball, pre, self.tau) if weight > 0 else loss
