"""Duet (duet sec. 4, Algorithm 1): BCP training of the certification model plus the rotation-similarity loss
of eq. 11 towards a pre-trained vanilla model of the same architecture, the *guide*.

The guide's rotations U_r V_r^T (rank ``rank``, eq. 9) and operator norms are computed once from its weights
(``bench.bounds.rotation.guide_layers``); each step adds ``weight`` x eq. 11 (the paper sums the two losses:
weight 1) to BCP's loss (``bench.methods.bcp``), with the certification layers' norms taken from the same
power iterations BCP's ball uses (Algorithm 1, lines 7-9), so one power step per layer and batch either way.
The similarity term applies from the first step: Algorithm 1 has no schedule for it. The paper does not give
r; ``rank`` 8 is this suite's choice.

``guide`` is the path of the guide's ``model.pt``; the workflow fills it in (by default the protocol's run of
``standard`` training on the same model and dataset at the next seed: ``config/config.yaml`` says how to name a
file of your own instead).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from bench.bounds import BoundedNet
from bench.bounds.bcp import power_norm
from bench.bounds.rotation import GuideLayer, guide_layers, recording_inputs, rotation_loss
from bench.io import load_checkpoint
from bench.methods.bcp import BCP

_GUIDES: dict[tuple, dict[str, GuideLayer]] = {}


def load_guide(path: str, model: torch.nn.Module, input_shape: tuple[int, ...], rank: int) -> dict[str, GuideLayer]:
    """The guide's rotations for ``model``, computed once per process and (path, rank, device, input shape)."""
    if not path or not Path(path).is_file():
        raise FileNotFoundError(f"duet needs its guide, a vanilla model.pt of the same architecture; "
                                f"option guide = {path!r} names no file")
    device = next(model.parameters()).device
    key = (str(Path(path).resolve()), rank, str(device), input_shape)
    if key not in _GUIDES:
        _GUIDES[key] = guide_layers(load_checkpoint(path, device)["state_dict"], model, input_shape, rank)
    return _GUIDES[key]


@dataclass(frozen=True)
class Duet(BCP):
    guide: str = ""
    rank: int = 8
    weight: float = 1.0

    def loss(self, model, x, y, ctx):
        guide = load_guide(self.guide, model, tuple(x.shape[1:]), self.rank)
        net = BoundedNet(model)
        sigma = power_norm(net, self.power_iterations)  # one power step per layer and batch, for both terms
        with recording_inputs(model, guide) as inputs:
            logits = model(x)
        robust = self.bcp_loss(net, x, y, ctx, logits, sigma)
        return robust + self.weight * rotation_loss(model, inputs, guide, sigma)
