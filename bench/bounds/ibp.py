"""Interval bound propagation (Gowal et al. 2018; thesis app. C.2, book sec. 14.2)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from bench.bounds.layers import channel_affine, interval
from bench.bounds.network import Ball, BoundedNet
from bench.models import Normalize


def interval_bounds(net: BoundedNet, ball: Ball, end: int | None = None):
    """Propagate the ball's box through ``net.layers[:end]``; for an l2 ball, the first linear or convolutional
    layer's output is bounded by the dual norm instead (``l2_first_layer``), intersected with the box's bounds.

    Returns (pre, (lower, upper)): ``pre[i]`` holds the input bounds of every ReLU ``i`` passed, and the
    last pair bounds the output of layer ``end - 1``.
    """
    lower, upper = ball.box()
    pre, shapes = {}, net.in_shapes or [None] * len(net.layers)
    first = _first_mixing(net) if ball.norm == "l2" else None
    for i, layer in enumerate(net.layers[:end]):
        shapes[i] = tuple(lower.shape[1:])  # the interval pass doubles as the shape recording
        if i in net.relus:
            pre[i] = (lower, upper)
        lower, upper = interval(layer, lower, upper, net.batch_stats.get(i))
        if i == first:  # both contain the layer's image of the ball: keep the tighter end of each
            ball_lower, ball_upper = l2_first_layer(net, ball, first)
            lower, upper = torch.maximum(lower, ball_lower), torch.minimum(upper, ball_upper)
    if end is not None and end < len(net.layers):
        shapes[end] = tuple(lower.shape[1:])
    net.in_shapes = shapes
    return pre, (lower, upper)


def _first_mixing(net: BoundedNet) -> int | None:
    """Index of the first linear or convolutional layer, if only per-channel affine layers (Normalize, BatchNorm)
    and Flatten come before it."""
    for i, layer in enumerate(net.layers):
        if isinstance(layer, (nn.Linear, nn.Conv2d)):
            return i
        if not isinstance(layer, (Normalize, nn.modules.batchnorm._BatchNorm, nn.Flatten)):
            return None
    return None


def l2_first_layer(net: BoundedNet, ball: Ball, first: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact bounds of layer ``first`` (linear or conv, after per-channel affine layers) over the l2 ball:

        max / min over ||x' - x||_2 <= eps of  w_j . x' + b_j  =  w_j . x + b_j +/- eps ||w_j||_2

    (Cauchy-Schwarz, attained at x' = x +/- eps w_j / ||w_j||_2), with w_j the row of output j of the whole
    affine prefix: the preceding per-channel scales s fold into it (w_j * s). For a convolution the row of
    output position p holds the kernel taps that fall inside the image, so ||w_p||_2^2 = conv2d(s^2, w^2) at p,
    zero padding included. The ball is not intersected with the pixel domain here (the box bounds are, where
    they are intersected with these ones)."""
    center, scale = ball.x, torch.ones_like(ball.x[:1])
    for i, layer in enumerate(net.layers[:first]):
        center = interval(layer, center, center, net.batch_stats.get(i))[0]
        if isinstance(layer, nn.Flatten):
            scale = layer(scale)
        else:
            channel = channel_affine(layer, net.batch_stats.get(i))[0]
            scale = scale * (channel.view(-1, 1, 1) if scale.dim() == 4 else channel)
    layer = net.layers[first]
    center = interval(layer, center, center)[0]
    if isinstance(layer, nn.Linear):
        squared = F.linear(scale.square(), layer.weight.square())
    else:
        squared = F.conv2d(scale.square(), layer.weight.square(), stride=layer.stride, padding=layer.padding,
                           dilation=layer.dilation, groups=layer.groups)
    radius = squared.clamp(min=0).sqrt() * _per_point(ball.eps, center)
    return center - radius, center + radius


def _per_point(eps, like: torch.Tensor):
    """eps as a scalar, or one radius per batch point shaped to broadcast over ``like``."""
    if not torch.is_tensor(eps) or eps.dim() == 0:
        return eps
    return eps.view(-1, *[1] * (like.dim() - 1))


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
