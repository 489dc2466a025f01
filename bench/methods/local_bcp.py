"""Local-Lip-B (Huang et al. 2021, "Training certifiably robust neural networks with efficient local Lipschitz
bounds"; "LocalBCP" in duet Tables 1-3): BCP training (``bench.methods.bcp``, the same schedules and lambda
mixing, their kappa = 1 - lambda) with the penultimate ball's radius from local Lipschitz bounds, the product of
each layer's norm with the rows and columns of constant ReLUs removed (``bench.bounds.local_lipschitz``).

Training takes ``power_iterations`` power steps per input on each reduced matrix (their ``sniter``, 2 for
CIFAR-10); verification ("local_bcp") takes exact norms of the reduced matrices where a layer's dense matrix fits
``bench.bounds.local_lipschitz.DENSE_LIMIT``, else the layer's global bound.
"""
from dataclasses import dataclass

from bench.bounds.bcp import bcp_margins
from bench.bounds.local_lipschitz import local_radius, masked_power_norm
from bench.methods.bcp import BCP
from bench.protocols import RESTRICTED_NORMS


@dataclass(frozen=True)
class LocalBCP(BCP):
    power_iterations: int = 2
    norms = RESTRICTED_NORMS["local_bcp"]  # Huang et al. train and certify l2 balls only
    certifiers = ("local_bcp",)

    def margins(self, net, ball, spec, layer_norm):
        radius = local_radius(net, ball, layer_norm, masked_power_norm(self.power_iterations))
        return bcp_margins(net, ball, spec, layer_norm, self.iterations, local_radius=radius)
