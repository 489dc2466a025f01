"""Lipschitz-Margin Training (LMT, Tsuzuku et al. 2018; the thesis' l2 baseline, sec. 3.2.2).

Every logit but the label's is raised by sqrt(2) L eps before the cross-entropy, L the product of the layers'
l2 Lipschitz constants estimated by one power iteration per batch (thesis eq. 3.1.2 with the spherical outer
bound B2(z(x), eps L)): training widens the margin the Lipschitz certificate needs. The certificate uses
guaranteed per-layer bounds instead (``bench.bounds`` "lipschitz_l2").
"""
from dataclasses import dataclass

import torch.nn.functional as F

from bench.bounds import BoundedNet, margin_spec, robust_logits
from bench.bounds.bcp import global_lipschitz_margins, power_norm
from bench.methods.schedules import require_eps, scheduled_eps
from bench.protocols import RESTRICTED_NORMS


@dataclass(frozen=True)
class LMT:
    power_iterations: int = 1
    family = "linf"  # trained against an eps-ball and verified by bounds, like the l_inf family
    norms = RESTRICTED_NORMS["lmt"]
    certifiers = ("lipschitz_l2",)

    def loss(self, model, x, y, ctx):
        require_eps("lmt", ctx)
        net = BoundedNet(model)
        if net.needs_record():
            net.record(x)
        margins = global_lipschitz_margins(net, x, margin_spec(y, net.layers[-1].out_features, x.dtype),
                                           scheduled_eps(ctx), power_norm(net, self.power_iterations))
        return F.cross_entropy(robust_logits(margins), y)
