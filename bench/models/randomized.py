"""Randomized networks of thesis ch. 2: every forward pass is one *sample model* f ~ q_theta.

- RSE (Liu et al. 2018, "Towards robust neural networks via random self-ensemble"): Gaussian noise added to the
  input of every convolution, sigma_init on the first and sigma_inner on the others (0.2 / 0.1, thesis sec. 2.2.4),
  at training and at test time.
- Adv-BNN (Liu et al. 2019, "Adv-BNN: improved adversarial defense through robust Bayesian neural network"): every
  convolution, linear layer and affine BatchNorm (their VGG's RandBatchNorm2d) holds a Gaussian posterior
  N(mu, sigma^2) per weight and bias, sigma = exp(s), and draws its weights at each pass; ``kl_divergence`` is the
  KL of those posteriors to the prior N(0, sigma_0^2).

Noise is drawn from the generator that ``sampling(model, generator)`` sets, else from torch's global generator
(which the training engine seeds and checkpoints): the same seed gives the same sample models. Bound propagation
(``bench.bounds``) does not take these layers: it refuses them by name.
"""
from __future__ import annotations

import math
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn


class Stochastic(nn.Module):
    """A layer that draws fresh noise at every forward pass, from ``self.generator`` when one is set."""

    generator: torch.Generator | None = None

    def normal(self, like: torch.Tensor) -> torch.Tensor:
        return torch.randn(like.shape, generator=self.generator, device=like.device, dtype=like.dtype)


class GaussianNoise(Stochastic):
    """RSE's noise layer: x + sigma * N(0, I), in training and evaluation alike."""

    def __init__(self, sigma: float):
        super().__init__()
        self.sigma = sigma

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.sigma * self.normal(x) if self.sigma > 0 else x

    def extra_repr(self) -> str:
        return f"sigma={self.sigma}"


BAYESIAN_LAYERS = (nn.Conv2d, nn.Linear, nn.BatchNorm2d)


class Bayesian(Stochastic):
    """A convolution, linear layer or affine BatchNorm with a factorised Gaussian posterior over its weight and bias
    (Adv-BNN): each forward pass draws w = mu + exp(s) * e, e ~ N(0, I), and applies ``layer``'s operation with it."""

    def __init__(self, layer: nn.Conv2d | nn.Linear | nn.BatchNorm2d, init_sigma: float):
        super().__init__()
        if not isinstance(layer, BAYESIAN_LAYERS) or getattr(layer, "weight", None) is None:
            raise TypeError(f"Adv-BNN makes convolutions, linear layers and affine BatchNorms Bayesian, not "
                            f"{type(layer).__name__}")
        self.layer = layer  # keeps its hyper-parameters; its weight and bias serve as the posterior means
        self.log_sigma_weight = nn.Parameter(torch.full_like(layer.weight, math.log(init_sigma)))
        self.log_sigma_bias = (nn.Parameter(torch.full_like(layer.bias, math.log(init_sigma)))
                               if layer.bias is not None else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight = self.layer.weight + self.log_sigma_weight.exp() * self.normal(self.layer.weight)
        bias = (self.layer.bias + self.log_sigma_bias.exp() * self.normal(self.layer.bias)
                if self.layer.bias is not None else None)
        if isinstance(self.layer, nn.Linear):
            return F.linear(x, weight, bias)
        if isinstance(self.layer, nn.BatchNorm2d):  # Liu et al.'s RandBatchNorm2d: the affine part is Bayesian
            norm = self.layer
            return F.batch_norm(x, norm.running_mean, norm.running_var, weight, bias,
                                norm.training or norm.running_mean is None, norm.momentum or 0.0, norm.eps)
        return self.layer._conv_forward(x, weight, bias)

    def kl(self, prior_sigma: float) -> torch.Tensor:
        """KL(N(mu, sigma^2) || N(0, sigma_0^2)) summed over the weights and biases:
        log(sigma_0 / sigma) + (sigma^2 + mu^2) / (2 sigma_0^2) - 1/2 each."""
        pairs = [(self.layer.weight, self.log_sigma_weight)]
        pairs += [(self.layer.bias, self.log_sigma_bias)] if self.layer.bias is not None else []
        return sum((math.log(prior_sigma) - s + ((2 * s).exp() + mu ** 2) / (2 * prior_sigma ** 2) - 0.5).sum()
                   for mu, s in pairs)


def _replace(model: nn.Module, convert) -> nn.Module:
    """``model`` with every submodule m for which ``convert(m)`` returns a module replaced by it (in place)."""
    for name, child in model.named_children():
        new = convert(child)
        if new is not None:
            setattr(model, name, new)
        else:
            _replace(child, convert)
    return model


def with_rse_noise(model: nn.Module, init_sigma: float = 0.2, inner_sigma: float = 0.1) -> nn.Module:
    """``model`` with a noise layer before each convolution: sigma_init before the first, sigma_inner after."""
    convolutions = 0

    def convert(child):
        nonlocal convolutions
        if not isinstance(child, nn.Conv2d):
            return None
        convolutions += 1
        return nn.Sequential(GaussianNoise(init_sigma if convolutions == 1 else inner_sigma), child)

    _replace(model, convert)
    if convolutions == 0:
        raise ValueError("RSE adds its noise before convolutions, and this model has none")
    return model


def bayesian(model: nn.Module, init_sigma: float) -> nn.Module:
    """``model`` with each convolution, linear layer and affine BatchNorm Bayesian (Liu et al.'s VGG uses their
    RandBatchNorm2d too), its initial weights as the posterior means and exp(s) = ``init_sigma`` (Adv-BNN's code
    sets s = log(init_s))."""
    return _replace(model, lambda child: Bayesian(child, init_sigma)
                    if isinstance(child, BAYESIAN_LAYERS) and getattr(child, "weight", None) is not None else None)


def kl_divergence(model: nn.Module, prior_sigma: float) -> torch.Tensor:
    """The KL of all of ``model``'s Bayesian layers to the prior N(0, prior_sigma^2)."""
    layers = [m for m in model.modules() if isinstance(m, Bayesian)]
    if not layers:
        raise ValueError("the model has no Bayesian layers: build it with bench.models.randomized.bayesian")
    return sum(layer.kl(prior_sigma) for layer in layers)


def is_randomized(model: nn.Module) -> bool:
    return any(isinstance(m, Stochastic) for m in model.modules())


@contextmanager
def sampling(model: nn.Module, generator: torch.Generator | None):
    """Draw every sample model of ``model`` from ``generator`` inside the block."""
    layers = [m for m in model.modules() if isinstance(m, Stochastic)]
    previous = [layer.generator for layer in layers]
    for layer in layers:
        layer.generator = generator
    try:
        yield model
    finally:
        for layer, old in zip(layers, previous):
            layer.generator = old
