"""A sequential network prepared for bound propagation, and the input ball it is bounded over."""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from bench.bounds.layers import flatten_layers


@dataclass(frozen=True)
class Ball:
    """{x' : ||x' - x|| <= eps} intersected with the data domain (pixels in [0, 1]) for l_inf.

    For l2 the domain is not intersected (the ball itself is bounded); interval bounds then start from
    the box [x - eps, x + eps], which contains the l2 ball, and bound the first linear or convolutional layer
    exactly by the dual norm (``bench.bounds.ibp.l2_first_layer``), keeping the box's end where it is tighter.
    """
    x: torch.Tensor
    eps: float | torch.Tensor
    norm: str = "linf"
    domain: tuple[float, float] = (0.0, 1.0)

    def __post_init__(self):
        if self.norm not in ("linf", "l2"):
            raise ValueError(f"norm must be 'linf' or 'l2', got {self.norm!r}")

    def box(self) -> tuple[torch.Tensor, torch.Tensor]:
        lower, upper = self.x - self.eps, self.x + self.eps
        if self.norm == "linf":
            lower, upper = lower.clamp(*self.domain), upper.clamp(*self.domain)
        return lower, upper

    def l2_radius(self):
        """The radius of the l2 ball around x containing this ball: eps, or sqrt(N) eps for an l_inf ball of N
        inputs (BCP's "extension to l_p-norm", thesis sec. 3.2.1)."""
        return self.eps if self.norm == "l2" else self.eps * self.x[0].numel() ** 0.5


def is_training_batchnorm(layer: nn.Module) -> bool:
    """BatchNorm in training mode: it normalises with the batch's statistics and updates its running ones."""
    return isinstance(layer, nn.modules.batchnorm._BatchNorm) and layer.training


class BoundedNet:
    """The layers of ``model`` plus, after ``record(x)``, each layer's input shape and (for BatchNorm in
    training mode) the clean batch's statistics, which the bounds then use as a fixed affine map."""

    def __init__(self, model: nn.Module):
        self.model = model
        self.layers = flatten_layers(model)
        self.relus = [i for i, layer in enumerate(self.layers) if isinstance(layer, nn.ReLU)]
        self.in_shapes: list[tuple[int, ...]] = []
        self.batch_stats: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}

    def needs_record(self) -> bool:
        """Whether bounds need a clean pass first: BatchNorm in training mode takes the clean batch's statistics.
        Otherwise the interval pass records the layer shapes itself."""
        return any(is_training_batchnorm(layer) for layer in self.layers)

    def record(self, x: torch.Tensor) -> torch.Tensor:
        """Clean forward pass; returns the logits. Does not touch BatchNorm running statistics."""
        self.in_shapes, self.batch_stats = [], {}
        for i, layer in enumerate(self.layers):
            self.in_shapes.append(tuple(x.shape[1:]))
            if is_training_batchnorm(layer):
                dims = [0] + list(range(2, x.dim()))
                self.batch_stats[i] = (x.mean(dims), x.var(dims, unbiased=False))
                x = F.batch_norm(x, None, None, layer.weight, layer.bias, True, 0.0, layer.eps)
            else:
                x = layer(x)
        return x


def margin_spec(y: torch.Tensor, num_classes: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """C(y) with row m equal to e_y - e_m (row y is zero), so C f(x) holds the margins z_y - z_m.

    The thesis (sec. 3.3.1) uses the negation, C(y) = I - 1 e_y^T, and upper bounds; lower bounds on these
    margins are the same numbers with the sign flipped.
    """
    eye = torch.eye(num_classes, device=y.device, dtype=dtype)
    return eye[y].unsqueeze(1) - eye.unsqueeze(0)


def other_classes(y: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(batch, classes - 1): the classes m != y of each row, in order. A backward pass bounds only these rows of
    C(y) (row y is zero, its bound exactly 0): a tenth less work with ten classes."""
    m = torch.arange(num_classes - 1, device=y.device)
    return m + (m >= y.unsqueeze(1))


def worst_margin(margins: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """min over m != y of the margin bounds: positive iff the point is certified."""
    return margins.scatter(1, y.unsqueeze(1), float("inf")).min(1).values
