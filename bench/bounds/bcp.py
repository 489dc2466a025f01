"""Box Constraint Propagation (BCP, thesis sec. 3.2.1, Algorithm 1) and the global Lipschitz margin (LMT).

BCP carries two outer bounds of the perturbed activations through the layers of a sequential ReLU net:

- the *ball* B2(z^(k), rho^(k)): the clean activations z^(k) with rho^(k) = eps * prod_{i <= k} L^(i), L^(i) the
  l2 Lipschitz constant of layer i;
- the *box* midrad(m^(k), r^(k)): after each affine layer, the intersection of the box circumscribing the
  image of the previous ball (eq. 3.2.6: centre h(z), radius ||W_i,:||_2 rho) and the interval image of the
  previous box (eq. 3.2.7). Eq. 3.2.8 as printed takes the max of the upper ends, i.e. the union; the text
  and Figure 3.1 intersect the two boxes, which is what is sound and tight, and what is done here.

The margin z_y - z_m is then bounded over ball ∩ box at the penultimate layer (eq. 3.2.10-3.2.11), solved by
``solve_ball_box`` (Algorithm 1's while loop). The returned bound is the Lagrangian dual of eq. 3.2.11 at the
multiplier the solver reached: equal to c^T p at convergence (strong duality, Proposition 3.2.1), and a valid
lower bound after any number of iterations (weak duality), so a truncated solve in training never overstates
a margin.

For an l_inf ball of radius eps the input ball is B2(x, sqrt(N) eps), circumscribing it (thesis, "Extension to
l_p-norm"), and the input box is the l_inf ball itself.
"""
from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from bench.bounds.ibp import _first_mixing, l2_first_layer
from bench.bounds.layers import Normalize, _pair, channel_affine, flatten_layers, interval
from bench.bounds.lipschitz import l2_lipschitz_bound, net_layer_output, power_iteration_norm, residual_norm
from bench.bounds.network import Ball, BoundedNet
from bench.models import Residual

LayerNorm = Callable[[int, nn.Module, tuple], torch.Tensor]  # (index, layer, input shape) -> Lipschitz constant


def sound_norm(net: BoundedNet) -> LayerNorm:
    """Guaranteed per-layer l2 Lipschitz constants (``bench.bounds.lipschitz.l2_lipschitz_bound``): what a
    certificate uses. Training uses power-iteration estimates instead (thesis sec. 3.2.1)."""
    return lambda i, layer, shape: l2_lipschitz_bound(layer, shape, net.batch_stats.get(i))


def _row_norms(layer: nn.Module, in_shape: tuple, batch_stats) -> torch.Tensor | float | None:
    """||W_i,:||_2 of every output i of an affine layer (eq. 3.2.6): a conv's row holds the taps inside the
    image, so its squared norm is conv2d(1, W^2) at that output."""
    if isinstance(layer, nn.Linear):
        return layer.weight.square().sum(1).sqrt()
    if isinstance(layer, nn.Conv2d):
        ones = layer.weight.new_ones((1, *in_shape))
        squared = F.conv2d(ones, layer.weight.square(), None, layer.stride, layer.padding, layer.dilation,
                           layer.groups)
        return squared.clamp(min=0).sqrt()
    if isinstance(layer, (Normalize, nn.modules.batchnorm._BatchNorm)):
        scale = channel_affine(layer, batch_stats)[0].abs()
        return scale.view(-1, 1, 1) if len(in_shape) == 3 else scale
    if isinstance(layer, nn.AvgPool2d):
        kernel = _pair(layer.kernel_size)
        return 1 / math.sqrt(kernel[0] * kernel[1])
    return None  # ReLU, Flatten: the box of the previous layer already bounds them


