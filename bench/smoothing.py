"""Randomized smoothing of Cohen, Rosenfeld & Kolter (ICML 2019).

The smoothed classifier is g(x) = argmax_c P(f(x + e) = c), e ~ N(0, sigma^2 I). This module holds
PREDICT and CERTIFY (Cohen et al., Algorithm "Prediction and certification"); every smoothing method of
``bench.methods`` is certified by this one CERTIFY. Bounds are exact: a one-sided Clopper-Pearson lower bound on
p_A and a two-sided binomial test for PREDICT.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from scipy.stats import beta, binomtest, norm
from torch import nn

ABSTAIN = -1


@dataclass(frozen=True)
class Certificate:
    prediction: int  # ABSTAIN when p_A cannot be shown to exceed 1/2
    radius: float  # certified l2 radius; 0.0 on abstain
    pa_lower: float


def clopper_pearson_lower(successes: int, trials: int, alpha: float) -> float:
    """One-sided (1 - alpha) Clopper-Pearson lower confidence bound on a binomial proportion."""
    if successes == 0:
        return 0.0
    return float(beta.ppf(alpha, successes, trials - successes + 1))


def certified_radius(pa_lower: float, sigma: float) -> float:
    """Theorem 1 of Cohen et al. with p_B = 1 - p_A: R = sigma * Phi^-1(p_A lower)."""
    return float(sigma * norm.ppf(pa_lower))


class Smooth:
    """The smoothed classifier g built on base classifier ``base`` with noise level ``sigma``."""

    def __init__(self, base: nn.Module, num_classes: int, sigma: float):
        self.base, self.num_classes, self.sigma = base, num_classes, sigma

    @torch.inference_mode()
    def _predictions(self, x: torch.Tensor, sizes: list[int], generator: torch.Generator):
        """f(x + e) for one batch of noise draws e ~ N(0, sigma^2 I) per entry of ``sizes``, with f in eval mode
        (as in Cohen et al.'s code): a base model handed over in training mode would otherwise update its
        BatchNorm statistics with the noisy copies and classify each by its batch."""
        self.base.eval()
        for size in sizes:
            noise = torch.randn((size, *x.shape), generator=generator, device=x.device, dtype=x.dtype)
            yield self.base(noise.mul_(self.sigma).add_(x)).argmax(dim=1)

    def _count(self, predictions: torch.Tensor) -> torch.Tensor:
        return torch.bincount(predictions, minlength=self.num_classes)

    def sample_counts(self, x: torch.Tensor, num: int, batch_size: int,
                      generator: torch.Generator) -> torch.Tensor:
        """Class counts of f(x + e) over ``num`` noise draws, in batches of ``batch_size``."""
        sizes = [batch_size] * (num // batch_size) + ([num % batch_size] if num % batch_size else [])
        return sum((self._count(p) for p in self._predictions(x, sizes, generator)),
                   torch.zeros(self.num_classes, dtype=torch.long, device=x.device)).cpu()

    def predict(self, x: torch.Tensor, n: int, alpha: float, batch_size: int,
                generator: torch.Generator) -> int:
        """PREDICT: the top class, or ABSTAIN unless a binomial test rejects a tie at level alpha.

        Returns a class other than g(x) with probability at most alpha (Cohen et al., Prop. 1).
        """
        counts = self.sample_counts(x, n, batch_size, generator)
        top2 = counts.topk(2)
        count_a, count_b = int(top2.values[0]), int(top2.values[1])
        tie = binomtest(count_a, count_a + count_b, 0.5)  # pragma: no mutate (0.5 is also scipy's default)
        if tie.pvalue > alpha:
            return ABSTAIN
        return int(top2.indices[0])

    def certify(self, x: torch.Tensor, n0: int, n: int, alpha: float, batch_size: int,
                generator: torch.Generator) -> Certificate:
        """CERTIFY: guess c_A from n0 draws, bound p_A from n fresh draws, abstain if p_A_lower < 1/2.

        With probability at least 1 - alpha over the noise, a returned class is g(x) and g is
        constant on the l2 ball of the returned radius around x.
        """
        selection, estimation = self.selection_and_estimation_counts(x, n0, n, batch_size, generator)
        guess = int(selection.argmax())
        count_a = int(estimation[guess])
        pa_lower = clopper_pearson_lower(count_a, n, alpha)
        if pa_lower < 0.5:
            return Certificate(ABSTAIN, 0.0, pa_lower)
        return Certificate(guess, certified_radius(pa_lower, self.sigma), pa_lower)

    def selection_and_estimation_counts(self, x: torch.Tensor, n0: int, n: int, batch_size: int,
                                        generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Class counts of CERTIFY's n0 selection draws and of its n estimation draws, which are independent: the
        n0 draws ride in the first batch (batch_size + n0 draws), so they cost no launch of their own (a batch of
        100 costs a GPU about as much as one of 400)."""
        first = min(batch_size, n)
        rest = n - first
        sizes = [n0 + first] + [batch_size] * (rest // batch_size) + ([rest % batch_size] if rest % batch_size else [])
        batches = self._predictions(x, sizes, generator)
        head = next(batches)
        selection, estimation = self._count(head[:n0]), self._count(head[n0:])
        for predictions in batches:
            estimation += self._count(predictions)
        return selection.cpu(), estimation.cpu()

