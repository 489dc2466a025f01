"""Training-method registry: config name -> method object with ``loss(model, x, y, ctx)`` and, optionally,
``initialize(model)``, which the engine calls on the freshly built model (before any checkpoint is loaded).

A method names its ``family``: "smoothing" methods are certified by randomized smoothing (``bench.smoothing``)
at their training sigma; "linf" methods train against an eps-ball and name the ``certifiers`` (bounds of
``bench.bounds``) that verify them, their "own bound". Variants of one method are registered instances of
its class with the schedules of the thesis (beta_start -> beta_end, kappa_start -> kappa_end). A method that is a
dataclass takes its hyper-parameters (SmoothAdv's m, MACER's gamma, ...) as fields: the defaults are its paper's,
and a protocol's ``options`` replace them (``get_method(name, options)``). A bi-level method (SaC) also defines
``upper_parameters(model)``, ``upper_optimizer(parameters, settings)``, ``project(model)`` and ``finalize(model)``:
the engine trains the rest of the model with the protocol's optimizer, then takes an upper step on a second batch.
"""
from __future__ import annotations

from dataclasses import dataclass, fields, is_dataclass, replace
from typing import Protocol

import torch
from torch import nn

from bench.methods.adv_bnn import AdvBNN
from bench.methods.bcp import BCP
from bench.methods.cap import CAP
from bench.methods.cohen import Cohen
from bench.methods.consistency import Consistency
from bench.methods.crm import CRM
from bench.methods.crown_ibp import CrownIBP
from bench.methods.duet import Duet
from bench.methods.gloro import GloRo
from bench.methods.graddiv import REGULARIZERS, AdvBNNGradDiv, RSEGradDiv
from bench.methods.ibp import IBP
from bench.methods.improved_ibp import ImprovedIBP
from bench.methods.lmt import LMT
from bench.methods.local_bcp import LocalBCP
from bench.methods.macer import MACER
from bench.methods.ours import Ours
from bench.methods.pgd_at import PGDTraining
from bench.methods.relu_stability import CrownIBPStability
from bench.methods.rse import RSE
from bench.methods.sac import SaC, SaCLinf
from bench.methods.smoothadv import SmoothAdv
from bench.methods.standard import Standard
from bench.protocols import split_variant


@dataclass(frozen=True)
class TrainContext:
    epoch: int  # 0-based index of the current epoch
    epochs: int
    generator: torch.Generator  # the only source of randomness a loss may use
    sigma: float | None = None  # smoothing noise level of the run, when the family has one
    eps: float | None = None  # target training radius of the run, when the family has one
    ramp: float = 1.0  # schedule position in [0, 1]: eps_t = eps * ramp (thesis app. C.1)
    norm: str = "linf"
    train_size: int | None = None  # images in the training set (Adv-BNN's ELBO weighs its KL term by 1 / N)


class Method(Protocol):
    family: str

    def loss(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, ctx: TrainContext) -> torch.Tensor:
        ...


KAPPA_0 = (0.0, 0.0)  # thesis table C.2: kappa fixed at 0 instead of 1 -> 0
METHODS: dict[str, Method] = {
    "standard": Standard(),
    "cohen": Cohen(),
    "smoothadv": SmoothAdv(),
    "macer": MACER(),
    "consistency": Consistency(),
    "sac": SaC(),  # on Gaussian-noise training, certified by randomized smoothing (sac tables 2-3)
    "pgd": PGDTraining(),
    "sac_linf": SaCLinf(),  # on cross-entropy, certified from the output margin (sac table 1)
    "ibp": IBP(),
    "ibp_kappa0": IBP(kappa=KAPPA_0),
    "improved_ibp": ImprovedIBP(),
    "crown_ibp": CrownIBP(),  # beta 1 -> 1
    "crown_ibp_kappa0": CrownIBP(kappa=KAPPA_0),
    "crown_ibp_1to0": CrownIBP(beta=(1.0, 0.0)),
    "crown_ibp_1to0_kappa0": CrownIBP(beta=(1.0, 0.0), kappa=KAPPA_0),
    "cap": CAP(),
    "cap_ibp": CrownIBP(bound="cap_ibp"),
    "ours": Ours(),
    "ours_kappa0": Ours(kappa=KAPPA_0),
    "ours_1to0": Ours(beta=(1.0, 0.0)),
    "ours_1to0_kappa0": Ours(beta=(1.0, 0.0), kappa=KAPPA_0),
    "ours_7step_kappa0": Ours(kappa=KAPPA_0, bound="ours_7step"),
    # thesis table C.1: lower slope ~ Bernoulli(p) where |l| > |u|, Bernoulli(q) elsewhere ("p/q")
    **{f"crown_ibp_pq_{p:g}_{q:g}": CrownIBP(pq=(p, q)) for p, q in [(0, 0), (0, 0.25), (0, 0.5), (0.5, 1), (1, 1)]},
    # thesis fig. C.11: CROWN-IBP (beta = 1) + lambda * ReLU stability loss (Xiao et al. 2019)
    **{f"crown_ibp_rs_{lam:g}": CrownIBPStability(lam) for lam in (0.01, 10)},
    "lmt": LMT(),  # l2 only (thesis sec. 3.2.2's baseline)
    "bcp": BCP(),  # thesis sec. 3.2; l2 and l_inf balls
    "duet": Duet(),  # BCP + rotation similarity to a vanilla guide model (duet Algorithm 1)
    "local_bcp": LocalBCP(),  # BCP with local Lipschitz bounds (Huang et al. 2021's Local-Lip-B)
    "gloro": GloRo(),  # a bottom logit raised by eps times the naive pairwise constants (Leino et al. 2021)
    "crm": CRM(),  # certified radius maximization with LipLT's pairwise constants (crm eq. 8)
    # randomized networks under EOT attacks (thesis ch. 2): evaluated by EOT-FGSM / EOT-PGD, not certified
    "rse": RSE(),  # noise before every convolution (Liu et al. 2018)
    "adv_bnn": AdvBNN(),  # Bayesian layers, PGD examples, the ELBO (Liu et al. 2019)
    "adv_bnn_graddiv": AdvBNNGradDiv(),  # + lambda R_GradDiv (thesis eq. 2.2.20); the regulariser is an option
    "rse_graddiv": RSEGradDiv(),
    # one per regulariser (thesis figs. 2.3, 2.6, A.1, A.2 compare them on one dataset); its name fixes it
    **{f"adv_bnn_graddiv_{name}": AdvBNNGradDiv(regularizer=name) for name in REGULARIZERS},
}


def get_method(name: str, options: dict | None = None) -> Method:
    """The registered method ``name``, with its hyper-parameters replaced by ``options`` (field -> value). A variant
    name (``bench.protocols.variant_name``: "sac_linf-alpha0.05") fixes options of its method over ``options``."""
    base, fixed = split_variant(name)
    if base not in METHODS:
        raise KeyError(f"unknown method '{base}'; known: {', '.join(METHODS)}")
    method, options = METHODS[base], {**(options or {}), **fixed}
    if not options:
        return method
    known = {f.name for f in fields(method)} if is_dataclass(method) else set()
    unknown = set(options) - known
    if unknown:
        raise ValueError(f"method '{base}' has no option(s) {sorted(unknown)}; its options: {sorted(known) or 'none'}")
    return replace(method, **options)
