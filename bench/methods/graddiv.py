"""GradDiv (thesis sec. 2.2.3): a randomized network's training loss plus lambda times the concentration of its
loss gradients, so that sample models are less transferable to each other and EOT's mean gradient is short.

Gradients: g_i = grad_X CE(f_i(X), Y) of ``samples`` sample models f_i (three per input, "three gradient samples
for each input are sufficient", sec. 2.2.4), taken at the clean training inputs (the thesis writes R(X; theta)),
with the graph kept so the regulariser trains theta. Measures of n unit gradients v_i in R^p, per input:

- ``kappa``: R_kappa = kappa_hat / p, kappa_hat = rho (p - rho) / (1 - rho^2), rho = ||mean v_i|| (eqs. 2.2.10, 2.2.16);
- ``mean``: R_mean = mean over i != j of cos(g_i, g_j) (eq. 2.2.17); ``max`` and ``smoothmax``: their maximum and
  log-sum-exp (app. A.2);
- ``dpp``: R_DPP = -log det(G^T G), G = [v_1 ... v_n] (eq. 2.2.19), with 1e-6 added to the Gram's diagonal so that
  coinciding gradients give a large finite value instead of infinity.

lambda follows the engine's schedule: 0 in the warm-up, ramped linearly to ``weight`` (thesis: "we start with
lambda = 0 during a warm-up period and linearly ramp it up to a target value during a ramp-up period").
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from bench.methods.adv_bnn import AdvBNN
from bench.methods.rse import RSE
from bench.models.randomized import sampling

DPP_JITTER = 1e-6


def sample_gradients(model, x: torch.Tensor, y: torch.Tensor, samples: int, create_graph: bool = False):
    """(batch, samples, p): grad_X CE(f_i(X), Y) of ``samples`` forward passes, one sample model per pass."""
    x = x.detach().requires_grad_()
    grads = [torch.autograd.grad(F.cross_entropy(model(x), y, reduction="sum"), x, create_graph=create_graph)[0]
             for _ in range(samples)]
    return torch.stack(grads, dim=1).flatten(2)


def unit(grads: torch.Tensor) -> torch.Tensor:
    return grads / grads.norm(dim=-1, keepdim=True).clamp_min(1e-12)


def mean_resultant_length(grads: torch.Tensor) -> torch.Tensor:
    """rho_hat = ||mean_i v_i|| per input: 1 for identical directions, 0 for directions that cancel."""
    return unit(grads).mean(dim=1).norm(dim=-1)


def kappa_hat(grads: torch.Tensor) -> torch.Tensor:
    """eq. 2.2.10, the usual approximation of the von Mises-Fisher concentration's ML estimate (Banerjee et al.)."""
    rho, p = mean_resultant_length(grads), grads.shape[-1]
    return rho * (p - rho) / (1 - rho ** 2).clamp_min(1e-12)


def _cosines(grads: torch.Tensor) -> torch.Tensor:
    """The off-diagonal cosines cos(g_i, g_j), i != j: (batch, n (n - 1))."""
    v = unit(grads)
    gram, n = v @ v.transpose(1, 2), grads.shape[1]
    return gram[:, ~torch.eye(n, dtype=torch.bool, device=grads.device)]


def r_kappa(grads):
    return kappa_hat(grads) / grads.shape[-1]


def r_mean(grads):
    return _cosines(grads).mean(dim=1)


def r_max(grads):
    return _cosines(grads).amax(dim=1)


def r_smoothmax(grads):
    return torch.logsumexp(_cosines(grads), dim=1)


def r_dpp(grads):
    v = unit(grads)
    gram = v @ v.transpose(1, 2) + DPP_JITTER * torch.eye(grads.shape[1], device=grads.device, dtype=grads.dtype)
    return -torch.logdet(gram)


REGULARIZERS = {"kappa": r_kappa, "mean": r_mean, "max": r_max, "smoothmax": r_smoothmax, "dpp": r_dpp}


def concentration(grads: torch.Tensor) -> dict[str, float]:
    """Every regulariser's batch mean on ``grads`` (batch, n, p): the measures of thesis figs. 2.3, A.1, A.3, A.4."""
    return {name: float(measure(grads).mean()) for name, measure in REGULARIZERS.items()}


@dataclass(frozen=True)
class GradDivTerm:
    """The regulariser's settings and eq. 2.2.20's sum; mixed into the randomized methods below."""

    regularizer: str = "dpp"
    weight: float = 1.0       # lambda after the ramp
    samples: int = 3          # gradient samples per input

    def __post_init__(self):
        if self.regularizer not in REGULARIZERS:
            raise ValueError(f"GradDiv has no regulariser {self.regularizer!r}; known: {', '.join(REGULARIZERS)}")
        if self.samples < 2:
            raise ValueError(f"GradDiv compares gradient samples: it needs at least 2, got {self.samples}")

    def regularized(self, loss, model, x, y, ctx):
        """``loss`` + lambda_t times the batch mean of the regulariser (eq. 2.2.20)."""
        if ctx.ramp == 0 or self.weight == 0:
            return loss
        with sampling(model, ctx.generator):
            grads = sample_gradients(model, x, y, self.samples, create_graph=True)
        return loss + self.weight * ctx.ramp * REGULARIZERS[self.regularizer](grads).mean()


@dataclass(frozen=True)
class AdvBNNGradDiv(GradDivTerm, AdvBNN):
    """Adv-BNN + GradDiv, the thesis' proposed model (Table 2.1: GradDiv-DPP, lambda 1 on CIFAR10)."""

    def loss(self, model, x, y, ctx):
        return self.regularized(AdvBNN.loss(self, model, x, y, ctx), model, x, y, ctx)


@dataclass(frozen=True)
class RSEGradDiv(GradDivTerm, RSE):
    """RSE + GradDiv (app. A.6, Table A.5: GradDiv-kappa, lambda 1)."""

    regularizer: str = "kappa"

    def loss(self, model, x, y, ctx):
        return self.regularized(RSE.loss(self, model, x, y, ctx), model, x, y, ctx)
