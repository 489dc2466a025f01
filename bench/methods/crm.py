"""CRM, certified radius maximization (crm eq. 8 with the LipLT pairwise constants of eq. 19): cross-entropy plus
lambda times a penalty on the soft certified radius of the points whose radius is below r0.

The radius lower bound of eq. 5 is R(x) = min_{i != y} (z_y - z_i) / L_yi; its soft version (eq. 6) at temperature
alpha is R_soft = -1/alpha log sum_{i != y} exp(-alpha (z_y - z_i) / L_yi). Following the authors' code (the
"softMax" robust loss of their CIFAR-10 runs), the penalty is -R_soft, summed over the batch's points whose R is
below r0 (g decreasing, as eq. 8 asks) and divided by the batch size; eq. 8's indicator of a positive logit margin
is not applied there, nor here. The L_yi are LipLT's by power iteration (``power_iterations`` per product) during
training; certificates use guaranteed ones ("liplt"). Defaults: their CIFAR-10 6C2F command (lambda 15, alpha 5,
r0 0.2, 5 power iterations); the penalty starts with the eps ramp (their robustStartingEpoch). Above
``pair_class_limit`` classes (their pairwiseClassLimit, 101: Tiny-ImageNet's 200) their code bounds each pair by
the last layer's row difference times LipLT of the net below it, and so does this loss; certificates ("liplt")
stay LipLT's full pairwise bound, which is tighter.
"""
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from bench.bounds.liplt import pairwise_constants, pairwise_radii
from bench.protocols import RESTRICTED_NORMS


@dataclass(frozen=True)
class CRM:
    weight: float = 15.0      # lambda
    alpha: float = 5.0        # temperature of the soft minimum
    radius: float = 0.2       # r0: points certified beyond it are not penalised
    power_iterations: int = 5
    pair_class_limit: int = 101
    family = "linf"
    norms = RESTRICTED_NORMS["crm"]
    certifiers = ("liplt",)

    def loss(self, model, x, y, ctx):
        logits = model(x)
        natural = F.cross_entropy(logits, y)
        if ctx.ramp == 0:
            return natural
        constants = pairwise_constants(model, tuple(x.shape[1:]), "power", "liplt", self.power_iterations,
                                       last_layer_apart=logits.shape[-1] > self.pair_class_limit)
        radii = pairwise_radii(logits, y, constants)
        small = radii.min(1).values < self.radius
        soft = torch.logsumexp(-self.alpha * radii[small], 1) / self.alpha  # -R_soft of each penalised point
        return natural + self.weight * soft.sum() / len(x)
