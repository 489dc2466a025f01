"""Schedules and the mixed objective shared by the certified-training methods.

Thesis app. C.1 (after Zhang et al. 2020): warm-up epochs at eps = 0, then a ramp-up during which eps_t
grows linearly per iteration to eps_train; kappa and beta move linearly over the same ramp. The objective is
eq. C.1.1:  kappa * CE(f(x), y) + (1 - kappa) * CE(-((1 - beta) m_IBP + beta m_MODEL), y),
with m the lower bounds on the margins z_y - z_m (``bench.bounds``).
"""
from __future__ import annotations

import torch.nn.functional as F

from bench.bounds import margin_bounds, robust_logits
from bench.bounds.network import is_training_batchnorm


def ramp_fraction(step: int, steps_per_epoch: int, warmup_epochs: int, rampup_epochs: int) -> float:
    """0 during warm-up, linear in the iteration count during ramp-up, 1 afterwards."""
    start, length = warmup_epochs * steps_per_epoch, rampup_epochs * steps_per_epoch
    if length == 0:
        return 0.0 if step < start else 1.0
    return min(max((step - start) / length, 0.0), 1.0)


def interpolate(endpoints: tuple[float, float], fraction: float) -> float:
    start, end = endpoints
    return start + (end - start) * fraction


def mixed_certified_loss(model, x, y, ctx, bound, kappa: tuple[float, float], beta: tuple[float, float]):
    """Eq. C.1.1 at the current eps_t, kappa_t, beta_t with ``bound`` (a name of ``bench.bounds.BOUNDS`` or a
    ``BoundSpec``); plain cross-entropy while eps_t = 0 (the bounds are then exact, so the robust term equals it)."""
    eps_t, kappa_t = ctx.eps * ctx.ramp, interpolate(kappa, ctx.ramp)
    if eps_t == 0 or kappa_t == 1:
        return F.cross_entropy(model(x), y)
    # At kappa_t = 0 the clean pass only matters for BatchNorm's running statistics; skipping it otherwise
    # saves about a quarter of an IBP step (bench.perf.train_step) without changing a single weight.
    needs_clean = kappa_t > 0 or any(is_training_batchnorm(m) for m in model.modules())
    natural = F.cross_entropy(model(x), y) if needs_clean else None
    beta_t = interpolate(beta, ctx.ramp)
    if bound == "ibp" or beta_t == 0:
        margins = margin_bounds(model, x, y, eps_t, "ibp", ctx.norm)
    else:
        tight, ibp = margin_bounds(model, x, y, eps_t, bound, ctx.norm, generator=ctx.generator, with_ibp=True)
        margins = tight if beta_t == 1 else (1 - beta_t) * ibp + beta_t * tight
    robust = F.cross_entropy(robust_logits(margins), y)
    return robust if natural is None else kappa_t * natural + (1 - kappa_t) * robust


def scheduled_eps(ctx) -> float:
    return ctx.eps * ctx.ramp


def require_eps(name: str, ctx) -> None:
    if ctx.eps is None:
        raise ValueError(f"method '{name}' needs a training radius eps")

