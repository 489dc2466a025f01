"""Linear relaxation propagated backward: CROWN (Zhang et al. 2018), CROWN-IBP (Zhang et al. 2020),
CAP (Wong & Kolter 2018) and the relaxations compared in thesis sec. 3.3 and app. C.3.

An unstable ReLU (l < 0 < u) is bounded by
  upper:  h(z) <= u/(u - l) * (z - l)             (the chord; optimal, thesis app. C.3.2)
  lower:  h(z) >= a * z  for any a in [0, 1]      (the "lower slope" the methods differ in)
Stable ReLUs are exact (slope 1 when active, 0 when dead). Backward propagation of coefficients ``A``
picks, per entry, the lower relaxation where A >= 0 and the upper one where A < 0 (app. C.3.1), and the
final linear function is minimised over the ball in closed form (eq. 3.3.15 with the dual norm).
"""
from __future__ import annotations

import math
from typing import Callable

import torch

from torch import nn

from bench.bounds.ibp import interval_bounds
from bench.bounds.layers import backward
from bench.bounds.network import Ball, BoundedNet

MIXING = (nn.Linear, nn.Conv2d, nn.AvgPool2d)  # affine layers that combine several inputs per output
MEMORY_BUDGET = 2 * 2**30  # bytes: intermediate-layer passes run in chunks of neurons sized to fit (spec_chunk)
# Coefficient-sized tensors alive at once in a backward step (A, its +/- parts, A_in, conv temporaries): with 7,
# exact CROWN on Medium at batch 1 (CPU, no grad) peaks at about the budget above the process's baseline.
PASS_OVERHEAD = 7


def concretize(A: torch.Tensor, ball: Ball) -> torch.Tensor:
    """min over the ball of A x' for A of shape (batch, specs, *input_shape)."""
    A = A.flatten(2)
    if ball.norm == "linf":  # A+ l + A- u as A u + A+ (l - u): one fewer coefficient-sized pass (relax_relu)
        lower, upper = (t.flatten(1).unsqueeze(-1) for t in ball.box())
        return (A @ upper + torch.relu(A) @ (lower - upper)).squeeze(-1)
    return (A @ ball.x.flatten(1).unsqueeze(-1)).squeeze(-1) - ball.eps * A.norm(dim=-1)


def upper_relaxation(lower: torch.Tensor, upper: torch.Tensor):
    """Chord slope u+/(u+ - l-) and intercept -slope * l-; exact for stable neurons."""
    pos, neg = upper.clamp(min=0), lower.clamp(max=0)
    slope = pos / (pos - neg).clamp(min=1e-12)
    return slope, -slope * neg


# Lower-slope rules for unstable neurons: (lower, upper, generator) -> slope in [0, 1].
def _crown(lower, upper, generator):  # CROWN / CROWN-IBP: 1[u+ + l- > 0], "adaptive" in CROWN and auto_LiRPA
    return (upper + lower > 0).to(lower.dtype)


def _chord(lower, upper, generator):  # CAP and CAP-IBP: the chord's slope u+/(u+ - l-)
    return upper_relaxation(lower, upper)[0]


def _zero(lower, upper, generator):
    return torch.zeros_like(lower)


def _uniform(lower, upper, generator):  # "RANDOM" of thesis fig. 3.10; also OURS' starting point
    return lower.new_empty(lower.shape).uniform_(generator=generator)


def bernoulli_rule(p: float, q: float) -> Callable:
    """Thesis sec. 3.3.3: a ~ Bernoulli(p) where |l| > |u|, Bernoulli(q) where |l| <= |u|."""
    def rule(lower, upper, generator):
        draw = lower.new_empty(lower.shape).uniform_(generator=generator)
        prob = torch.where(lower.abs() > upper.abs(), torch.full_like(lower, p), torch.full_like(lower, q))
        return (draw < prob).to(lower.dtype)
    return rule


SLOPE_RULES: dict[str, Callable] = {"crown": _crown, "chord": _chord, "zero": _zero, "uniform": _uniform}


