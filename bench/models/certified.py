"""The plain ReLU conv nets of the certified-training papers (sequential, so ``bench.bounds`` applies).

- Small, Small*, Medium, Large, Large*: thesis app. C.1 (Gowal et al. 2018's models and two variants).
- 4C3F, 6C2F, 8C2F: thesis app. B.3.3, written C(channels, kernel, stride, padding) there (8C2F, the Tiny
  ImageNet net, leaves its three strided convolutions unpadded: a fourth entry gives a convolution's padding);
  8C2F*, crm Table 1's variant of it.
- CNN-7: the seven-layer CNN with BatchNorm of Shi et al. (2021), used by book table 14.1.
The thesis gives no padding for app. C.1; we pad every convolution by 1, the convention 4C3F states.
"""
from __future__ import annotations

import torch
from torch import nn

# (out_channels, kernel, stride[, padding: 1 unless given]) per convolution, then the hidden linear widths.
ARCHITECTURES: dict[str, tuple[list[tuple[int, ...]], list[int]]] = {
    "small": ([(16, 4, 2), (32, 4, 1)], [100]),
    "small_star": ([(16, 4, 2), (32, 4, 2)], [100]),
    "small_bn": ([(16, 4, 2), (32, 4, 1)], [100]),  # Small with BatchNorm: the smoke stand-in for CNN-7
    "medium": ([(32, 3, 1), (32, 4, 2), (64, 3, 1), (64, 4, 2)], [512, 512]),
    "large": ([(64, 3, 1), (64, 3, 1), (128, 3, 2), (128, 3, 1), (128, 3, 1)], [512]),
    "large_star": ([(64, 3, 1), (128, 3, 2), (128, 3, 1), (128, 3, 1)], [512]),
    "4c3f": ([(32, 3, 1), (32, 4, 2), (64, 3, 1), (64, 4, 2)], [512, 512]),
    "6c2f": ([(32, 3, 1), (32, 3, 1), (32, 4, 2), (64, 3, 1), (64, 3, 1), (64, 4, 2)], [512]),
    "8c2f": ([(64, 3, 1), (64, 3, 1), (64, 4, 2, 0), (128, 3, 1), (128, 3, 1), (128, 4, 2, 0), (256, 3, 1),
              (256, 4, 2, 0)], [256]),
    # crm's 8C2F* (its authors' "8C2F"): the second convolution unpadded too (64 -> 62 -> 30 instead of 64 -> 64
    # -> 31), so their power iteration's sizes match; the same 9216 inputs to F(256) and the same parameter count
    "8c2f_crm": ([(64, 3, 1), (64, 3, 1, 0), (64, 4, 2, 0), (128, 3, 1), (128, 3, 1), (128, 4, 2, 0), (256, 3, 1),
                  (256, 4, 2, 0)], [256]),
    "cnn7": ([(64, 3, 1), (64, 3, 1), (128, 3, 2), (128, 3, 1), (128, 3, 1)], [512]),
}
WITH_BATCHNORM = {"cnn7", "small_bn"}


def conv_relu_net(name: str, shape: tuple[int, int, int], num_classes: int) -> nn.Sequential:
    convs, hidden = ARCHITECTURES[name]
    batchnorm = name in WITH_BATCHNORM
    layers, channels = [], shape[0]
    for out, kernel, stride, *padding in convs:
        layers += [nn.Conv2d(channels, out, kernel, stride, padding=padding[0] if padding else 1)]
        layers += [nn.BatchNorm2d(out)] if batchnorm else []
        layers += [nn.ReLU()]
        channels = out
    with torch.no_grad():
        flat = nn.Sequential(*layers)(torch.zeros(1, *shape)).numel()
    layers.append(nn.Flatten())
    for width in hidden:
        layers += [nn.Linear(flat, width)] + ([nn.BatchNorm1d(width)] if batchnorm else []) + [nn.ReLU()]
        flat = width
    layers.append(nn.Linear(flat, num_classes))
    return nn.Sequential(*layers)
