"""The residual network of thesis Tables 3.1-3.2 ("WRN"): the CIFAR-10 ResNet of Wong et al. (2018, "Scaling
provable adversarial defenses"), whose parameter count, 4,214,850, the thesis prints.

Each block is relu(shortcut(x) + conv_b(relu(conv_a(x)))), the shortcut a convolution (1x1, or 2x2 with stride 2
where the block halves the resolution, conv_a then being 4x4 with stride 2): stem C(16,3,1,1); two blocks at
16 channels (``blocks`` + 1), one down to 32, one down to 64 (each followed by ``blocks`` - 1 more); then
F(``hidden``)-F(classes). ``factor`` widens every block. A ``Residual`` is one layer to ``bench.bounds``: BCP
propagates its ball and box through both paths and adds them (thesis app. B.2.4).
"""
from __future__ import annotations

import torch
from torch import nn


class Residual(nn.Module):
    """branch(x) + shortcut(x), with ``branch`` an ``nn.Sequential`` of plain layers and ``shortcut`` one layer."""

    def __init__(self, branch: nn.Sequential, shortcut: nn.Module):
        super().__init__()
        self.branch, self.shortcut = branch, shortcut

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.branch(x) + self.shortcut(x)


def _block(channels_in: int, channels_out: int, downsample: bool) -> list[nn.Module]:
    first, stride, skip = (4, 2, 2) if downsample else (3, 1, 1)
    branch = nn.Sequential(nn.Conv2d(channels_in, channels_out, first, stride, padding=1), nn.ReLU(),
                           nn.Conv2d(channels_out, channels_out, 3, 1, padding=1))
    return [Residual(branch, nn.Conv2d(channels_in, channels_out, skip, stride)), nn.ReLU()]


def wide_resnet(shape: tuple[int, int, int], num_classes: int, blocks: int = 1, factor: int = 1,
                hidden: int = 1000) -> nn.Sequential:
    """Wong et al.'s CIFAR ResNet (their N = ``blocks``, ``factor``) on inputs of ``shape``."""
    widths = (16 * factor, 32 * factor, 64 * factor)
    layers = [nn.Conv2d(shape[0], 16, 3, 1, padding=1), nn.ReLU()]
    layers += _block(16, widths[0], False)
    for _ in range(blocks):
        layers += _block(widths[0], widths[0], False)
    for before, width in zip(widths, widths[1:]):
        layers += _block(before, width, True)
        for _ in range(blocks - 1):
            layers += _block(width, width, False)
    with torch.no_grad():
        flat = nn.Sequential(*layers)(torch.zeros(1, *shape)).numel()
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(flat, hidden), nn.ReLU(), nn.Linear(hidden, num_classes))
