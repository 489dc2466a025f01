"""The rotations of layer weights that Duet transfers from a vanilla (guide) model (duet sec. 4.3-4.4).

A layer's weight matrix W (a convolution's kernel reshaped to c_out x (c_in k k), acting on each input patch)
has the SVD U S V^T (duet eq. 4); its *rotation* of rank r is U_r V_r^T = sum_{i <= r} u_i v_i^T (eq. 9),
applied to a layer input h as the same layer with that matrix as its weight (eq. 10: Rota = U V^T h). The joint
sign of a pair (u_i, v_i) cancels, so the rotation is well defined where the singular values are distinct.

- ``guide_layers``: the guide's rotation and operator norm sigma_van for every linear and convolutional layer,
  computed once (Algorithm 1, line 6, done offline as sec. 4.3 says).
- ``rotation_loss``: eq. 11, sum_l || (sigma_cer / sigma_van) Rota_van - (sigma_van / sigma_cer) Rota_cer ||_2
  per input, with the paper's shortcut for the certification model: its rotation is approximated by W / sigma_cer
  (Algorithm 1, lines 7-11: "we approximate its rotation matrix using the spectral norm computed during
  certified robust training"), sigma_cer the training-time power-iteration estimate. Both sigmas are the
  layers' operator norms (the Lipschitz constants the paper multiplies, eq. 3); for a linear layer with a flat
  spectrum W / sigma_cer is exactly U V^T, for a convolution only approximately (its operator norm exceeds
  its kernel matrix's).
- ``rotation_similarities``: what duet Table 1 reports, read here as the cosine between Rota_van h and
  Rota_cer h with both rotations of rank r from exact SVDs, averaged over the inputs h each layer receives in
  the certification model; 1 when the rotations agree on those inputs. The paper gives no formula for its
  percentage: this reading follows eq. 10 (rotations compared through what they do to the layer's input).
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from bench.bounds.lipschitz import _forward, layer_input_shapes, operator_norm


@dataclass(frozen=True)
class GuideLayer:
    rotation: torch.Tensor  # U_r V_r^T of the guide's weight, in the layer's weight shape
    sigma: float            # the guide layer's l2 operator norm (converged power iteration)


def rank_rotation(weight: torch.Tensor, rank: int) -> torch.Tensor:
    """U_r V_r^T of ``weight`` reshaped to a matrix (duet eq. 9), returned in ``weight``'s shape; r is
    ``rank`` or the matrix's smaller side when that is less. SVD in float64."""
    matrix = weight.detach().double().flatten(1)
    u, _, vh = torch.linalg.svd(matrix, full_matrices=False)
    r = min(rank, vh.shape[0])
    return (u[:, :r] @ vh[:r]).to(weight.dtype).view_as(weight)


def guide_layers(guide_state: dict[str, torch.Tensor], model: nn.Module, input_shape: tuple[int, ...],
                 rank: int) -> dict[str, GuideLayer]:
    """Module name -> the guide's rotation and operator norm, for every linear and convolutional layer of
    ``model`` (the certification model; the guide has the same architecture). Raises ``ValueError`` naming a
    layer the guide's ``state_dict`` lacks or holds with another shape."""
    modules = dict(model.named_modules())
    generator = torch.Generator(next(model.parameters()).device).manual_seed(0)
    guide = {}
    for name, shape in layer_input_shapes(model, input_shape).items():
        key, layer = f"{name}.weight", modules[name]
        if key not in guide_state:
            raise ValueError(f"the guide model has no weight '{key}': it must have the certification model's "
                             f"architecture and input normalisation")
        weight = guide_state[key].to(layer.weight)
        if weight.shape != layer.weight.shape:
            raise ValueError(f"the guide's '{key}' has shape {tuple(weight.shape)}, the certification model's "
                             f"{tuple(layer.weight.shape)}: they must have the same architecture")
        guide[name] = GuideLayer(rank_rotation(weight, rank),
                                 operator_norm(layer, shape, weight=weight, generator=generator))
    return guide


@contextmanager
def recording_inputs(model: nn.Module, names):
    """Inside the block, every forward pass of ``model`` stores the input of each module in ``names`` into the
    yielded dict (name -> tensor, the last pass's)."""
    inputs: dict[str, torch.Tensor] = {}
    modules = dict(model.named_modules())

    def hook(name):
        def record(module, args):
            inputs[name] = args[0]
        return record

    handles = [modules[name].register_forward_pre_hook(hook(name)) for name in names]
    try:
        yield inputs
    finally:
        for handle in handles:
            handle.remove()


def rotation_loss(model: nn.Module, inputs: dict[str, torch.Tensor], guide: dict[str, GuideLayer],
                  sigma_cer) -> torch.Tensor:
    """Duet eq. 11 on a batch, averaged over its inputs: for each guided layer, the l2 norm of
    (sigma_cer / sigma_van) U_r V_r^T h - (sigma_van / sigma_cer) (W / sigma_cer) h, h the layer's input;
    ``sigma_cer(name, layer, shape)`` gives the certification layer's (differentiable) norm estimate."""
    modules = dict(model.named_modules())
    total = 0.0
    for name, entry in guide.items():
        layer, h = modules[name], inputs[name]
        sigma = sigma_cer(name, layer, tuple(h.shape[1:]))
        guided = _forward(layer, entry.rotation, h) * (sigma / entry.sigma)
        own = _forward(layer, layer.weight, h) * (entry.sigma / sigma ** 2)
        total = total + (guided - own).flatten(1).norm(dim=1).mean()
    return total


def rotation_similarities(model: nn.Module, guide_state: dict[str, torch.Tensor], batches: list[torch.Tensor],
                          rank: int) -> dict[str, float]:
    """Module name -> mean over every input x of ``batches`` of cos(Rota_van h, Rota_cer h), h the layer's input in
    ``model`` on x, both rotations of rank ``rank`` from exact SVDs, computed once (duet Table 1 as read here; see
    the module doc)."""
    names = list(layer_input_shapes(model, tuple(batches[0].shape[1:])))
    modules = dict(model.named_modules())
    rotations = {name: (rank_rotation(guide_state[f"{name}.weight"].to(modules[name].weight), rank),
                        rank_rotation(modules[name].weight, rank)) for name in names}
    totals, points = dict.fromkeys(names, 0.0), 0
    with torch.no_grad(), recording_inputs(model, names) as inputs:
        for x in batches:
            model(x)
            for name, (van, cer) in rotations.items():
                layer, h = modules[name], inputs[name]
                totals[name] += float(F.cosine_similarity(_forward(layer, van, h).flatten(1),
                                                          _forward(layer, cer, h).flatten(1), dim=1, eps=1e-12).sum())
            points += len(x)
    return {name: total / points for name, total in totals.items()}
