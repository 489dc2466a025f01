"""Bound propagation for sequential ReLU networks over l_inf / l2 balls: one entry point, ``margin_bounds``.

Every bound returns lower bounds on the margins z_y - z_m (m = 0..c-1; the y entry is 0) over the ball, so
a point is certified when all margins but y's are positive. Bounds differ in where the ReLU input bounds
come from ("ibp": interval propagation; "backward": a CROWN pass per layer) and in the lower slope of
unstable ReLUs in the final backward pass (thesis sec. 3.3.1, 3.3.3, app. C.3, C.8):

  ibp         intervals only                                   (Gowal et al. 2018)
  crown_ibp   ibp intermediates, slope 1[u + l > 0]            (Zhang et al. 2020)
  cap_ibp     ibp intermediates, slope u/(u - l)               (thesis app. C.12)
  zero_ibp    ibp intermediates, slope 0
  random_ibp  ibp intermediates, slope ~ U[0, 1]               ("RANDOM", thesis fig. 3.10)
  ours        ibp intermediates, one projected sign-gradient step on the slope from U[0, 1] (eq. 3.3.24)
  ours_7step  seven steps of size 0.1 (app. C.8, eq. C.8.7)
  lipschitz   clean margins minus 2 L eps, L a product of per-layer l_inf operator norms (SaC, sac sec. 4)
  lipschitz_l2  clean margins minus sqrt(2) L eps, L a product of per-layer l2 norms   (LMT, Tsuzuku et al. 2018)
  bcp         ball and box propagated together, margin over their intersection (BCP, thesis sec. 3.2)
  local_bcp   bcp with the penultimate ball's radius from local Lipschitz bounds   (Huang et al. 2021)
  liplt       clean margins minus L_ym eps, L_ym LipLT's bound for z_y - z_m   (crm eqs. 5 and 19)
  pairwise_naive  the same with the naive product ||W_y - W_m|| prod_k ||W_k|| (GloRo's K_ym, Leino et al. 2021)
  crown       backward intermediates, slope 1[u + l > 0] everywhere   (Zhang et al. 2018)
  cap         backward intermediates, slope u/(u - l) everywhere      (Wong & Kolter 2018, exact dual,
              without CAP's random projections)

CAP's training loss may estimate the intermediates instead, from random projections (Wong et al. 2018):
BoundSpec(intermediate="projection", slope="chord", projections=k). That is an estimate, not a bound, so it has no
name here and no certifier can use it.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from bench.bounds.bcp import bcp_margins, global_lipschitz_margins, sound_norm
from bench.bounds.ibp import ibp_margins, interval_bounds
from bench.bounds.layers import UnsupportedLayer
from bench.bounds.liplt import liplt_margins
from bench.bounds.lipschitz import lipschitz_margins
from bench.bounds.local_lipschitz import local_radius, masked_exact_norm
from bench.bounds.linear import MEMORY_BUDGET, backward_lower, backward_pre_bounds, bernoulli_rule, rule_slopes
from bench.bounds.network import Ball, BoundedNet, margin_spec, other_classes, worst_margin
from bench.bounds.projection import projected_pre_bounds
from bench.models import Residual

__all__ = ["BOUNDS", "Ball", "applies", "BoundedNet", "BoundSpec", "UnsupportedLayer", "margin_bounds", "margin_spec",
           "interval_bounds", "relu_input_bounds", "robust_logits", "worst_margin"]


@dataclass(frozen=True)
class BoundSpec:
    intermediate: str = "ibp"  # "ibp", "backward", "lipschitz" / "lipschitz_l2" (a global constant), "bcp",
    #                            "local_bcp", "projection" (estimated, CAP training)
    slope: str | tuple | None = None   # final lower-slope rule; None = IBP only; ("pq", p, q) = Bernoulli
    steps: int = 0                     # projected sign-gradient steps on the slope (OURS)
    step_size: float = 1.0
    projections: int = 50              # directions per source for intermediate "projection"


BOUNDS: dict[str, BoundSpec] = {
    "ibp": BoundSpec(),
    "crown_ibp": BoundSpec(slope="crown"),
    "cap_ibp": BoundSpec(slope="chord"),
    "zero_ibp": BoundSpec(slope="zero"),
    "random_ibp": BoundSpec(slope="uniform"),
    "ours": BoundSpec(slope="uniform", steps=1, step_size=1.0),
    "ours_7step": BoundSpec(slope="uniform", steps=7, step_size=0.1),
    "lipschitz": BoundSpec(intermediate="lipschitz"),
    "lipschitz_l2": BoundSpec(intermediate="lipschitz_l2"),
    "bcp": BoundSpec(intermediate="bcp"),
    "local_bcp": BoundSpec(intermediate="local_bcp"),
    "liplt": BoundSpec(intermediate="liplt"),
    "pairwise_naive": BoundSpec(intermediate="pairwise_naive"),
    "crown": BoundSpec(intermediate="backward", slope="crown"),
    "cap": BoundSpec(intermediate="backward", slope="chord"),
}


def applies(model: nn.Module | BoundedNet, bound: str) -> bool:
    """Whether ``bound`` can bound ``model``: linear (CROWN-family) bounds and LipLT are not built for residual
    blocks."""
    net = model if isinstance(model, BoundedNet) else BoundedNet(model)
    linear = BOUNDS[bound].slope is not None or \
        BOUNDS[bound].intermediate in ("backward", "projection", "liplt", "pairwise_naive")
    return not (linear and any(isinstance(layer, Residual) for layer in net.layers))


def robust_logits(margins: torch.Tensor) -> torch.Tensor:
    """Logits whose cross-entropy upper-bounds the worst-case loss: -margins (thesis eq. 3.3.14)."""
    return -margins


def _prepared(model: nn.Module | BoundedNet, x: torch.Tensor) -> BoundedNet:
    """``model`` as a BoundedNet ready for ``x``: the clean pass BatchNorm in training mode needs, else the
    shapes left for the interval pass to record."""
    net = model if isinstance(model, BoundedNet) else BoundedNet(model)
    if net.needs_record():
        net.record(x)
    else:
        net.in_shapes = []
    return net


def _with_own_class(margins: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Margin bounds of the classes m != y (``other_classes`` order) with y's exact 0 put back in its column."""
    classes = margins.shape[1] + 1
    return margins.new_zeros(len(y), classes).scatter(1, other_classes(y, classes), margins)


