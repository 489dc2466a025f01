"""Interval bound propagation (Gowal et al. 2018; thesis app. C.2, book sec. 14.2)."""
from __future__ import annotations

import torch
from torch import nn

from bench.bounds.layers import interval
from bench.bounds.network import Ball, BoundedNet


def interval_bounds(net: BoundedNet, ball: Ball, end: int | None = None):
    """Propagate the ball's box through ``net.layers[:end]``.

    Returns (pre, (lower, upper)): ``pre[i]`` holds the input bounds of every ReLU ``i`` passed, and the
    last pair bounds the output of layer ``end - 1``.
    """
    lower, upper = ball.box()
    pre, shapes = {}, net.in_shapes or [None] * len(net.layers)
    for i, layer in enumerate(net.layers[:end]):
        shapes[i] = tuple(lower.shape[1:])  # the interval pass doubles as the shape recording
        if i in net.relus:
            pre[i] = (lower, upper)
        lower, upper = interval(layer, lower, upper, net.batch_stats.get(i))
    if end is not None and end < len(net.layers):
        shapes[end] = tuple(lower.shape[1:])
    net.in_shapes = shapes
    return pre, (lower, upper)


def ibp_margins(net: BoundedNet, ball: Ball, spec: torch.Tensor):
    """Lower bounds of ``spec @ f(x')`` over the ball, with the spec merged into the last linear layer
    (thesis sec. 3.3.1: W^(K) := C(y) W^(K)), which is tighter than applying it to output intervals.

    Returns (margins, pre) where ``pre`` are the ReLU input bounds CROWN-IBP reuses.
    """
    last = net.layers[-1]
    if not isinstance(last, nn.Linear):
        pre, (lower, upper) = interval_bounds(net, ball)
        margins = spec.clamp(min=0) @ lower.unsqueeze(-1) + spec.clamp(max=0) @ upper.unsqueeze(-1)
        return margins.squeeze(-1), pre
    pre, (lower, upper) = interval_bounds(net, ball, len(net.layers) - 1)
    weight = spec @ last.weight  # (batch, specs, features)
    center, radius = (upper + lower).unsqueeze(-1) / 2, (upper - lower).unsqueeze(-1) / 2
    margins = (weight @ center - weight.abs() @ radius).squeeze(-1)
    if last.bias is not None:
        margins = margins + spec @ last.bias
    return margins, pre
