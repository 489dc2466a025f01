"""Per-layer Lipschitz bounds: the l2 operator norm (largest singular value) of each linear and convolutional
layer, by power iteration on the layer as an operator.

A convolution is a linear map of its whole input (Sedghi et al. 2018): its norm depends on the input size,
stride and zero padding, and is not the norm of its kernel reshaped to a matrix (Miyato et al. 2018's
shortcut, which sac sec. 2.1 points out does not bound the layer). Power iteration here alternates the layer
(``F.conv2d``) with its adjoint (``F.conv_transpose2d``) on an input-shaped vector, as Virmaux & Scaman (2018)
do by automatic differentiation. Each estimate ||W v|| (unit v) is a lower bound that converges to the norm,
so power-iteration norms describe layers (sac fig. 1) and drive training (LMT, BCP: ``power_iteration_norm``,
one step per batch) but certify nothing. Certificates use guaranteed upper bounds: ``spectral_upper_bound``
(exact SVD for linear layers, the circular-convolution bound for convolutions) for l2, and the exact l_inf
operator norms of ``linf_operator_norm``. Biases do not change a Lipschitz constant and are ignored.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from bench.bounds.layers import Normalize, _pair, _shape_channel, channel_affine, flatten_layers
from bench.models import Residual

LIPSCHITZ_LAYERS = (nn.Linear, nn.Conv2d)


@dataclass(frozen=True)
class LayerOperatorNorm:
    name: str  # the layer's module name in the model
    kind: str  # "conv" or "linear"
    norm: float  # l2 operator norm (power-iteration estimate)


def _forward(layer: nn.Module, weight: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    if isinstance(layer, nn.Linear):
        return v @ weight.T
    return F.conv2d(v, weight, None, layer.stride, layer.padding, layer.dilation, layer.groups)


def _adjoint(layer: nn.Module, weight: torch.Tensor, u: torch.Tensor, input_shape: tuple[int, ...]) -> torch.Tensor:
    if isinstance(layer, nn.Linear):
        return u @ weight
    # conv_transpose2d is conv2d's adjoint once its output is padded back to the input's size
    guess = F.conv_transpose2d(u, weight, None, layer.stride, layer.padding, 0, layer.groups, layer.dilation)
    extra = [want - got for want, got in zip(input_shape[-2:], guess.shape[-2:])]
    return F.conv_transpose2d(u, weight, None, layer.stride, layer.padding, tuple(extra), layer.groups,
                              layer.dilation)


def operator_norm(layer: nn.Module, input_shape: tuple[int, ...], weight: torch.Tensor | None = None,
                  iterations: int = 100, tol: float = 1e-6, generator: torch.Generator | None = None) -> float:
    """The l2 operator norm of ``layer`` (``nn.Linear`` or ``nn.Conv2d``) acting on inputs of ``input_shape``
    (without the batch dimension), with ``weight`` in place of the layer's own when given (SaC certifies
    s * theta). Power iteration on W^T W from a seeded Gaussian vector for at most ``iterations`` steps,
    stopping when the estimate changes by less than ``tol`` relative."""
    weight = layer.weight.detach() if weight is None else weight.detach()
    if not isinstance(layer, LIPSCHITZ_LAYERS):
        raise TypeError(f"no operator norm for {type(layer).__name__}; supported: Linear, Conv2d")
    with torch.no_grad():
        v = torch.randn((1, *input_shape), generator=generator, device=weight.device, dtype=weight.dtype)
        v = v / v.norm()
        previous = 0.0
        for _ in range(iterations):
            w = _adjoint(layer, weight, _forward(layer, weight, v), v.shape)
            estimate = float(w.norm().sqrt())  # ||W^T W v|| -> sigma_max^2 for unit v
            v = w / w.norm().clamp_min(1e-30)
            if abs(estimate - previous) <= tol * max(estimate, 1e-30):
                break
            previous = estimate
        return float(_forward(layer, weight, v).norm())  # ||W v|| for the unit v: a lower bound, converged


def layer_input_shapes(model: nn.Module, input_shape: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
    """Input shape (without batch) of every linear and convolutional layer of ``model``, by one forward pass."""
    shapes: dict[str, tuple[int, ...]] = {}

    def record(name):
        def hook(module, args):
            shapes.setdefault(name, tuple(args[0].shape[1:]))
        return hook

    hooks = [module.register_forward_pre_hook(record(name))
             for name, module in model.named_modules() if isinstance(module, LIPSCHITZ_LAYERS)]
    parameter = next(model.parameters())
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros((1, *input_shape), device=parameter.device, dtype=parameter.dtype))
    finally:
        model.train(was_training)
        for hook in hooks:
            hook.remove()
    return shapes


def layer_norms(model: nn.Module, input_shape: tuple[int, ...], iterations: int = 100,
                seed: int = 0) -> list[LayerOperatorNorm]:
    """The operator norm of every linear and convolutional layer of ``model`` in forward order (the per-layer
    bounds of sac fig. 1; a parametrized weight, as SaC's s * theta, is measured as the layer uses it), run to
    convergence from seeded vectors so the same weights give the same numbers."""
    generator = torch.Generator(next(model.parameters()).device).manual_seed(seed)
    modules = dict(model.named_modules())
    norms = []
    for name, shape in layer_input_shapes(model, input_shape).items():
        layer = modules[name]
        norm = operator_norm(layer, shape, iterations=iterations, generator=generator)
        norms.append(LayerOperatorNorm(name, "conv" if isinstance(layer, nn.Conv2d) else "linear", norm))
    return norms


def spectral_upper_bound(layer: nn.Module, input_shape: tuple[int, ...]) -> torch.Tensor:
    """A guaranteed upper bound on the l2 operator norm of ``layer`` on inputs of ``input_shape`` (what a
    certificate needs; power iteration only approaches the norm from below).

    Linear: the exact largest singular value (SVD in float64). Conv2d: a stride-s convolution is first written
    as a stride-1 one on the s x s polyphase components of its input (a permutation of the pixels), whose
    kernel holds the taps that land on each component. The norm of that convolution is at most the norm of the
    *circular* one on a grid larger by the kernel's size less one: on that grid the circular convolution of
    the zero-embedded input is the full linear one, of which the zero-padded layer keeps some outputs (a
    restriction). The circular norm is the largest singular value over frequencies of the kernel's 2-D DFT,
    a c_out x (c_in s^2) matrix per frequency (Sedghi et al. 2018)."""
    weight = layer.weight.detach().double()
    if isinstance(layer, nn.Linear):
        return torch.linalg.matrix_norm(weight, ord=2)
    if not isinstance(layer, nn.Conv2d):
        raise TypeError(f"no spectral norm bound for {type(layer).__name__}; supported: Linear, Conv2d")
    dh, dw = layer.dilation
    if (dh, dw) != (1, 1):  # a dilated kernel is an ordinary one with zeros between its taps
        out_channels, in_per_group, kh, kw = weight.shape
        dilated = weight.new_zeros(out_channels, in_per_group, dh * (kh - 1) + 1, dw * (kw - 1) + 1)
        dilated[:, :, ::dh, ::dw] = weight
        weight = dilated
    norms = []
    for group in weight.chunk(layer.groups, dim=0):  # groups act on disjoint channels: the largest block
        kernel, grid = _polyphase(group, layer.stride, layer.padding, input_shape[-2:])
        transfer = torch.fft.fft2(kernel, s=grid).permute(2, 3, 0, 1)  # (freq_h, freq_w, c_out, c_in s^2)
        norms.append(torch.linalg.matrix_norm(transfer, ord=2).max())
    return torch.stack(norms).max()


def _polyphase(weight: torch.Tensor, stride, padding, size) -> tuple[torch.Tensor, tuple[int, int]]:
    """The stride-1 kernel acting on the polyphase components of the input, and the circular grid its norm is
    taken on. Output i reads input s i + a - p through tap a; with a - p = s q + r that is component r at
    offset q, so the new kernel has one input channel per (channel, r_h, r_w) and taps over q."""
    out_channels, in_channels, kh, kw = weight.shape
    (sh, sw), (ph, pw) = stride, padding
    qh = [(a - ph) // sh for a in range(kh)]
    qw = [(a - pw) // sw for a in range(kw)]
    kernel = weight.new_zeros(out_channels, in_channels, sh, sw, max(qh) - min(qh) + 1, max(qw) - min(qw) + 1)
    for a in range(kh):
        for b in range(kw):
            kernel[:, :, (a - ph) % sh, (b - pw) % sw, qh[a] - min(qh), qw[b] - min(qw)] = weight[:, :, a, b]
    kernel = kernel.reshape(out_channels, in_channels * sh * sw, *kernel.shape[-2:])
    grid = (-(-size[0] // sh) + kernel.shape[-2] - 1, -(-size[1] // sw) + kernel.shape[-1] - 1)
    return kernel, grid


def residual_norm(layer: Residual, input_shape: tuple[int, ...] | None, norm_of) -> torch.Tensor:
    """A Lipschitz bound of branch(x) + shortcut(x): the product of ``norm_of(sublayer, its input shape)`` over
    the branch plus ``norm_of(shortcut, input_shape)`` (the triangle inequality). Shapes are None when
    ``input_shape`` is (norms that do not depend on them)."""
    subs = flatten_layers(layer.branch)
    shapes = [input_shape] * len(subs)
    if input_shape is not None:
        shapes, h = [], torch.zeros((1, *input_shape), device=layer.shortcut.weight.device)
        with torch.no_grad():
            for sub in subs:
                shapes.append(tuple(h.shape[1:]))
                h = sub(h)
    return math.prod(norm_of(sub, shape) for sub, shape in zip(subs, shapes)) + norm_of(layer.shortcut, input_shape)


def l2_lipschitz_bound(layer: nn.Module, input_shape: tuple[int, ...], batch_stats=None) -> torch.Tensor:
    """An upper bound on the l2 Lipschitz constant of one layer of a sequential ReLU net: ``spectral_upper_bound``
    for linear and convolutional layers, the largest |scale| of a per-channel affine map (Normalize,
    BatchNorm), 1 for ReLU and Flatten, sqrt(||A||_1 ||A||_inf) for average pooling (exact without
    overlap: 1/k for k x k windows), and ``residual_norm`` of a residual block."""
    if isinstance(layer, Residual):
        return residual_norm(layer, input_shape, l2_lipschitz_bound)
    if isinstance(layer, LIPSCHITZ_LAYERS):
        return spectral_upper_bound(layer, input_shape)
    if isinstance(layer, (Normalize, nn.modules.batchnorm._BatchNorm)):
        return channel_affine(layer, batch_stats)[0].detach().abs().max().double()
    if isinstance(layer, (nn.ReLU, nn.Flatten)):
        return torch.ones((), dtype=torch.float64)
    if isinstance(layer, nn.AvgPool2d):
        kernel = _pair(layer.kernel_size)
        stride = _pair(layer.stride or layer.kernel_size)
        overlap = math.ceil(kernel[0] / stride[0]) * math.ceil(kernel[1] / stride[1])
        return torch.tensor(math.sqrt(overlap / (kernel[0] * kernel[1])), dtype=torch.float64)
    raise TypeError(f"no l2 Lipschitz bound for {type(layer).__name__}")


POWER_VECTOR = "power_vector"


def power_iteration_norm(layer: nn.Module, input_shape: tuple[int, ...], iterations: int = 1) -> torch.Tensor:
    """The training-time estimate of a layer's l2 operator norm (thesis algorithms 2-3, as in spectral
    normalisation): ``iterations`` power steps on W^T W from the layer's vector of the previous call, kept as a
    non-persistent buffer (training state: the engine checkpoints it, the exported model does not hold it),
    then ||W v|| for the unit v, differentiable in W. The first vector is Gaussian from a fixed seed, so runs
    are reproducible without drawing from the global generator."""
    weight = layer.weight
    v = getattr(layer, POWER_VECTOR, None)
    if v is None or tuple(v.shape[1:]) != tuple(input_shape):
        generator = torch.Generator(weight.device).manual_seed(0)
        v = torch.randn((1, *input_shape), generator=generator, device=weight.device, dtype=weight.dtype)
        v = v / v.norm()
    with torch.no_grad():
        for _ in range(iterations):
            w = _adjoint(layer, weight.detach(), _forward(layer, weight.detach(), v), v.shape)
            v = w / w.norm().clamp_min(1e-30)
    layer.register_buffer(POWER_VECTOR, v, persistent=False)
    return _forward(layer, weight, v).norm()


def linf_operator_norm(layer: nn.Module, batch_stats=None) -> torch.Tensor:
    """An upper bound on the l_inf -> l_inf operator norm of one layer (differentiable in its weights): the
    largest absolute row sum of a linear layer, of a convolution's kernel per output channel (exact away from
    the zero padding, which only removes terms), the largest |scale| of a per-channel affine map; 1 for ReLU,
    average pooling and flattening; the sum of a residual block's two paths."""
    if isinstance(layer, Residual):
        return residual_norm(layer, None, lambda sub, shape: linf_operator_norm(sub))
    if isinstance(layer, nn.Linear):
        return layer.weight.abs().sum(dim=1).max()
    if isinstance(layer, nn.Conv2d):
        return layer.weight.abs().flatten(1).sum(dim=1).max()
    if isinstance(layer, (Normalize, nn.modules.batchnorm._BatchNorm)):
        return channel_affine(layer, batch_stats)[0].abs().max()
    if isinstance(layer, (nn.ReLU, nn.AvgPool2d, nn.Flatten)):
        return torch.ones(())
    raise TypeError(f"no l_inf operator norm for {type(layer).__name__}")