def relax_relu(A, lower, upper, lower_slope):
    """Backward step through a ReLU with input bounds [lower, upper]; returns (A_in, bias)."""
    up_slope, up_bias = upper_relaxation(lower, upper)
    low_slope = torch.where(lower >= 0, torch.ones_like(lower),
                            torch.where(upper <= 0, torch.zeros_like(lower), lower_slope))
    # A+ l + A- u written as A u + A+ (l - u), A- = A - A+ exactly, and the upper lines' intercepts summed by a
    # batched product: fewer coefficient-sized passes and temporaries (issue 12: about a third of this step's
    # time; these element-wise passes dominated CROWN-IBP's CPU profile). relu, not clamp: its backward is one
    # pass (half the time of clamp's on a CPU)
    A_pos = torch.relu(A)
    A_in = A * up_slope.unsqueeze(1) + A_pos * (low_slope - up_slope).unsqueeze(1)
    bias = ((A - A_pos).flatten(2) @ up_bias.flatten(1).unsqueeze(-1)).squeeze(-1)
    return A_in, bias


def backward_lower(net: BoundedNet, A: torch.Tensor, end: int, pre: dict, slopes: dict, ball: Ball):
    """Lower bound over the ball of ``A @ (output of net.layers[:end])``.

    ``pre[i]`` are the input bounds and ``slopes[i]`` the lower slopes (a tensor shaped like one input) of
    every ReLU ``i < end``.
    """
    bias = A.new_zeros(A.shape[:2])
    for i in reversed(range(end)):
        if i in net.relus:
            A, const = relax_relu(A, *pre[i], slopes[i])
        else:
            A, const = backward(net.layers[i], A, net.in_shapes[i], net.batch_stats.get(i))
        bias = bias + const
    return concretize(A, ball) + bias


def rule_slopes(net: BoundedNet, pre: dict, rule, generator=None, end: int | None = None) -> dict:
    rule = SLOPE_RULES[rule] if isinstance(rule, str) else rule
    return {i: rule(*pre[i], generator) for i in net.relus if end is None or i < end}


def spec_chunk(batch: int, shapes: list[tuple[int, ...]], element_bytes: int, budget: int) -> int:
    """Neurons per backward pass from a layer such that the coefficients of the pass (batch x 2 chunk specs x the
    widest layer input on the way, ``PASS_OVERHEAD`` copies) fit in ``budget`` bytes; at least one."""
    widest = max(math.prod(shape) for shape in shapes)
    return max(1, budget // (PASS_OVERHEAD * batch * 2 * widest * element_bytes))


def identity_rows(start: int, stop: int, n: int, like: torch.Tensor) -> torch.Tensor:
    """Rows start..stop-1 of the n x n identity, without building the whole (n^2) matrix."""
    rows = torch.zeros(stop - start, n, device=like.device, dtype=like.dtype)
    index = torch.arange(stop - start, device=like.device)
    rows[index, start + index] = 1
    return rows


def backward_pre_bounds(net: BoundedNet, ball: Ball, rule, generator=None, memory_budget: int = MEMORY_BUDGET) -> dict:
    """Input bounds of every ReLU by a backward pass from that layer (CROWN, CAP): tighter than IBP and far
    costlier (two identity specs per neuron). ``rule`` names the lower slope used in every pass. The neurons of
    a layer are bounded in chunks sized to ``memory_budget`` bytes (``spec_chunk``); the bounds do not depend on
    the chunking."""
    pre = {}
    first = net.relus[0] if net.relus else None
    if first is not None and ball.norm == "linf" and sum(isinstance(l, MIXING) for l in net.layers[:first]) <= 1:
        pre[first] = interval_bounds(net, ball, first)[1]  # one mixing affine map of a box: intervals are exact
    for i in net.relus:
        if i in pre:
            continue
        slopes = rule_slopes(net, pre, rule, generator, end=i)
        shape = net.in_shapes[i]
        n = math.prod(shape)
        lower_parts, upper_parts = [], []
        chunk = spec_chunk(ball.x.shape[0], net.in_shapes[:i + 1], ball.x.element_size(), memory_budget)
        for start in range(0, n, chunk):
            eye = identity_rows(start, min(start + chunk, n), n, ball.x)
            spec = torch.cat([eye, -eye]).expand(ball.x.shape[0], -1, -1).reshape(ball.x.shape[0], -1, *shape)
            bound = backward_lower(net, spec, i, pre, slopes, ball)
            lower_parts.append(bound[:, :len(eye)])
            upper_parts.append(-bound[:, len(eye):])
        pre[i] = (torch.cat(lower_parts, 1).reshape(-1, *shape), torch.cat(upper_parts, 1).reshape(-1, *shape))
    return pre
