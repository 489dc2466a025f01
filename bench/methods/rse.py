"""RSE (Liu et al. 2018, "Towards robust neural networks via random self-ensemble"): cross-entropy on clean inputs
through a network with Gaussian noise before every convolution (``bench.models.randomized.with_rse_noise``),
sigma_init 0.2 on the first and sigma_inner 0.1 on the others, as thesis sec. 2.2.4 sets them; the noise stays on
at test time, where the thesis predicts with an ensemble of 20 sample models."""
from __future__ import annotations

from dataclasses import dataclass

import torch.nn.functional as F

from bench.models.randomized import sampling, with_rse_noise


@dataclass(frozen=True)
class RSE:
    init_sigma: float = 0.2
    inner_sigma: float = 0.1
    family = "eot"

    def transform_model(self, model):
        return with_rse_noise(model, self.init_sigma, self.inner_sigma)

    def loss(self, model, x, y, ctx):
        with sampling(model, ctx.generator):
            return F.cross_entropy(model(x), y)
