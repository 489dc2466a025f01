"""Training protocols of the config resolved per method (torch-free, so the Snakefile reads it in any env).

A protocol (an entry of ``scales.<scale>.train`` or ``train_linf``) holds the settings every method of a
paper table shares, and ``per_method.<method>`` what the paper changes for one method: thesis app. C.1.2
trains CAP at batch 32 without input normalisation and OURS on SVHN at batch 80.
"""
from __future__ import annotations


def resolve_protocol(protocol: dict, method: str) -> dict:
    """``protocol``'s shared settings with ``method``'s overrides applied (the keys of ``TrainSettings``)."""
    shared = {key: value for key, value in protocol.items() if key != "per_method"}
    return {**shared, **protocol.get("per_method", {}).get(method, {})}
