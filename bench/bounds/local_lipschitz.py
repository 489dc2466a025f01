"""Local Lipschitz bounds (Huang et al. 2021, "Training certifiably robust neural networks with efficient local
Lipschitz bounds", sec. 3): the l2 Lipschitz constant of a ReLU net on one input's ball, with the rows and
columns of each weight matrix removed where the ReLU is constant on the whole ball.

On the ball, the Jacobian of the penultimate layer is a product of Lambda_k A_k, with A_k the affine layers and
Lambda_k the ReLU derivatives (in [0, 1]). A ReLU whose input's upper bound over the ball is <= 0 has derivative
0 everywhere there, so Lambda_k = Lambda_k D_k with D_k the 0/1 mask of the ReLUs that may be active, and

    L_local(x) = prod_k || D_k A_k D_{k-1} ||_2   (Huang et al. eq. 6, their "reduced" matrices)

bounds the Lipschitz constant on the ball (it is convex: the net is Lipschitz along every segment). Masks cross
per-channel affine layers (Normalize, BatchNorm: diagonal, so D S = S D) and Flatten; any other layer between
an affine layer and its ReLU leaves that side unmasked. The masks come from BCP's boxes (the box of each ReLU's
input), as in their Local-Lip-B. The suite's nets use the plain ReLU, so only inactive neurons are removed; their
best models also clip ReLUs at a learned threshold (removing saturated ones), which the suite does not build.

Two norms of the reduced matrices:
- ``masked_power_norm``: training (their sec. 3.3): power steps per input from the layer's global power vector
  (the one BCP's ``power_iteration_norm`` keeps), differentiable in the weights. They keep one vector per training
  image across epochs; the warm start from the global vector stands in for it here.
- ``masked_exact_norm``: certificates. The layer as a dense matrix, masked per input, exact largest singular value
  (float64 SVD). A layer larger than ``dense_limit`` entries gets its global ``spectral_upper_bound`` instead,
  still sound (removing rows and columns never increases the norm), but not local: at CIFAR scale only the fully
  connected layers are then local.
"""
from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn

from bench.bounds.layers import Normalize
from bench.bounds.liplt import LinearMap, dense_product
from bench.bounds.lipschitz import POWER_VECTOR, _adjoint, _forward, spectral_upper_bound
from bench.bounds.network import Ball, BoundedNet

DENSE_LIMIT = 1 << 24  # entries of a layer's dense matrix (128 MiB in float64) above which it is not masked
MEMORY_BYTES = 1 << 28  # per chunk of masked matrices in ``masked_exact_norm``
AFFINE = (nn.Linear, nn.Conv2d)
DIAGONAL = (Normalize, nn.modules.batchnorm._BatchNorm, nn.Flatten)  # masks pass through these

MaskedNorm = Callable[[nn.Module, tuple, torch.Tensor | None, torch.Tensor | None], torch.Tensor]


def relu_masks(net: BoundedNet, boxes: list) -> dict[int, torch.Tensor]:
    """For each ReLU layer i: a float 0/1 mask (batch, *shape) of the neurons that may be active on the ball,
    those whose input's upper bound (the box of layer i - 1's output) is positive."""
    return {i: (boxes[i - 1][1] > 0).to(boxes[i - 1][1].dtype) for i in net.relus if 0 < i <= len(boxes)}


def _neighbour_relu(net: BoundedNet, k: int, step: int) -> int | None:
    """The ReLU reached from layer k through only diagonal layers, backwards (step -1) or forwards (step 1)."""
    i = k + step
    while 0 <= i < len(net.layers) - 1 and isinstance(net.layers[i], DIAGONAL):
        i += step
    return i if 0 <= i < len(net.layers) - 1 and isinstance(net.layers[i], nn.ReLU) else None


def layer_masks(net: BoundedNet, masks: dict[int, torch.Tensor], k: int, out_shape: tuple):
    """(in_mask, out_mask) of affine layer k, shaped like its input and output, or None where unmasked."""
    before, after = _neighbour_relu(net, k, -1), _neighbour_relu(net, k, 1)
    batch = next(iter(masks.values())).shape[0] if masks else 0
    in_mask = masks[before].reshape(batch, *net.in_shapes[k]) if before in masks else None
    out_mask = masks[after].reshape(batch, *out_shape) if after in masks else None
    return in_mask, out_mask


