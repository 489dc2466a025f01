"""Training protocols of the config resolved per method (torch-free, so the Snakefile reads it in any env).

A protocol (an entry of ``scales.<scale>.train`` or ``train_linf``) holds the settings every method of a
paper table shares, and ``per_method.<method>`` what the paper changes for one method: thesis app. C.1.2
trains CAP at batch 32 without input normalisation and OURS on SVHN at batch 80. ``per_method.<method>.by_sigma
.<sigma>`` changes a smoothing method's settings at one noise level (SmoothAdv's best attack differs per sigma);
``options`` (the method's hyper-parameters) are merged key by key at each level.
"""
from __future__ import annotations


def resolve_protocol(protocol: dict, method: str, sigma: float | None = None) -> dict:
    """``protocol``'s shared settings with ``method``'s overrides applied, and those of its ``sigma`` (the keys
    of ``TrainSettings``)."""
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
    return resolved
