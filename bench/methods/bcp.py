"""BCP certifiable training (thesis sec. 3.2, Algorithm 1): the worst-translated logits from the ball and box
outer bound (``bench.bounds.bcp``), mixed with the clean logits by lambda (eq. 3.2.13).

Schedules (thesis sec. 3.2.1 and app. B.3.1): standard training during the warm-up (eps = 0), then eps grows
from 0 to its target and lambda from ``lam_start`` to ``lam_end`` over the ramp-up (table B.3 varies the pair,
e.g. the variant ``bcp-lam_start0.5-lam_end1``).
Training estimates each layer's Lipschitz constant with ``power_iterations`` power steps per batch and runs
``iterations`` steps of the ball-box solver (thesis app. B: 10 on MNIST, 1 on CIFAR-10 and Tiny ImageNet);
verification uses guaranteed constants and runs the solver to convergence ("bcp" in ``bench.bounds``).
"""
from dataclasses import dataclass

import torch.nn.functional as F

from bench.bounds import Ball, BoundedNet, margin_spec, robust_logits
from bench.bounds.bcp import bcp_margins, power_norm
from bench.methods.schedules import interpolate, require_eps, scheduled_eps


@dataclass(frozen=True)
class BCP:
    lam_start: float = 0.0  # lambda_0
    lam_end: float = 1.0    # lambda_1
    iterations: int = 1
    power_iterations: int = 1
    family = "linf"  # trained against an eps-ball and verified by bounds, like the l_inf family
    norms = ("l2", "linf")  # thesis table B.2 trains BCP on l_inf balls
    certifiers = ("bcp",)

    def loss(self, model, x, y, ctx):
        net = BoundedNet(model)
        return self.bcp_loss(net, x, y, ctx, model(x), power_norm(net, self.power_iterations))

    def bcp_loss(self, net, x, y, ctx, logits, layer_norm):
        """Eq. 3.2.13 at this step's eps and lambda, from the clean ``logits`` and training-time per-layer
        constants ``layer_norm``."""
        require_eps(type(self).__name__.lower(), ctx)
        eps_t, lam_t = scheduled_eps(ctx), interpolate((self.lam_start, self.lam_end), ctx.ramp)
        natural = F.cross_entropy(logits, y)
        if eps_t == 0 or lam_t == 0:
            return natural
        if net.needs_record():
            net.record(x)
        margins = self.margins(net, Ball(x, eps_t, ctx.norm), margin_spec(y, logits.shape[-1], x.dtype), layer_norm)
        return (1 - lam_t) * natural + lam_t * F.cross_entropy(robust_logits(margins), y)

    def margins(self, net, ball, spec, layer_norm):
        """Training-time margin bounds over ``ball`` (eq. 3.2.10 with ``iterations`` solver steps)."""
        return bcp_margins(net, ball, spec, layer_norm, self.iterations)
