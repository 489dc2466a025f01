"""Per-layer bound rules for sequential networks (the small table of rules auto_LiRPA keeps per layer).

Each supported layer has two rules:
- ``interval(op, l, u)``: elementwise bounds of the output given elementwise bounds of the input
  (interval bound propagation, thesis eq. C.2.3 and the linear-layer formula below it);
- ``backward(op, A, in_shape)``: given linear coefficients ``A`` on the layer's output, the coefficients on its
  input and the constant it adds, so that ``A @ op(z) == A_in @ z + bias`` (exact for affine layers; ReLU is
  relaxed in ``bench.bounds.linear``).
Shapes: ``A`` is (batch, specs, *out_shape); ``l``/``u`` are (batch, *shape).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from bench.models import Normalize, Residual

DENSE_LIMIT = 1 << 22  # conv layers with in * out entries below this are applied as a dense matrix backward
AFFINE = (nn.Linear, nn.Conv2d, nn.Flatten, nn.BatchNorm2d, nn.BatchNorm1d, nn.AvgPool2d, Normalize)


class UnsupportedLayer(TypeError):
    pass


def flatten_layers(model: nn.Module) -> list[nn.Module]:
    """The layers of a (nested) ``nn.Sequential`` in order; anything but ReLU, AFFINE and a ``Residual`` of
    them (kept as one layer) is refused."""
    layers = []
    for child in (model.children() if isinstance(model, nn.Sequential) else [model]):
        if isinstance(child, nn.Sequential):
            layers += flatten_layers(child)
        elif isinstance(child, Residual):
            if any(isinstance(layer, nn.modules.batchnorm._BatchNorm) or not isinstance(layer, (nn.ReLU, *AFFINE))
                   for layer in [*flatten_layers(child.branch), child.shortcut]):
                raise UnsupportedLayer("a Residual's branch and shortcut may hold ReLU and affine layers without "
                                       "BatchNorm only")
            layers.append(child)
        elif isinstance(child, (nn.ReLU, *AFFINE)):
            layers.append(child)
        else:
            raise UnsupportedLayer(f"bound propagation has no rule for {type(child).__name__}; supported: "
                                   f"ReLU, {', '.join(t.__name__ for t in AFFINE)} in an nn.Sequential")
    return layers


def channel_affine(op: nn.Module, batch_stats: tuple[torch.Tensor, torch.Tensor] | None = None):
    """(scale, shift) per channel of Normalize or BatchNorm (running statistics, or the clean batch's)."""
    if isinstance(op, Normalize):
        scale = 1.0 / op.std.flatten()
        return scale, -op.mean.flatten() * scale
    mean, var = batch_stats if batch_stats is not None else (op.running_mean, op.running_var)
    scale = torch.rsqrt(var + op.eps)
    if op.affine:
        scale = scale * op.weight
        return scale, op.bias - mean * scale
    return scale, -mean * scale


def _shape_channel(v: torch.Tensor, spatial: bool) -> torch.Tensor:
    """A per-channel vector shaped to broadcast over (..., C, H, W) when ``spatial``, else over (..., C)."""
    return v.view(-1, 1, 1) if spatial else v


def _output_padding(in_size: int, out_size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    return in_size - ((out_size - 1) * stride - 2 * padding + dilation * (kernel - 1) + 1)


def _pair(v):
    return v if isinstance(v, tuple) else (v, v)


def interval(op: nn.Module, lower: torch.Tensor, upper: torch.Tensor, batch_stats=None):
    if isinstance(op, (nn.ReLU, nn.Flatten, nn.AvgPool2d)):  # monotone: apply to both ends
        return op(lower), op(upper)
    if isinstance(op, Residual):  # the sum of the two paths' intervals
        branch = (lower, upper)
        for layer in flatten_layers(op.branch):
            branch = interval(layer, *branch)
        skip = interval(op.shortcut, lower, upper)
        return branch[0] + skip[0], branch[1] + skip[1]
    center, radius = (upper + lower) / 2, (upper - lower) / 2
    if isinstance(op, nn.Linear):
        return _center_radius(F.linear(center, op.weight, op.bias), F.linear(radius, op.weight.abs()))
    if isinstance(op, nn.Conv2d):
        conv = dict(stride=op.stride, padding=op.padding, dilation=op.dilation, groups=op.groups)
        return _center_radius(F.conv2d(center, op.weight, op.bias, **conv), F.conv2d(radius, op.weight.abs(), **conv))
    scale, shift = channel_affine(op, batch_stats)
    spatial = center.dim() == 4
    scale, shift = _shape_channel(scale, spatial), _shape_channel(shift, spatial)
    return _center_radius(center * scale + shift, radius * scale.abs())


def linear_part(op: nn.Module, v: torch.Tensor, batch_stats=None) -> torch.Tensor:
    """An affine layer without its bias (or shift) applied to ``v``, in ``v``'s dtype: the linear map that
    directions, differences of inputs and dense bases go through."""
    if isinstance(op, nn.Linear):
        return v @ op.weight.to(v.dtype).T
    if isinstance(op, nn.Conv2d):
        return F.conv2d(v, op.weight.to(v.dtype), None, op.stride, op.padding, op.dilation, op.groups)
    if isinstance(op, (nn.Flatten, nn.AvgPool2d)):
        return op(v)
    if isinstance(op, (Normalize, nn.modules.batchnorm._BatchNorm)):
        return v * _shape_channel(channel_affine(op, batch_stats)[0].to(v.dtype), v.dim() > 2)
    raise UnsupportedLayer(f"{type(op).__name__} is not an affine layer")


def _center_radius(center, radius):
    return center - radius, center + radius


def backward(op: nn.Module, A: torch.Tensor, in_shape: tuple[int, ...], batch_stats=None):
    """(A_in, bias) with ``A @ op(z) = A_in @ z + bias`` for an affine layer ``op``."""
    if isinstance(op, Residual):
        raise UnsupportedLayer("linear (CROWN-family) bounds are not built for residual blocks; interval, BCP "
                               "and Lipschitz bounds are")
    batch, specs = A.shape[:2]
    if isinstance(op, nn.Flatten):
        return A.reshape(batch, specs, *in_shape), A.new_zeros(batch, specs)
    if isinstance(op, nn.Linear):
        bias = A @ op.bias if op.bias is not None else A.new_zeros(batch, specs)
        return A @ op.weight, bias
    if isinstance(op, (nn.Conv2d, nn.AvgPool2d)):
        return _backward_conv(op, A, in_shape)
    scale, shift = channel_affine(op, batch_stats)
    spatial = A.dim() == 5
    bias = ((A.sum((-2, -1)) if spatial else A) * shift).sum(-1)
    return A * _shape_channel(scale, spatial), bias


def _backward_conv(op, A, in_shape):
    batch, specs, channels_out, height, width = A.shape
    if isinstance(op, nn.Conv2d):
        weight, bias, groups = op.weight, op.bias, op.groups
        stride, padding, dilation = op.stride, op.padding, op.dilation
    else:  # average pooling = depthwise convolution with a constant kernel
        if _pair(op.padding) != (0, 0) or op.ceil_mode:
            raise UnsupportedLayer("AvgPool2d with padding or ceil_mode has no bound rule")
        kernel = _pair(op.kernel_size)
        weight = A.new_full((channels_out, 1, *kernel), 1.0 / (kernel[0] * kernel[1]))
        bias, groups = None, channels_out
        stride, padding, dilation = _pair(op.stride or op.kernel_size), (0, 0), (1, 1)
    n_in, n_out = math.prod(in_shape), channels_out * height * width
    if n_in * n_out <= DENSE_LIMIT:  # small layers: one matmul with the layer's dense matrix is much faster
        basis = torch.eye(n_in, dtype=A.dtype, device=A.device).view(n_in, *in_shape)
        dense = F.conv2d(basis, weight, None, stride, padding, dilation, groups).reshape(n_in, n_out)
        A_in = A.reshape(batch, specs, n_out) @ dense.T
    else:
        out_pad = tuple(_output_padding(in_shape[1 + d], A.shape[3 + d], weight.shape[2 + d], stride[d], padding[d],
                                        dilation[d]) for d in range(2))
        flat = A.reshape(batch * specs, channels_out, height, width)
        A_in = F.conv_transpose2d(flat, weight, None, stride, padding, out_pad, groups, dilation)
    const = (A.sum((-2, -1)) @ bias) if bias is not None else A.new_zeros(batch, specs)
    return A_in.reshape(batch, specs, *in_shape), const
