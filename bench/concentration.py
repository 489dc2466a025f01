"""GradDiv's concentration measures of a randomized network's loss gradients during training (thesis figs. 2.3,
A.1, A.3, A.4): "the values are averaged over each epoch" (sec. 2.2.4).

On with ``TrainSettings.log_concentration``, for randomized networks only (a deterministic network's gradient
samples coincide). At every step, before the training loss, it draws n = 3 gradient samples per clean input of the
step's batch (the regularisers' own count) from a generator of its own, with the BatchNorm buffers put back after:
a run that logs trains to the same bytes as one that does not. Every regulariser of ``bench.methods.graddiv`` is
averaged over the epoch's inputs into one row of concentration.csv.
"""
from __future__ import annotations

import torch

from bench.methods.graddiv import concentration, sample_gradients
from bench.models.randomized import sampling
from bench.traces import restoring_buffers

CONCENTRATION = "concentration.csv"


class ConcentrationLog:
    def __init__(self, samples: int = 3, rows: list[dict] | None = None):
        self.samples, self.rows = samples, list(rows or [])
        self._sums: dict[str, float] = {}
        self._inputs = 0

    def measure(self, model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, generator: torch.Generator) -> None:
        def measures():
            with sampling(model, generator):
                return concentration(sample_gradients(model, x, y, self.samples))

        for name, value in restoring_buffers(model, measures).items():
            self._sums[name] = self._sums.get(name, 0.0) + value * len(y)
        self._inputs += len(y)

    def end_epoch(self, epoch: int) -> None:
        """Close epoch ``epoch`` (1-based): one row of the measures' means over its inputs."""
        if self._inputs:
            self.rows.append({"epoch": epoch, **{name: total / self._inputs for name, total in self._sums.items()}})
        self._sums, self._inputs = {}, 0