def _slope_rule(slope):
    return bernoulli_rule(slope[1], slope[2]) if isinstance(slope, tuple) else slope


def margin_bounds(model: nn.Module | BoundedNet, x: torch.Tensor, y: torch.Tensor, eps, bound: str | BoundSpec,
                  norm: str = "linf", num_classes: int | None = None, generator: torch.Generator | None = None,
                  with_ibp: bool = False, memory_budget: int = MEMORY_BUDGET):
    """Lower bounds (batch, classes) on z_y - z_m over the ball around ``x``; differentiable in the weights.

    With ``with_ibp`` also returns the IBP margins computed on the way (CROWN-IBP's beta mixing needs both).
    ``memory_budget`` (bytes) sizes the chunks of CROWN / CAP's intermediate-layer passes; it never changes
    the bounds.
    """
    spec_of = BOUNDS[bound] if isinstance(bound, str) else bound
    net = _prepared(model, x)
    if num_classes is None:
        num_classes = net.layers[-1].out_features if isinstance(net.layers[-1], nn.Linear) else net.record(x).shape[-1]
    spec = margin_spec(y, num_classes, x.dtype)
    ball = Ball(x, eps, norm)
    if spec_of.intermediate in ("lipschitz", "lipschitz_l2", "bcp", "local_bcp", "liplt", "pairwise_naive"):
        if spec_of.intermediate == "bcp":
            margins = bcp_margins(net, ball, spec)
        elif spec_of.intermediate == "local_bcp":
            margins = bcp_margins(net, ball, spec, local_radius=local_radius(net, ball, sound_norm(net),
                                                                            masked_exact_norm()))
        elif spec_of.intermediate in ("liplt", "pairwise_naive"):
            margins = liplt_margins(net.model, x, y, spec, ball.l2_radius(),
                                    "liplt" if spec_of.intermediate == "liplt" else "naive")
        elif spec_of.intermediate == "lipschitz":
            margins = lipschitz_margins(net, x, spec, eps)
        else:
            margins = global_lipschitz_margins(net, x, spec, ball.l2_radius())
        return (margins, margins) if with_ibp else margins
    ibp, pre = ibp_margins(net, ball, spec)
    if spec_of.slope is None:
        return (ibp, ibp) if with_ibp else ibp
    if spec_of.intermediate == "backward":
        pre = backward_pre_bounds(net, ball, _slope_rule(spec_of.slope), generator, memory_budget)
    elif spec_of.intermediate == "projection":
        pre = projected_pre_bounds(net, ball, spec_of.projections, generator)
    slopes = rule_slopes(net, pre, _slope_rule(spec_of.slope), generator)
    others = other_classes(y, num_classes)  # the zero row y left out of the backward passes
    spec = spec.gather(1, others.unsqueeze(-1).expand(-1, -1, num_classes))
    if spec_of.steps:
        slopes = optimize_slopes(net, ball, spec, y, pre, slopes, spec_of.steps, spec_of.step_size)
    margins = _with_own_class(backward_lower(net, spec, len(net.layers), pre, slopes, ball), y)
    return (margins, ibp) if with_ibp else margins


def relu_input_bounds(model: nn.Module | BoundedNet, x: torch.Tensor, eps, bound: str, norm: str = "linf",
                      generator: torch.Generator | None = None,
                      memory_budget: int = MEMORY_BUDGET) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(lower, upper) input bounds of every ReLU layer, from the intermediate bounds ``bound`` uses: intervals,
    or a backward pass per layer (CROWN, CAP). Thesis app. C.6-C.8 count ReLU states with them."""
    spec_of, net = BOUNDS[bound], _prepared(model, x)
    ball = Ball(x, eps, norm)
    pre = interval_bounds(net, ball)[0]  # also records the layer shapes a backward pass needs
    if spec_of.intermediate == "backward":
        pre = backward_pre_bounds(net, ball, _slope_rule(spec_of.slope), generator, memory_budget)
    return [pre[i] for i in net.relus]


def optimize_slopes(net, ball, spec, y, pre, slopes, steps, step_size):
    """a <- Proj_[0,1](a - step * sign(grad_a CE(-margins(a), y))), thesis eq. 3.3.24 / C.8.7; ``spec`` holds the
    rows m != y of C(y).

    The search runs on detached bounds; the returned slopes are constants for the training gradient.
    """
    pre = {i: (lo.detach(), up.detach()) for i, (lo, up) in pre.items()}
    with torch.enable_grad():
        for _ in range(steps):
            slopes = {i: a.detach().requires_grad_() for i, a in slopes.items()}
            others = backward_lower(net, spec.detach(), len(net.layers), pre, slopes, _detached(ball))
            margins = _with_own_class(others, y)
            loss = F.cross_entropy(robust_logits(margins), y, reduction="sum")
            grads = torch.autograd.grad(loss, list(slopes.values()))
            slopes = {i: (a - step_size * g.sign()).clamp(0, 1).detach() for (i, a), g in zip(slopes.items(), grads)}
    return slopes


def _detached(ball: Ball) -> Ball:
    return Ball(ball.x.detach(), ball.eps, ball.norm, ball.domain)