def _per_point(value: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return value.view(-1, *[1] * (like.dim() - 1))


def _step(layer: nn.Module, z, rho, lower, upper, layer_norm: Callable, batch_stats=None, forward=None):
    """(ball, box) through one layer: the box is the interval image of the box intersected with the box
    circumscribing the image of the ball (eq. 3.2.6-3.2.8), the ball's radius grows by the layer's constant
    ``layer_norm(layer, input shape)``. A residual block takes both paths and adds them (app. B.2.4, eq. B.2.2)."""
    shape = tuple(z.shape[1:])
    if isinstance(layer, Residual):
        paths = []
        for path in (flatten_layers(layer.branch), [layer.shortcut]):
            state = (z, rho, lower, upper)
            for sub in path:
                state = _step(sub, *state, layer_norm)
            paths.append(state)
        return tuple(first + second for first, second in zip(*paths))
    lower, upper = interval(layer, lower, upper, batch_stats)
    rows = _row_norms(layer, shape, batch_stats)
    z_next = (forward or layer)(z)
    if rows is not None:  # the box circumscribing the image of the ball, eq. 3.2.6
        radius = rows * _per_point(rho, z_next)
        lower, upper = torch.maximum(lower, z_next - radius), torch.minimum(upper, z_next + radius)
    return z_next, rho * layer_norm(layer, shape).to(z.dtype), lower, upper


def ball_and_box(net: BoundedNet, ball: Ball, layer_norm: LayerNorm, boxes: list | None = None):
    """Propagate (ball, box) through every layer but the last (thesis eqs. 3.2.6-3.2.8, and B.2.2 through a
    residual block).

    Returns (z, rho, lower, upper): the penultimate clean activations, the ball radius per point, and the box.
    ``boxes``, when given, receives each layer's output box (lower, upper) in order."""
    x = ball.x
    rho = torch.as_tensor(ball.l2_radius(), dtype=x.dtype, device=x.device)
    rho = rho.expand(len(x)) if rho.dim() == 0 else rho
    lower, upper = ball.box()
    z = x
    first = _first_mixing(net) if ball.norm == "l2" else None
    shapes = {}
    for i, layer in enumerate(net.layers[:-1]):
        shapes[i] = tuple(z.shape[1:])
        z, rho, lower, upper = _step(layer, z, rho, lower, upper, lambda sub, shape: layer_norm(i, sub, shape),
                                     net.batch_stats.get(i), lambda h: net_layer_output(net, i, h))
        if i == first:  # the exact range of the first mixing layer over the l2 ball (bench.bounds.ibp)
            ball_lower, ball_upper = l2_first_layer(net, ball, first)
            lower, upper = torch.maximum(lower, ball_lower), torch.minimum(upper, ball_upper)
        if boxes is not None:
            boxes.append((lower, upper))
    shapes[len(net.layers) - 1] = tuple(z.shape[1:])
    net.in_shapes = [shapes[i] for i in range(len(net.layers))]
    return z, rho, lower, upper


def solve_ball_box(c: torch.Tensor, z: torch.Tensor, rho: torch.Tensor, lower: torch.Tensor, upper: torch.Tensor,
                   iterations: int | None = None) -> torch.Tensor:
    """Algorithm 1's while loop for min c^T p s.t. ||p - z||_2 <= rho, lower <= p <= upper (eq. 3.2.11).

    From p = z - rho c / ||c||, repeat: I = {l : p_l on or outside the box}; project p[I] onto the box and scale
    p[I^c] - z[I^c] by eta (eq. 3.2.12) back onto the sphere; stop when p is in the box (at most n steps,
    Proposition 3.2.1) or after ``iterations``. Shapes: c (B, S, n); z, lower, upper (B, 1, n); rho (B, 1, 1).
    Returns p (B, S, n); once I is empty or converged, p_l = clamp(z_l - t c_l) with one t per (B, S)."""
    p = z - rho * c / c.norm(dim=-1, keepdim=True).clamp_min(1e-30)
    fixed = torch.zeros_like(p, dtype=torch.bool)
    for _ in range(c.shape[-1] if iterations is None else iterations):
        outside = (p < lower) | (p > upper)
        if not outside.any():
            break
        fixed = fixed | (p <= lower) | (p >= upper)
        p = torch.where(fixed, p.clamp(lower, upper), p)
        used = ((p - z).square() * fixed).sum(-1, keepdim=True)
        free = ((p - z).square() * ~fixed).sum(-1, keepdim=True).sqrt()
        eta = (rho.square() - used).clamp(min=0).sqrt() / free.clamp_min(1e-30)
        p = torch.where(fixed, p, z + eta * (p - z))
    return p


def ball_box_lower_bound(c: torch.Tensor, z: torch.Tensor, rho: torch.Tensor, lower: torch.Tensor,
                         upper: torch.Tensor, iterations: int | None = None) -> torch.Tensor:
    """A lower bound (B, S) of min c^T p over ball ∩ box, tight when the solver converged.

    Weak duality: for any lambda >= 0, g(lambda) = min over the box of c^T p + lambda (||p - z||^2 - rho^2) is a
    lower bound, attained coordinate-wise at q = clamp(z - t c) with t = 1 / (2 lambda). The solver's p gives t
    on its free coordinates. The result is the largest of g(lambda(t)), g(0) (the box alone: interval
    arithmetic) and the ball alone (c^T z - rho ||c||), each a valid bound; t is a constant for gradients
    (Danskin: the dual's gradient at the optimal multiplier)."""
    with torch.no_grad():
        p = solve_ball_box(c, z, rho, lower, upper, iterations)
        free = ~((p <= lower) | (p >= upper))
        c_free = (c * free).norm(dim=-1, keepdim=True)
        t = ((p - z) * free).norm(dim=-1, keepdim=True) / c_free.clamp_min(1e-30)
        usable = (c_free > 0) & (t > 0)
        t = torch.where(usable, t, torch.ones_like(t))
    q = torch.minimum(torch.maximum(z - t * c, lower), upper)
    dual = (c * q).sum(-1) + ((q - z).square().sum(-1) - rho.squeeze(-1).square()) / (2 * t.squeeze(-1))
    box_only = (c.clamp(min=0) * lower + c.clamp(max=0) * upper).sum(-1)
    ball_only = (c * z).sum(-1) - rho.squeeze(-1) * c.norm(dim=-1)
    dual = torch.where(usable.squeeze(-1), dual, box_only)
    return torch.maximum(torch.maximum(dual, box_only), ball_only)


def bcp_margins(net: BoundedNet, ball: Ball, spec: torch.Tensor, layer_norm: LayerNorm | None = None,
                iterations: int | None = None, local_radius: Callable | None = None) -> torch.Tensor:
    """Lower bounds on the margins spec @ f(x') over the ball (thesis eq. 3.2.10): the last linear layer's
    rows merged with the spec, c = spec W^(K), minimised over ball ∩ box at the penultimate layer.

    ``local_radius(boxes)``, when given, returns a per-point radius of the penultimate ball from the layers'
    boxes (local Lipschitz bounds, ``bench.bounds.local_lipschitz``); the smaller of it and rho is used."""
    last = net.layers[-1]
    if not isinstance(last, nn.Linear):
        raise TypeError(f"BCP needs a network ending in a linear layer, not {type(last).__name__}")
    boxes = [] if local_radius is not None else None
    z, rho, lower, upper = ball_and_box(net, ball, layer_norm or sound_norm(net), boxes)
    if local_radius is not None:
        rho = torch.minimum(rho, local_radius(boxes).to(rho.dtype))
    c = spec @ last.weight
    bound = ball_box_lower_bound(c, z.unsqueeze(1), rho.view(-1, 1, 1), lower.unsqueeze(1), upper.unsqueeze(1),
                                 iterations)
    return bound + (spec @ last.bias if last.bias is not None else 0)


def global_lipschitz_margins(net: BoundedNet, x: torch.Tensor, spec: torch.Tensor, eps,
                             layer_norm: LayerNorm | None = None) -> torch.Tensor:
    """The Lipschitz-margin certificate of LMT (Tsuzuku et al. 2018; thesis eq. 3.1.2 with a ball outer
    bound): z_y(x') - z_m(x') >= z_y(x) - z_m(x) - sqrt(2) L eps over the l2 ball, L = prod_k L^(k) the
    product bound on the whole net's l2 Lipschitz constant (sound per-layer bounds unless ``layer_norm``)."""
    layer_norm = layer_norm or sound_norm(net)
    logits, lipschitz = x, torch.ones((), dtype=x.dtype, device=x.device)
    for i, layer in enumerate(net.layers):
        shape = tuple(logits.shape[1:])
        lipschitz = lipschitz * layer_norm(i, layer, shape).to(x.dtype)
        logits = net_layer_output(net, i, logits)
    margins = torch.einsum("bmc,bc->bm", spec, logits)
    return margins - math.sqrt(2) * lipschitz * eps * (spec.abs().sum(dim=2) > 0)


def power_norm(net: BoundedNet, iterations: int = 1) -> LayerNorm:
    """Training-time per-layer constants (thesis sec. 3.2.1 and app. B.2.2: one power iteration per batch):
    ``power_iteration_norm`` for linear and convolutional layers, the largest |scale| of a per-channel affine
    layer, 1 for ReLU / Flatten; differentiable in the weights. Each layer's power steps run once per returned
    function, however often a bound asks for its constant."""
    estimates = {}

    def power(layer: nn.Module, shape: tuple) -> torch.Tensor:
        if id(layer) not in estimates:
            estimates[id(layer)] = power_iteration_norm(layer, shape, iterations)
        return estimates[id(layer)]

    def norm(i: int, layer: nn.Module, shape: tuple) -> torch.Tensor:
        if isinstance(layer, Residual):
            return residual_norm(layer, shape, lambda sub, sub_shape: norm(i, sub, sub_shape))
        if isinstance(layer, (nn.Linear, nn.Conv2d)):
            return power(layer, shape)
        if isinstance(layer, (Normalize, nn.modules.batchnorm._BatchNorm)):
            return channel_affine(layer, net.batch_stats.get(i))[0].abs().max()
        return l2_lipschitz_bound(layer, shape)
    return norm
