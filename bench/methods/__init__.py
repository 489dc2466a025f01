"""Training-method registry: config name -> method object with ``loss(model, x, y, ctx)``.

A method also names its ``family``: "smoothing" methods are certified by randomized smoothing
(``bench.smoothing``) at their training sigma; later families add deterministic certifiers.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import torch
from torch import nn

from bench.methods.cohen import Cohen
from bench.methods.standard import Standard


@dataclass(frozen=True)
class TrainContext:
    epoch: int  # 0-based index of the current epoch
    epochs: int
    generator: torch.Generator  # the only source of randomness a loss may use
    sigma: float | None = None  # smoothing noise level of the run, when the family has one


class Method(Protocol):
    family: str

    def loss(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, ctx: TrainContext) -> torch.Tensor:
        ...


METHODS: dict[str, Method] = {"standard": Standard(), "cohen": Cohen()}


def get_method(name: str) -> Method:
    if name not in METHODS:
        raise KeyError(f"unknown method '{name}'; known: {', '.join(METHODS)}")
    return METHODS[name]
