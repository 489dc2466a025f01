"""Adv-BNN (Liu et al. 2019, "Adv-BNN: improved adversarial defense through robust Bayesian neural network"):
Bayesian convolutions, linear layers and BatchNorms (``bench.models.randomized.bayesian``) trained on PGD examples with the
ELBO, CE(f(X_adv), Y) + (alpha_KL / N) KL(q || N(0, sigma_0^2)), N the training-set size (their code's beta).

Thesis sec. 2.2.4: PGD at eps_train with step eps_train / 4 and m = 10 iterations, alpha_KL = 0.02, sigma_0 0.05 /
0.1 / 0.15 on MNIST / CIFAR10 / STL10 (a protocol option). The thesis gives no initial posterior std: it starts at
sigma_0, as Liu et al.'s scripts set it (init_s = sigma_0: 0.1 / 0.1, 0.08 / 0.08). Every PGD step draws a new
sample model, as their attack runs on the stochastic network. eps_train is used from the first epoch: the
schedule's ramp drives GradDiv's lambda (``bench.methods.graddiv``), not eps, unless ``ramp_eps`` (the smoke
MNIST stand-in's choice: 8x8 digits attacked at 0.3 from the first epoch do not train).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch.nn.functional as F

from bench.attacks import pgd
from bench.methods.schedules import require_eps, scheduled_eps
from bench.models.randomized import bayesian, kl_divergence, sampling


@dataclass(frozen=True)
class AdvBNN:
    prior_sigma: float = 0.1  # sigma_0
    init_sigma: float | None = None  # exp(s) of every weight's posterior at initialisation; None: sigma_0
    kl_weight: float = 0.02   # alpha_KL
    steps: int = 10
    ramp_eps: bool = False  # eps follows the warm-up / ramp-up schedule (smoke stand-ins; the thesis: from epoch 1)
    family = "eot"

    def transform_model(self, model):
        return bayesian(model, self.prior_sigma if self.init_sigma is None else self.init_sigma)

    def loss(self, model, x, y, ctx):
        require_eps("adv_bnn", ctx)
        if not ctx.train_size:
            raise ValueError("Adv-BNN weighs its KL term by 1 / N: the training context must give train_size")
        eps = scheduled_eps(ctx) if self.ramp_eps else ctx.eps
        with sampling(model, ctx.generator):
            adv = pgd(model, x, y, eps, self.steps, eps / 4, ctx.norm, ctx.generator) if eps > 0 else x
            natural = F.cross_entropy(model(adv), y)
        return natural + self.kl_weight / ctx.train_size * kl_divergence(model, self.prior_sigma)
