"""Small convolutional network used at smoke scale (two strided convolutions, two linear layers)."""
from __future__ import annotations

from torch import nn


def cnn_small(shape: tuple[int, int, int], num_classes: int) -> nn.Sequential:
    channels, height, width = shape
    flat = 32 * (height // 4) * (width // 4)
    return nn.Sequential(
        nn.Conv2d(channels, 16, 4, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(16, 32, 4, stride=2, padding=1), nn.ReLU(),
        nn.Flatten(), nn.Linear(flat, 100), nn.ReLU(), nn.Linear(100, num_classes),
    )
