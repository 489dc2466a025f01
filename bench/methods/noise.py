"""Gaussian noise for the smoothing family: every smoothing method draws its noise here, from the run's
generator, so a method's noise is reproducible and the same draw can serve an attack and the loss after it."""
from __future__ import annotations

import torch


def require_sigma(name: str, ctx) -> float:
    if ctx.sigma is None:
        raise ValueError(f"method '{name}' trains a smoothed classifier and needs a noise level sigma")
    return ctx.sigma


def gaussian_noise(x: torch.Tensor, sigma: float, copies: int, generator: torch.Generator) -> torch.Tensor:
    """``copies`` draws of e ~ N(0, sigma^2 I) per input, as a batch of len(x) * copies: the draws of input
    i are rows i * copies ... (i + 1) * copies - 1."""
    noise = x.new_empty((len(x) * copies, *x.shape[1:])).normal_(generator=generator)
    return noise.mul_(sigma)


def noisy(x: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """x + e for every draw e of ``noise`` (laid out as ``gaussian_noise`` lays it out)."""
    return x.repeat_interleave(len(noise) // len(x), dim=0) + noise


def per_input(values: torch.Tensor, copies: int) -> torch.Tensor:
    """Rows of a len(x) * copies batch regrouped as (len(x), copies, ...)."""
    return values.view(-1, copies, *values.shape[1:])
