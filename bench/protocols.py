"""Training protocols of the config resolved per method (torch-free, so the Snakefile reads it in any env).

A protocol (an entry of ``scales.<scale>.train`` or ``train_linf``) holds the settings every method of a
paper table shares, and ``per_method.<method>`` what the paper changes for one method: thesis app. C.1.2
trains CAP at batch 32 without input normalisation and OURS on SVHN at batch 80. ``per_method.<method>.by_sigma
.<sigma>`` changes a smoothing method's settings at one noise level (SmoothAdv's best attack differs per sigma);
``options`` (the method's hyper-parameters) are merged key by key at each level.

A *variant* fixes numeric hyper-parameters in the method's name, ``<method>-<option><value>`` (sac fig. 1 trains
``sac_linf-alpha0.05``, ``sac_linf-alpha0.1``, ...): it trains under ``<method>``'s protocol settings, and the
values in its name win over the protocol's options. Registered names use underscores only, so "-" is unambiguous.
"""
from __future__ import annotations

import re

_OPTION = re.compile(r"([a-z_]+?)(\d+(?:\.\d+)?)")
# The registry's names (bench.methods.METHODS, which imports torch) for torch-free readers such as the table
# builders; tests/test_config.py keeps the two equal.
METHOD_NAMES = ("standard", "cohen", "smoothadv", "macer", "consistency", "sac", "pgd", "sac_linf", "ibp", "ibp_kappa0",
                "improved_ibp", "crown_ibp", "crown_ibp_kappa0", "crown_ibp_1to0", "crown_ibp_1to0_kappa0", "cap",
                "cap_ibp", "ours", "ours_kappa0", "ours_1to0", "ours_1to0_kappa0", "ours_7step_kappa0",
                "crown_ibp_pq_0_0", "crown_ibp_pq_0_0.25", "crown_ibp_pq_0_0.5", "crown_ibp_pq_0.5_1", "crown_ibp_pq_1_1",
                "crown_ibp_rs_0.01", "crown_ibp_rs_10", "lmt", "bcp", "duet", "local_bcp", "gloro", "crm", "rse",
                "adv_bnn", "adv_bnn_graddiv", "rse_graddiv", "adv_bnn_graddiv_kappa", "adv_bnn_graddiv_mean",
                "adv_bnn_graddiv_max", "adv_bnn_graddiv_smoothmax", "adv_bnn_graddiv_dpp")
# Methods whose networks are randomized (family "eot"): attacked with EOT and predicting as 20-member ensembles.
RANDOMIZED = ("rse", "adv_bnn", "adv_bnn_graddiv", "rse_graddiv", "adv_bnn_graddiv_kappa", "adv_bnn_graddiv_mean",
              "adv_bnn_graddiv_max", "adv_bnn_graddiv_smoothmax", "adv_bnn_graddiv_dpp")


def randomized_method(method: str) -> bool:
    """Whether ``method`` (or a variant of it) trains a randomized network."""
    return split_variant(method)[0] in RANDOMIZED


def effective_samples(method: str, samples: int) -> int:
    """The gradient samples an EOT attack on ``method``'s network needs: one for a deterministic network (n
    identical gradients average to themselves)."""
    return samples if randomized_method(method) else 1


# Methods that train against only some balls (their ``norms`` in bench.methods); the others take either.
RESTRICTED_NORMS = {"lmt": ("l2",), "local_bcp": ("l2",), "gloro": ("l2",), "crm": ("l2",)}


def protocol_norm(settings: dict) -> str:
    """The ball a resolved protocol trains against and its runs are verified at."""
    return settings.get("norm", "linf")


def check_norm(method: str, norm: str) -> None:
    """Refuse ``method`` on ``norm`` balls when it cannot train against them (LMT's certificate is l2 only)."""
    allowed = RESTRICTED_NORMS.get(split_variant(method)[0], ("linf", "l2"))
    if norm not in allowed:
        raise ValueError(f"method '{method}' trains against {' or '.join(allowed)} balls only, but its protocol "
                         f"sets norm: {norm}")


def variant_name(method: str, **options: float) -> str:
    """The run-id name of ``method`` with ``options`` fixed: ("sac_linf", alpha=0.05) -> "sac_linf-alpha0.05"."""
    numbers = {option: f"{value:.12f}".rstrip("0").rstrip(".") for option, value in options.items()}  # no "1e-05"
    return "-".join([method, *(f"{option}{number}" for option, number in numbers.items())])


def split_variant(name: str) -> tuple[str, dict[str, float]]:
    """``variant_name`` inverted: "sac_linf-alpha0.05" -> ("sac_linf", {"alpha": 0.05}), "smoothadv-m4" ->
    ("smoothadv", {"m": 4}) (an integer without a decimal point); a plain name -> (name, {})."""
    method, *parts = name.split("-")
    options = {}
    for part in parts:
        match = _OPTION.fullmatch(part)
        if match is None:
            raise ValueError(f"method variant '{name}': '{part}' is not <option><number> (e.g. alpha0.05)")
        options[match[1]] = float(match[2]) if "." in match[2] else int(match[2])
    return method, options


def resolve_protocol(protocol: dict, method: str, sigma: float | None = None) -> dict:
    """``protocol``'s shared settings with ``method``'s overrides applied, and those of its ``sigma`` (the keys
    of ``TrainSettings``). A variant gets its method's overrides, the options its name fixes applied last."""
    method, fixed = split_variant(method)
    shared = {key: value for key, value in protocol.items() if key != "per_method"}
    own = protocol.get("per_method", {}).get(method, {})
    levels = [shared, {key: value for key, value in own.items() if key != "by_sigma"}]
    if sigma is not None:
        levels.append(next((values for level, values in own.get("by_sigma", {}).items()
                            if float(level) == float(sigma)), {}))
    resolved: dict = {}
    for level in levels:
        options = {**resolved.get("options", {}), **level.get("options", {})}
        resolved.update(level)
        if options:
            resolved["options"] = options
    if fixed:
        resolved["options"] = {**resolved.get("options", {}), **fixed}
    return resolved