def _masked(v: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    return v if mask is None else v * mask


def _per_sample_unit(v: torch.Tensor) -> torch.Tensor:
    return v / v.flatten(1).norm(dim=1).clamp_min(1e-30).view(-1, *[1] * (v.dim() - 1))


def masked_power_norm(iterations: int = 2) -> MaskedNorm:
    """Training-time ||D_out A D_in|| per input: ``iterations`` power steps on the reduced operator from the
    layer's global power vector, then ||D_out A D_in v|| for the unit v (a lower bound that converges to the
    norm), differentiable in the weights."""
    def norm(layer, shape, in_mask, out_mask):
        weight, batch = layer.weight, len(in_mask if in_mask is not None else out_mask)
        start = getattr(layer, POWER_VECTOR, None)
        if start is None or tuple(start.shape[1:]) != tuple(shape):
            start = torch.randn((1, *shape), generator=torch.Generator(weight.device).manual_seed(0),
                                device=weight.device, dtype=weight.dtype)
        v = _per_sample_unit(_masked(start.expand(batch, *shape), in_mask))
        with torch.no_grad():
            for _ in range(iterations):
                u = _masked(_forward(layer, weight.detach(), v), out_mask)
                v = _per_sample_unit(_masked(_adjoint(layer, weight.detach(), u, v.shape), in_mask))
        return _masked(_forward(layer, weight, v), out_mask).flatten(1).norm(dim=1)
    return norm


def masked_exact_norm(dense_limit: int = DENSE_LIMIT, memory_bytes: int = MEMORY_BYTES) -> MaskedNorm:
    """Certified ||D_out A D_in|| per input: the exact largest singular value of the masked dense matrix, or the
    layer's global ``spectral_upper_bound`` when the matrix has more than ``dense_limit`` entries."""
    def norm(layer, shape, in_mask, out_mask):
        batch = len(in_mask if in_mask is not None else out_mask)
        device, linear = layer.weight.device, LinearMap([layer], shape)
        entries = math.prod(shape) * math.prod(linear.shapes[-1])
        if entries > dense_limit:
            return spectral_upper_bound(layer, shape).to(device).expand(batch)
        matrix = dense_product([linear])
        rows = torch.ones(batch, matrix.shape[0], dtype=torch.float64, device=device) if out_mask is None \
            else out_mask.flatten(1).double()
        cols = torch.ones(batch, matrix.shape[1], dtype=torch.float64, device=device) if in_mask is None \
            else in_mask.flatten(1).double()
        chunk = max(1, memory_bytes // (8 * entries))
        norms = [torch.linalg.matrix_norm(matrix * r[:, :, None] * c[:, None, :], ord=2)
                 for r, c in zip(rows.split(chunk), cols.split(chunk))]
        return torch.cat(norms)
    return norm


def local_radius(net: BoundedNet, ball: Ball, layer_norm, masked_norm: MaskedNorm) -> Callable:
    """The function BCP calls with the layers' boxes: rho_local = eps_2 prod_k L_k(x), the reduced norm of every
    affine layer but the last and ``layer_norm`` (global) of the others."""
    def radius(boxes: list) -> torch.Tensor:
        masks = relu_masks(net, boxes)
        rho = torch.as_tensor(ball.l2_radius(), dtype=ball.x.dtype, device=ball.x.device).expand(len(ball.x))
        for k, layer in enumerate(net.layers[:-1]):
            shape = net.in_shapes[k]
            in_mask, out_mask = layer_masks(net, masks, k, tuple(boxes[k][0].shape[1:]))
            if isinstance(layer, AFFINE) and (in_mask is not None or out_mask is not None):
                rho = rho * masked_norm(layer, shape, in_mask, out_mask).to(rho.dtype)
            else:
                rho = rho * layer_norm(k, layer, shape).to(rho.dtype)
        return rho
    return radius
