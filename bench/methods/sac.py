"""Shrink & Cert (SaC, Gupta & Verma 2023): bi-level weight shrinking, sac eqs. 2-4.

Every weight tensor theta of a linear or convolutional layer gets a shrinking mask s in [0, alpha]^n, and the
network computes with s * theta (a ``torch.nn.utils.parametrize`` parametrization, so checkpoints hold theta and
s and a resumed run goes on exactly). One iteration t:

- lower level, eq. 3: theta <- theta - gamma_1 * s * grad L(s * theta) on a training batch. That is the gradient
  of L with respect to theta through s * theta, so the engine's optimizer does it (the protocol's lr, momentum,
  weight decay and schedule); s is not among its parameters.
- upper level, eq. 4: s <- P_[0, alpha](s - gamma_2 * theta * grad L(s * theta)) on a different batch (the
  engine's second, independently shuffled loader), the gradient with respect to s; P clamps to [0, alpha].

L is the base loss the method is registered with: Gaussian-noise cross-entropy for the smoothing rows, as sac
sec. 4 says ("the same training details used in Cohen et al. and Salman et al."; the authors' released trainer
adds no noise). At the end the masks are baked in: the saved model holds s * theta, the network that is
certified (sac sec. 3). Optimisers as sac sec. 4 and the authors' code: theta by the protocol (SGD lr 0.1,
momentum 0.9, weight decay 1e-4, cosine); s by SGD with the same momentum and weight decay at ``mask_lr``, x0.1
at half and three quarters of the epochs (their "step" schedule). Their code's first-order "implicit gradient"
term (-1e-4 times the squared mask gradient) is left out: it is four orders below the step it is added to.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils import parametrize

from bench.methods.cohen import Cohen
from bench.methods.standard import Standard

SHRUNK = (nn.Linear, nn.Conv2d)


class Shrink(nn.Module):
    """The parametrization theta -> s * theta with a trainable mask s of theta's shape."""

    def __init__(self, mask: torch.Tensor):
        super().__init__()
        self.mask = nn.Parameter(mask)

    def forward(self, theta: torch.Tensor) -> torch.Tensor:
        return self.mask * theta


def shrunk_layers(model: nn.Module) -> list[nn.Module]:
    return [module for module in model.modules() if isinstance(module, SHRUNK)]


def masks(model: nn.Module) -> list[nn.Parameter]:
    return [layer.parametrizations.weight[0].mask for layer in shrunk_layers(model)
            if parametrize.is_parametrized(layer, "weight")]


@dataclass(frozen=True)
class SaC:
    alpha: float = 0.16        # s in [0, alpha]^n; sac's best for ResNet-110 on CIFAR-10 (0.20 on 4C3F)
    mask_lr: float = 0.1       # gamma_2 of eq. 4
    mask_momentum: float = 0.9
    mask_weight_decay: float = 1.0e-4
    base: str = "cohen"        # the loss L of eqs. 2-4
    family = "smoothing"

    def __post_init__(self):
        if not 0 < self.alpha < 1:
            raise ValueError(f"SaC's alpha must lie in (0, 1) (sac sec. 3), got {self.alpha}")

    def base_loss(self):
        losses = {"cohen": Cohen, "standard": Standard}
        if self.base not in losses:
            raise ValueError(f"SaC has no base loss {self.base!r}; known: {', '.join(losses)}")
        return losses[self.base]()

    def initialize(self, model: nn.Module) -> None:
        """Register s ~ U[0, alpha] on every linear and convolutional weight (torch's seeded global generator),
        with theta = (default initial weight) / alpha, so that s * theta starts as a standard initialisation
        scaled by U[0, 1]. sac does not say how theta starts beside s: shrinking every layer of a plain
        (BatchNorm-free) net by ~alpha multiplies its signals by ~alpha per layer, and such a net does not train."""
        for layer in shrunk_layers(model):
            with torch.no_grad():
                layer.weight.div_(self.alpha)
            mask = torch.rand(layer.weight.shape, device=layer.weight.device, dtype=layer.weight.dtype) * self.alpha
            parametrize.register_parametrization(layer, "weight", Shrink(mask))

    def upper_parameters(self, model: nn.Module) -> list[nn.Parameter]:
        return masks(model)

    def upper_optimizer(self, parameters: list[nn.Parameter], settings) -> tuple:
        """SGD on s, its learning rate x0.1 after half and after three quarters of the epochs."""
        optimizer = torch.optim.SGD(parameters, lr=self.mask_lr, momentum=self.mask_momentum,
                                    weight_decay=self.mask_weight_decay)
        milestones = [settings.epochs // 2, (3 * settings.epochs) // 4]
        return optimizer, torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones, 0.1)

    def loss(self, model, x, y, ctx):
        """The lower- and upper-level objective L(s * theta) on one batch."""
        return self.base_loss().loss(model, x, y, ctx)

    def project(self, model: nn.Module) -> None:
        """P of eq. 4: the Euclidean projection onto [0, alpha]^n, a clamp."""
        with torch.no_grad():
            for mask in masks(model):
                mask.clamp_(0.0, self.alpha)

    def finalize(self, model: nn.Module) -> None:
        """Bake s * theta into plain weights: the shrunk network is the one saved and certified."""
        for layer in shrunk_layers(model):
            if parametrize.is_parametrized(layer, "weight"):
                parametrize.remove_parametrizations(layer, "weight", leave_parametrized=True)


@dataclass(frozen=True)
class SaCLinf(SaC):
    """SaC for l_inf (sac Table 1, 4C3F on CIFAR-10): cross-entropy as L (the authors' trainer), alpha 0.20 (sac
    sec. 4), certified from the output margin and a Lipschitz bound (``bench.bounds`` "lipschitz")."""
    alpha: float = 0.20
    base: str = "standard"
    family = "linf"
    certifiers = ("lipschitz",)
