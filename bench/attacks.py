"""Projected gradient descent (Madry et al. 2018) in l_inf and l2, with a random start.

Thesis sec. 3.3.4 states only "100-step PGD error". The rest is this suite's choice: steps of eps/4 (the step
the thesis uses for its PGD training in sec. 2, alpha = eps/4), one uniform random start in the ball, no
restarts, the cross-entropy loss, images kept in [0, 1], and the highest-loss iterate returned.
Deterministic given the generator.

On a randomized network (``bench.models.randomized``) each forward pass is another sample model, and the EOT
attacks of thesis sec. 2.2.2 (Athalye et al. 2018) step along the sample mean of ``samples`` gradients (eq. 2.2.8):
``pgd(..., samples=n)`` is EOT-PGD and ``eot_fgsm`` EOT-FGSM; with one sample on a deterministic network both are
the plain attacks. The loss that picks the best iterate is the mean over the same samples.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _project(delta: torch.Tensor, eps: float, norm: str) -> torch.Tensor:
    if norm == "linf":
        return delta.clamp(-eps, eps)
    norms = delta.flatten(1).norm(dim=1).clamp(min=1e-12).view(-1, *([1] * (delta.dim() - 1)))
    return delta * (eps / norms).clamp(max=1.0)


def _random_start(x, eps, norm, generator):
    noise = torch.rand(x.shape, generator=generator, device=x.device, dtype=x.dtype) * 2 - 1
    if norm == "linf":
        return noise * eps
    direction = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    direction = direction / direction.flatten(1).norm(dim=1).view(-1, *([1] * (x.dim() - 1)))
    radius = torch.rand(x.shape[0], generator=generator, device=x.device, dtype=x.dtype) ** (1 / x[0].numel())
    return direction * (eps * radius).view(-1, *([1] * (x.dim() - 1)))


def pgd(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, steps: int = 100,
        step_size: float | None = None, norm: str = "linf", generator: torch.Generator | None = None,
        domain: tuple[float, float] = (0.0, 1.0), samples: int = 1, random_start: bool = True) -> torch.Tensor:
    """Adversarial examples within the eps-ball of ``x`` (and the domain) that maximise cross-entropy, averaged
    over ``samples`` forward passes per step (EOT, eq. 2.2.8), from a random start in the ball or from ``x``.

    The iterate with the highest loss seen per sample is returned, so more steps never weaken the attack.
    """
    if samples < 1:
        raise ValueError(f"an attack needs at least one gradient sample per step, got samples={samples}")
    step_size = eps / 4 if step_size is None else step_size
    was_training = model.training
    model.eval()
    delta = _random_start(x, eps, norm, generator) if random_start else torch.zeros_like(x)
    best, best_loss = (x + delta).clamp(*domain), torch.full((len(x),), -float("inf"), device=x.device)
    for step_index in range(steps + 1):
        adv = (x + delta).clamp(*domain).detach().requires_grad_()
        loss = sum(F.cross_entropy(model(adv), y, reduction="none") for _ in range(samples)) / samples
        improved = loss.detach() > best_loss
        best = torch.where(improved.view(-1, *([1] * (x.dim() - 1))), adv.detach(), best)
        best_loss = torch.maximum(best_loss, loss.detach())
        if step_index == steps:
            break
        grad, = torch.autograd.grad(loss.sum(), adv)
        if norm == "linf":
            step = grad.sign()
        else:
            step = grad / grad.flatten(1).norm(dim=1).clamp(min=1e-12).view(-1, *([1] * (x.dim() - 1)))
        delta = _project(adv.detach() + step_size * step - x, eps, norm)
    model.train(was_training)
    return best


def eot_fgsm(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, samples: int = 20,
             norm: str = "linf", domain: tuple[float, float] = (0.0, 1.0)) -> torch.Tensor:
    """EOT-FGSM (thesis sec. 2.2.4): one step of size eps from ``x`` along the sign of the mean of ``samples``
    gradients (n = 20 in the thesis), clipped to the domain."""
    return pgd(model, x, y, eps, 1, eps, norm, None, domain, samples, random_start=False)


def ensemble_predict(model: nn.Module, x: torch.Tensor, members: int = 20) -> torch.Tensor:
    """The class of the mean softmax of ``members`` forward passes (sample models): thesis sec. 2.2.4 evaluates
    every randomized network as an ensemble of 20; a deterministic one predicts as itself."""
    return ensemble_evaluate(model, x, None, members)[0]


def ensemble_evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor | None, members: int = 20):
    """``ensemble_predict``'s classes and, given labels ``y``, the expected loss E_w CE(f_w(x), y) over the same
    sample models, per point (the loss whose increase under EOT thesis Theorem 2.2.1 bounds, fig. 2.5)."""
    probabilities, losses = 0, 0
    with torch.no_grad():
        for _ in range(members):
            logits = model(x)
            probabilities = probabilities + F.softmax(logits, dim=1)
            if y is not None:
                losses = losses + F.cross_entropy(logits, y, reduction="none")
    return probabilities.argmax(dim=1), (losses / members if y is not None else None)


def smoothed_pgd_l2(model: nn.Module, x: torch.Tensor, y: torch.Tensor, noise: torch.Tensor, eps: float,
                    steps: int, domain: tuple[float, float] = (0.0, 1.0)) -> torch.Tensor:
    """SmoothAdv-PGD (Salman et al. 2019, eq. (S) and their Algorithm 1): l2 PGD on the soft smoothed
    classifier, maximising -log((1/m) sum_i softmax(f(x' + e_i))_y) over the m fixed draws e_i of ``noise``
    (laid out as ``bench.methods.noise.gaussian_noise`` lays it out), from x' = x, with ``steps`` normalised
    gradient steps of 2 eps / steps, each projected on the eps-ball and the domain. Runs f in eval mode."""
    copies = len(noise) // len(x)
    was_training = model.training
    model.eval()
    delta = torch.zeros_like(x)
    view = (-1, *([1] * (x.dim() - 1)))
    for _ in range(steps):
        delta.requires_grad_()
        noisy = (x + delta).repeat_interleave(copies, dim=0) + noise
        soft = F.softmax(model(noisy), dim=1).view(len(x), copies, -1).mean(dim=1)
        loss = F.nll_loss(torch.log(soft.clamp_min(1e-20)), y, reduction="sum")
        grad, = torch.autograd.grad(loss, delta)
        step = grad / grad.flatten(1).norm(dim=1).clamp(min=1e-12).view(view)
        delta = ((x + delta.detach() + 2 * eps / steps * step).clamp(*domain) - x)
        delta = _project(delta, eps, "l2")
    model.train(was_training)
    return (x + delta).detach()
