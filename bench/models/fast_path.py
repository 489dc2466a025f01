"""An opt-in fast path for a smoothed classifier's base model (``certify.<dataset>.fast_path: true``): weights and
inputs in channels-last memory format and the forward pass under bfloat16 autocast (tensor cores on a GPU), logits
returned in float32; ``compile`` also hands the model to ``torch.compile``.

Never the default and never a paper number unless a table says so: bf16 changes the predicted class of some noisy
samples (``python -m bench.perf.certify_throughput`` measures how many, and the certified accuracy with and
without it); the certificate's guarantee then holds for the bf16 classifier, which is the one that was sampled.
"""
from __future__ import annotations

import copy

import torch
from torch import nn


class FastBase(nn.Module):
    def __init__(self, model: nn.Module, compile: bool = False):
        super().__init__()
        self.model = copy.deepcopy(model).to(memory_format=torch.channels_last)  # the fp32 model stays as it was
        self.forward_model = torch.compile(self.model) if compile else self.model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast(x.device.type, dtype=torch.bfloat16):
            return self.forward_model(x).float()
