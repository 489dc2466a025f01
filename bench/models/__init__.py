"""Model registry: name -> builder(spec) -> nn.Module taking [0, 1] pixels.

A model starts with the dataset's normalisation when its training protocol asks for it (Cohen et al. 2019,
the thesis on SVHN, Shi et al. on CIFAR-10); either way it takes pixels, so Gaussian noise and perturbation
balls are measured in pixel space.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from bench.data import DatasetSpec
from bench.models.certified import ARCHITECTURES, conv_relu_net
from bench.models.cnn import cnn_small
from bench.models.graddiv_nets import graddiv_mnist, graddiv_stl10, vgg16
from bench.models.residual import Residual, wide_resnet
from bench.models.resnet_cifar import resnet_cifar


class Normalize(nn.Module):
    def __init__(self, mean, std):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


def _resnet50(num_classes: int) -> nn.Module:
    import torchvision  # on use: torchvision costs ~1.5 s per process (see bench.data.augment)

    return torchvision.models.resnet50(weights=None, num_classes=num_classes)


_BUILDERS: dict[str, Callable[[DatasetSpec], nn.Module]] = {
    "cnn_small": lambda s: cnn_small(s.shape, s.num_classes),
    "resnet20": lambda s: resnet_cifar(20, s.shape[0], s.num_classes),
    "resnet110": lambda s: resnet_cifar(110, s.shape[0], s.num_classes),
    # He et al. (2016), torchvision's: the ImageNet base classifier of Cohen et al. and sac Table 3
    "resnet50": lambda s: _resnet50(s.num_classes),
    **{name: (lambda s, name=name: conv_relu_net(name, s.shape, s.num_classes)) for name in ARCHITECTURES},
    # thesis Tables 3.1-3.2's WRN (Wong et al. 2018's CIFAR ResNet), and a narrow one: its smoke stand-in
    "wrn": lambda s: wide_resnet(s.shape, s.num_classes),
    "wrn_tiny": lambda s: wide_resnet(s.shape, s.num_classes, hidden=100),
    # thesis app. A.1.1: the bases of ch. 2's randomized networks (MNIST, CIFAR10, STL10)
    "graddiv_mnist": lambda s: graddiv_mnist(s.shape, s.num_classes),
    "vgg16": lambda s: vgg16(s.shape, s.num_classes),
    "graddiv_stl10": lambda s: graddiv_stl10(s.shape, s.num_classes),
}

MODELS = tuple(_BUILDERS)


def build_model(name: str, spec: DatasetSpec, normalize: bool = True) -> nn.Module:
    """Build model ``name`` for the inputs and classes of dataset ``spec``, behind ``spec``'s mean/std
    normalisation, or behind an identity (mean 0, std 1) with ``normalize=False``."""
    if name not in _BUILDERS:
        raise KeyError(f"unknown model '{name}'; known: {', '.join(MODELS)}")
    channels = spec.shape[0]
    mean, std = (spec.mean, spec.std) if normalize else ((0.0,) * channels, (1.0,) * channels)
    return nn.Sequential(Normalize(mean, std), _BUILDERS[name](spec))


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
