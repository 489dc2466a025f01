"""GloRo (Leino et al. 2021, "Globally-robust neural networks"): the logits gain a bottom class whose logit is
max_{j != y} z_j + eps K_yj, K_yj the naive bound on the Lipschitz constant of z_y - z_j (||W_y - W_j|| times
the product of the other layers' norms, by power iteration in training), and the loss is the cross-entropy of the
augmented logits: a point the network classifies as y with margin below eps K_yj pays as if misclassified. eps
ramps up as for the other certified methods; the l2 ball only. Certified by the same margins with guaranteed
constants ("pairwise_naive"); the TRADES-style variant of their paper is not built.
"""
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from bench.bounds.liplt import pairwise_constants
from bench.methods.schedules import require_eps, scheduled_eps
from bench.protocols import RESTRICTED_NORMS


def bottom_logit(logits: torch.Tensor, y: torch.Tensor, constants: torch.Tensor, eps: float) -> torch.Tensor:
    """max over j != y of z_j + eps K_yj: the largest any other logit can reach within the ball."""
    raised = logits + eps * constants[y]
    return raised.scatter(1, y.unsqueeze(1), float("-inf")).max(1).values


@dataclass(frozen=True)
class GloRo:
    power_iterations: int = 5
    family = "linf"  # trained against an eps-ball and verified by bounds, like the l_inf family
    norms = RESTRICTED_NORMS["gloro"]
    certifiers = ("pairwise_naive",)
    bound = "naive"

    def loss(self, model, x, y, ctx):
        require_eps(type(self).__name__.lower(), ctx)
        logits, eps_t = model(x), scheduled_eps(ctx)
        if eps_t == 0:
            return F.cross_entropy(logits, y)
        constants = pairwise_constants(model, tuple(x.shape[1:]), "power", self.bound, self.power_iterations)
        augmented = torch.cat([logits, bottom_logit(logits, y, constants, eps_t).unsqueeze(1)], 1)
        return F.cross_entropy(augmented, y)
