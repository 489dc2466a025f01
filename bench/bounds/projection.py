"""CAP's ReLU input bounds estimated with random projections (Wong et al. 2018, "Scaling provable adversarial
defenses", sec. 3.2), the way the thesis trains CAP (app. C: 50 projections). Training only: an estimate is
not a bound, so verification keeps the exact dual ("cap").

With CAP's relaxation every unstable ReLU is relu(z) in [d z, d z - d l] (d = u/(u - l), the chord's slope for
both sides), i.e. d z + c +- c with c = -d l / 2 >= 0; a stable one is z or 0. The net up to layer k is then
linear in the input and in one free term per unstable ReLU, so the bound on every neuron j of layer k is

    center_j -/+ ( eps ||M_0[j, :]||_* + sum_i sum_m c_{i,m} |M_i[j, m]| )

with center the linearised forward pass of x (each ReLU replaced by d h + c), M_0 the linearised map from the
input and M_i the one from ReLU i's output. The exact dual computes those row norms by pushing an identity
through the net (one pass per neuron); here each is estimated from k random directions pushed forward instead:
for l1 norms (the l_inf ball's dual norm and the ReLU terms) Cauchy directions and the median of |M C| (the
median of |Cauchy(s)| is s), for the l2 ball's input term Gaussian directions and sqrt(mean (M G)^2). The last
layer's margins come from the exact backward pass with the estimated intermediate bounds (``backward_lower``).
"""
from __future__ import annotations

import torch

from bench.bounds.ibp import interval_bounds
from bench.bounds.layers import linear_part
from bench.bounds.linear import MIXING, upper_relaxation
from bench.bounds.lipschitz import net_layer_output
from bench.bounds.network import Ball, BoundedNet


def _directions(batch: int, count: int, shape: tuple, like: torch.Tensor, kind: str, generator) -> torch.Tensor:
    draws = like.new_empty((batch * count, *shape))
    return draws.cauchy_(generator=generator) if kind == "cauchy" else draws.normal_(generator=generator)


def _estimate(t: torch.Tensor, batch: int, kind: str) -> torch.Tensor:
    """Per neuron, the l1 (Cauchy directions: median |.|) or l2 (Gaussian: root mean square) norm of its row."""
    t = t.reshape(batch, -1, *t.shape[1:])
    return t.abs().median(dim=1).values if kind == "cauchy" else t.square().mean(dim=1).sqrt()


def projected_pre_bounds(net: BoundedNet, ball: Ball, projections: int, generator=None) -> dict:
    """Estimated input bounds (lower, upper) of every ReLU, CAP's relaxation, ``projections`` directions per
    source. The first ReLU's bounds are exact (intervals) when one mixing layer precedes it."""
    x, batch = ball.x, len(ball.x)
    first = net.relus[0] if net.relus else None
    exact_first = first is not None and sum(isinstance(l, MIXING) for l in net.layers[:first]) <= 1
    pre = {first: interval_bounds(net, ball, first)[1]} if exact_first else {}
    input_kind = "cauchy" if ball.norm == "linf" else "gaussian"
    center = x
    sources = [(input_kind, ball.eps * _directions(batch, projections, x.shape[1:], x, input_kind, generator))]
    for i in range(len(net.layers) - 1):
        if i in net.relus:
            if i not in pre:
                radius = sum(_estimate(t, batch, kind) for kind, t in sources)
                pre[i] = (center - radius, center + radius)
            lower, upper = pre[i]
            slope = upper_relaxation(lower, upper)[0]
            offset = -slope * lower.clamp(max=0) / 2  # c: zero on stable neurons
            center = slope * center + offset
            per_direction = slope.repeat_interleave(projections, dim=0)
            sources = [(kind, t * per_direction) for kind, t in sources]
            relu_draws = _directions(batch, projections, center.shape[1:], x, "cauchy", generator)
            sources.append(("cauchy", relu_draws * offset.repeat_interleave(projections, dim=0)))
        else:
            center = net_layer_output(net, i, center)
            sources = [(kind, linear_part(net.layers[i], t, net.batch_stats.get(i))) for kind, t in sources]
    return pre