def lipschitz_margins(net, x: torch.Tensor, spec: torch.Tensor, eps) -> torch.Tensor:
    """Lower bounds on the margins z_y - z_m over the l_inf ball of radius eps from the clean margins and a global
    Lipschitz bound (the SaC l_inf certificate "based on the output margin", sac sec. 4):

        z_y(x') - z_m(x') >= z_y(x) - z_m(x) - 2 L eps,   L = prod over layers of ||layer||_inf->inf,

    since every logit moves by at most L ||x' - x||_inf. A point is certified when its margin exceeds 2 L eps,
    i.e. margin / (2 L) > eps. An l2 ball of radius eps lies in the l_inf ball of radius eps, so the bound holds
    for it too (loosely). ``net`` is a recorded ``BoundedNet``."""
    logits = x
    lipschitz = torch.ones((), dtype=x.dtype, device=x.device)
    for i, layer in enumerate(net.layers):
        logits = net_layer_output(net, i, logits)
        lipschitz = lipschitz * linf_operator_norm(layer, net.batch_stats.get(i)).to(x.dtype)
    margins = torch.einsum("bmc,bc->bm", spec, logits)
    return margins - 2 * lipschitz * eps * (spec.abs().sum(dim=2) > 0)


def net_layer_output(net, i: int, h: torch.Tensor) -> torch.Tensor:
    """Layer i of a recorded BoundedNet applied to h, BatchNorm in training mode with the clean batch's statistics."""
    layer = net.layers[i]
    if i in net.batch_stats:
        scale, shift = channel_affine(layer, net.batch_stats[i])
        return h * _shape_channel(scale, h.dim() > 2) + _shape_channel(shift, h.dim() > 2)
    return layer(h)
