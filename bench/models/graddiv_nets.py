"""The networks of thesis app. A.1.1 (ch. 2's randomized networks are built on them, ``bench.models.randomized``).

- MNIST: C(32,3,1,1)-LReLU-C(64,3,1,1)-LReLU-MP-C(128,3,1,1)-LReLU-MP-F(1024)-LReLU-F(10) (LeakyReLU slope: torch's
  default 0.01; the thesis names none).
- CIFAR10: VGG-16, as Liu et al.'s Adv-BNN and RSE code builds it for 32 x 32 images: thirteen 3x3 convolutions with
  BatchNorm and ReLU, five max-pools, an average pool over what is left, and one linear layer.
- STL10: C(32,3,1,1)-BN-ReLU-MP-C(64,3,1,1)-BN-ReLU-MP-C(128,3,1,1)-BN-ReLU-MP-C(256,3,1,1)-BN-ReLU-MP-C(256,3,1)-BN-
  ReLU-C(512,3,1)-BN-ReLU-AP-F(10), MP and AP with kernel and stride 2.
"""
from __future__ import annotations

import torch
from torch import nn

VGG16 = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]


def _flat_size(layers: list[nn.Module], shape: tuple[int, int, int]) -> int:
    with torch.no_grad():
        return nn.Sequential(*layers)(torch.zeros(1, *shape)).numel()


def graddiv_mnist(shape: tuple[int, int, int], num_classes: int) -> nn.Sequential:
    layers = [nn.Conv2d(shape[0], 32, 3, 1, 1), nn.LeakyReLU(), nn.Conv2d(32, 64, 3, 1, 1), nn.LeakyReLU(),
              nn.MaxPool2d(2), nn.Conv2d(64, 128, 3, 1, 1), nn.LeakyReLU(), nn.MaxPool2d(2), nn.Flatten()]
    return nn.Sequential(*layers, nn.Linear(_flat_size(layers, shape), 1024), nn.LeakyReLU(),
                         nn.Linear(1024, num_classes))


def vgg16(shape: tuple[int, int, int], num_classes: int) -> nn.Sequential:
    layers, channels = [], shape[0]
    for entry in VGG16:
        if entry == "M":
            layers.append(nn.MaxPool2d(2))
        else:
            layers += [nn.Conv2d(channels, entry, 3, padding=1), nn.BatchNorm2d(entry), nn.ReLU()]
            channels = entry
    side = shape[1] // 2 ** VGG16.count("M")
    if side < 1:
        raise ValueError(f"VGG-16's five max-pools need inputs of at least 32 x 32, got {shape[1:]}")
    return nn.Sequential(*layers, nn.AvgPool2d(side), nn.Flatten(), nn.Linear(512, num_classes))


def graddiv_stl10(shape: tuple[int, int, int], num_classes: int) -> nn.Sequential:
    if shape[1] // 16 < 5:  # four max-pools, then two unpadded 3x3 convolutions and a pool of 2
        raise ValueError(f"the STL10 network needs inputs of at least 80 x 80 (STL10's are 96 x 96), got {shape[1:]}")
    layers, channels = [], shape[0]
    for out, padding, pool in [(32, 1, True), (64, 1, True), (128, 1, True), (256, 1, True), (256, 0, False),
                               (512, 0, False)]:
        layers += [nn.Conv2d(channels, out, 3, 1, padding), nn.BatchNorm2d(out), nn.ReLU()]
        layers += [nn.MaxPool2d(2)] if pool else []
        channels = out
    layers += [nn.AvgPool2d(2), nn.Flatten()]
    return nn.Sequential(*layers, nn.Linear(_flat_size(layers, shape), num_classes))
