"""The 2-D loss-landscape surface of the robust loss around one trained model (Li et al. 2018, "Visualizing the
Loss Landscape of Neural Nets", NeurIPS).

f(a, b) = L(theta + a d1 + b d2) on an a, b grid, with d1, d2 Gaussian random directions filter-normalised as in
Li et al. sec. 4 (filter normalization): each filter of a direction is rescaled to the norm of the same filter
of theta, which removes the scale invariance of ReLU nets, so surfaces of different models compare side by side.
L is the model's own training objective at the end of its schedules (target eps, final kappa and beta), in eval
mode on a fixed test subset; the clean cross-entropy is computed at the same weights.
"""
from __future__ import annotations

import itertools
import logging
from dataclasses import asdict
from pathlib import Path

import pandas as pd
import torch
import torch.nn.functional as F

from bench.data import load_dataset
from bench.data.registry import stack
from bench.device import describe_device, resolve_device
from bench.io import evaluated_indices, training_provenance, write_rows
from bench.logs import progress as progress_lines
from bench.methods import TrainContext, get_method
from bench.train import load_trained

log = logging.getLogger(__name__)


def filter_normalized_direction(model: torch.nn.Module, generator: torch.Generator) -> dict[str, torch.Tensor]:
    """A Gaussian direction per named parameter, filter-normalised (Li et al. 2018 sec. 4): every filter d_j (slice
    along dim 0: a conv's output channel, a linear layer's output row) becomes d_j / ||d_j|| * ||theta_j||
    (Frobenius norms). Parameters with dim <= 1 (biases, BatchNorm) get a zero direction, Li et al.'s default."""
    direction = {}
    for name, theta in model.named_parameters():
        if theta.dim() <= 1:
            direction[name] = torch.zeros_like(theta)
            continue
        filters = torch.randn(theta.shape, generator=generator, device=theta.device, dtype=theta.dtype).flatten(1)
        scale = theta.detach().flatten(1).norm(dim=1, keepdim=True) / filters.norm(dim=1, keepdim=True)
        direction[name] = (filters * scale).view_as(theta)
    return direction


def centred_grid(steps: int, span: float) -> list[float]:
    """``steps`` evenly spaced values from -span to span, symmetric, and exactly 0 at the centre when odd."""
    return [span * (2 * i - (steps - 1)) / max(steps - 1, 1) for i in range(steps)]


def mean_losses(model, method, batches, ctx: TrainContext, seed: int) -> tuple[float, float]:
    """(robust, clean) loss at the current weights, averaged over points. The loss's generator restarts from
    ``seed``, so a loss with random parts (sampled ReLU slopes) draws the same ones at every grid point."""
    ctx.generator.manual_seed(seed)
    robust = clean = 0.0
    with torch.no_grad():  # OURS re-enables grad for its slope step only
        for x, y in batches:
            robust += float(method.loss(model, x, y, ctx)) * len(y)
            clean += float(F.cross_entropy(model(x), y, reduction="sum"))
    points = sum(len(y) for _, y in batches)
    return robust / points, clean / points


def analyse_surface(model_path: str | Path, eps: float, out_tsv: str | Path, steps: int = 21, span: float = 1.0,
                    skip: int = 1, max_points: int | None = None, batch_size: int = 100, seed: int = 0,
                    data_root: str | Path = "data", download: bool = False, device: str = "auto",
                    progress: bool = True, deterministic: bool | None = None) -> pd.DataFrame:
    """One row per grid point (alpha, beta) in [-span, span]^2: ``robust_loss``, the model's own training
    objective at ``eps`` (l_inf), and ``clean_loss``, the cross-entropy, at theta + alpha d1 + beta d2. The
    directions are drawn from ``seed``; the model's weights are restored exactly afterwards."""
    dev = resolve_device(device, deterministic)
    model, run = load_trained(model_path, dev)
    method = get_method(run.method)
    test_set = load_dataset(run.dataset, "test", data_root, download)
    indices = evaluated_indices(len(test_set), skip, max_points)
    batches = [tuple(t.to(dev) for t in stack(test_set, indices[start:start + batch_size]))
               for start in range(0, len(indices), batch_size)]
    directions = torch.Generator(dev).manual_seed(seed)
    d1, d2 = (filter_normalized_direction(model, directions) for _ in range(2))
    ctx = TrainContext(0, 1, torch.Generator(dev), eps=eps, ramp=1.0)
    params = dict(model.named_parameters())
    original = {name: p.detach().clone() for name, p in params.items()}
    grid, rows = centred_grid(steps, span), []
    try:
        for alpha, beta in progress_lines(itertools.product(grid, grid), "surface", total=steps ** 2,
                                          unit="point", enabled=progress, every_seconds=60):
            with torch.no_grad():
                for name, p in params.items():
                    p.copy_(original[name] + alpha * d1[name] + beta * d2[name])
            robust, clean = mean_losses(model, method, batches, ctx, seed)
            rows.append({"alpha": alpha, "beta": beta, "robust_loss": robust, "clean_loss": clean})
    finally:
        with torch.no_grad():
            for name, p in params.items():
                p.copy_(original[name])
    frame = pd.DataFrame(rows)
    write_rows(frame, out_tsv, {"run": asdict(run), "eps": eps, "seed": seed, "steps": steps, "span": span,
                                "skip": skip, "max_points": max_points, **training_provenance(model_path),
                                "analysed_on": describe_device(dev)})
    centre = frame.loc[(frame["alpha"] == 0) & (frame["beta"] == 0), "robust_loss"]
    log.info("robust-loss surface of %s at eps %g on %d points, %d x %d grid over [-%g, %g]^2: %.4f at theta, "
             "%.4f to %.4f", run.method, eps, len(indices), steps, steps, span, span,
             centre.iloc[0] if len(centre) else float("nan"), frame["robust_loss"].min(), frame["robust_loss"].max())
    return frame
