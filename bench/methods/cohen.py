"""Cohen et al. (2019): train the base classifier on Gaussian-noise augmented inputs, x + N(0, sigma^2 I)."""
import torch
from torch import nn

from bench.methods.noise import gaussian_noise, noisy, require_sigma


def gaussian_augmentation_loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor, sigma: float,
                               generator: torch.Generator) -> torch.Tensor:
    """Cross-entropy of f on x + e, e ~ N(0, sigma^2 I): the training of Cohen et al. (sec. 4)."""
    return nn.functional.cross_entropy(model(noisy(x, gaussian_noise(x, sigma, 1, generator))), y)


class Cohen:
    family = "smoothing"

    def loss(self, model, x, y, ctx):
        return gaussian_augmentation_loss(model, x, y, require_sigma("cohen", ctx), ctx.generator)
