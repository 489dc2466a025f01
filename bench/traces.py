"""Training traces: how smooth the loss landscape is where the optimiser walks (thesis sec. 3.3.2, app. C.1.1,
C.6-C.8). Off by default; ``TrainSettings.trace_every`` = k traces every k-th step, on that step's batch, at
its eps_t, kappa_t and beta_t:

- loss variation (thesis eq. C.1.2, after Santurkar et al. 2018): the loss L(theta_t - lambda eta g_t) with
  g_t = grad L(theta_t) and eta the learning rate, for lambda = 0 and ten lengths on a log scale up to 5;
  the trace keeps its range (``loss_min``, ``loss_max``);
- gradient distance (thesis eq. 3.3.19, app. C.1.1): ||g_{t+1} - g_t||_2 and 1 - cos(g_t, g_{t+1}), with
  g_{t+1} taken on the same batch after the optimiser's step;
- ReLU states (thesis app. C.6-C.8) under the intermediate bounds of the method's own bound: active (l >= 0),
  dead (u <= 0) and unstable ReLUs per input, and the histogram of the unstable ones' slope u+/(u+ - l-).

Every loss a step traces uses one random stream of its own, re-seeded per evaluation, so the loss function
is the same at every point of the step (the thesis fixes CAP's random matrix the same way). Nothing here
changes training: weights and BatchNorm buffers are restored bit for bit and the training streams are
never drawn from.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Callable

import torch

from bench.bounds import relu_input_bounds

STEP_LENGTHS = tuple(5 * 10 ** (k / 3 - 3) for k in range(10))  # 0.005 ... 5 on a log scale; 0 added
SLOPE_BINS = 10  # histogram of u+/(u+ - l-) over [0, 1]
TRACE, SLOPES = "trace.csv", "relu_slopes.csv"


def restoring_buffers(model: torch.nn.Module, evaluate: Callable[[], torch.Tensor]) -> torch.Tensor:
    """``evaluate()`` with every buffer (BatchNorm statistics, power-iteration vectors) put back afterwards, and
    any buffer it created removed."""
    saved = {name: buffer.clone() for name, buffer in model.named_buffers()}
    value = evaluate()
    with torch.no_grad():
        for name, buffer in list(model.named_buffers()):
            if name in saved:
                buffer.copy_(saved[name])
            else:
                module, _, attr = name.rpartition(".")
                del model.get_submodule(module)._buffers[attr]
    return value


def loss_and_gradient(loss_fn: Callable[[], torch.Tensor], params: list[torch.Tensor]):
    loss = loss_fn()
    return float(loss.detach()), [g.detach() for g in torch.autograd.grad(loss, params)]


def loss_range(loss_fn: Callable[[], torch.Tensor], params: list[torch.Tensor], direction: list[torch.Tensor],
               scale: float, lengths=STEP_LENGTHS) -> tuple[float, float]:
    """min and max of the loss at params - lambda * scale * direction over ``lengths``; params restored."""
    saved = [p.detach().clone() for p in params]
    values = []
    with torch.no_grad():
        for length in lengths:
            for p, p0, d in zip(params, saved, direction):
                p.copy_(p0 - length * scale * d)
            values.append(float(loss_fn()))
        for p, p0 in zip(params, saved):
            p.copy_(p0)
    return min(values), max(values)


def gradient_distance(before: list[torch.Tensor], after: list[torch.Tensor]) -> tuple[float, float]:
    """(||after - before||_2, 1 - cos(before, after)) of two gradients given as lists of tensors."""
    g0, g1 = torch.cat([g.flatten() for g in before]), torch.cat([g.flatten() for g in after])
    cosine = torch.nn.functional.cosine_similarity(g0, g1, dim=0, eps=1e-30)
    return float((g1 - g0).norm()), float(1 - cosine)


def relu_status(bounds: list[tuple[torch.Tensor, torch.Tensor]]) -> tuple[dict, list[int]]:
    """Active / unstable / dead ReLUs per input (mean over the batch) and the histogram (``SLOPE_BINS`` bins on
    [0, 1]) of u+/(u+ - l-) over the batch's unstable ReLUs."""
    lower = torch.cat([lo.flatten(1) for lo, _ in bounds], 1)
    upper = torch.cat([up.flatten(1) for _, up in bounds], 1)
    dead = upper <= 0
    active = (lower >= 0) & ~dead
    unstable = ~(active | dead)
    slopes = (upper / (upper - lower))[unstable]
    histogram = torch.histc(slopes.float(), bins=SLOPE_BINS, min=0.0, max=1.0)  # zeros when none is unstable
    counts = {name: float(mask.sum()) / len(lower)
              for name, mask in (("relu_active", active), ("relu_unstable", unstable), ("relu_dead", dead))}
    return counts, [int(c) for c in histogram]


class Tracer:
    """Collects trace rows (``rows``) and slope histograms (``slopes``) over training, resumable from them."""

    def __init__(self, method, model: torch.nn.Module, every: int, rows=(), slopes=()):
        self.method, self.model, self.every = method, model, every
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.rows, self.slopes = list(rows), list(slopes)
        self._pending = None

    def due(self, step: int) -> bool:
        return step % self.every == 0

    def _loss_fn(self, x, y, ctx, seed: int):
        device = x.device

        def loss():
            generator = torch.Generator(device).manual_seed(seed)  # the same loss function at every evaluation
            return restoring_buffers(self.model, lambda: self.method.loss(self.model, x, y,
                                                                          replace(ctx, generator=generator)))
        return loss

    def before_step(self, x, y, ctx, seed: int, lr: float) -> None:
        """At theta_t, before the training loss is built: loss, gradient, loss range, ReLU states."""
        loss_fn = self._loss_fn(x, y, ctx, seed)
        loss, grad = loss_and_gradient(loss_fn, self.params)
        low, high = loss_range(loss_fn, self.params, grad, lr)
        with torch.no_grad():
            bound = self.method.certifiers[0] if hasattr(self.method, "certifiers") else "ibp"
            pre = restoring_buffers(self.model, lambda: relu_input_bounds(
                self.model, x, (ctx.eps or 0.0) * ctx.ramp, bound, ctx.norm,
                torch.Generator(x.device).manual_seed(seed)))
        counts, histogram = relu_status(pre)
        self._pending = (loss_fn, grad, {"loss": loss, "loss_min": min(low, loss), "loss_max": max(high, loss),
                                         **counts}, histogram)

    def after_step(self, step: int, epoch: float, ctx) -> None:
        """At theta_{t+1}, after the optimiser's step: the gradient distance; appends the step's rows."""
        loss_fn, grad, measures, histogram = self._pending
        self._pending = None
        distance, cosine = gradient_distance(grad, loss_and_gradient(loss_fn, self.params)[1])
        self.rows.append({"step": step, "epoch": round(epoch, 6), "ramp": ctx.ramp,
                          "eps": (ctx.eps or 0.0) * ctx.ramp, **measures,
                          "grad_l2_distance": distance, "grad_cosine_distance": cosine})
        self.slopes += [{"step": step, "slope_from": b / SLOPE_BINS, "slope_to": (b + 1) / SLOPE_BINS,
                         "count": count} for b, count in enumerate(histogram)]

    def discard(self) -> None:
        """The step was skipped (its loss was not finite): no trace row for it."""
        self._pending = None
