"""Mode connectivity between two certifiably trained models (thesis app. C.5, figs. C.3-C.5).

The weights w0 and w1 of two trained models are joined by the quadratic Bezier curve of Garipov et al. (2018,
sec. 3.2; thesis app. C.5)  phi(t) = (1 - t)^2 w0 + 2t(1 - t) theta_c + t^2 w1,  t in [0, 1],  whose control
point theta_c minimises L(theta_c) = E_{t ~ U[0, 1]} l(phi(t)) (Garipov et al. sec. 3.1, with q(t) uniform as in the
thesis). l is the certified training loss of one method (eq. C.1.1) at the end of its schedules (eps = eps_train,
final kappa and beta), minimised by Adam at lr 0.001 (app. C.1.1). The end points stay fixed; only theta_c is
trained. Along t we then measure that loss, the verified error under the method's own certifiers and the clean
error on the test set. The path has a barrier when some t has a loss above both end points' (thesis app. C.5).
"""
from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.func import functional_call
from torch.utils.data import DataLoader, Subset

from bench.data import load_dataset
from bench.data.registry import stack
from bench.device import describe_device, resolve_device
from bench.io import atomic_torch_save, evaluated_indices, training_provenance, write_rows
from bench.logs import progress as progress_lines
from bench.methods import TrainContext, get_method
from bench.selection import verified_error
from bench.train import epoch_seed, load_trained

log = logging.getLogger(__name__)


def bezier(w0: dict, theta_c: dict, w1: dict, t: float | torch.Tensor) -> dict:
    """phi(t) = (1 - t)^2 w0 + 2t(1 - t) theta_c + t^2 w1 per tensor (thesis app. C.5); differentiable in all."""
    return {name: (1 - t) ** 2 * w0[name] + 2 * t * (1 - t) * theta_c[name] + t ** 2 * w1[name] for name in w0}


def has_barrier(frame: pd.DataFrame, column: str = "robust_loss") -> bool:
    """Whether some t of one curve's rows has loss(phi(t)) > max(loss(w0), loss(w1)) (thesis app. C.5), the end
    points being the rows of the smallest and the largest t."""
    ends = frame.loc[[frame["t"].idxmin(), frame["t"].idxmax()], column]
    return bool((frame[column] > ends.max()).any())


class _BoundLoss(nn.Module):
    """``method.loss`` as a module, so that ``functional_call`` swaps the weights for every layer that the
    bounds read while walking the model, not only for ``model.forward``."""

    def __init__(self, model: nn.Module, method):
        super().__init__()
        self.model, self.method = model, method

    def forward(self, x: torch.Tensor, y: torch.Tensor, ctx: TrainContext) -> torch.Tensor:
        return self.method.loss(self.model, x, y, ctx)


def curve_loss_at(model: nn.Module, method, weights: dict, x, y, ctx: TrainContext) -> torch.Tensor:
    """``method.loss`` of ``model`` with its parameters replaced by ``weights`` (names as in ``model``)."""
    swapped = {f"model.{name}": w for name, w in weights.items()}
    return functional_call(_BoundLoss(model, method), swapped, (x, y, ctx))


def _load_pair(w0_path, w1_path, device) -> tuple[nn.Module, dict, dict, dict]:
    """The w0 model (the curve's shell), both end points' weights (constants) and both provenances."""
    (model, run0), (model1, run1) = load_trained(w0_path, device), load_trained(w1_path, device)
    prov = {"w0": training_provenance(w0_path), "w1": training_provenance(w1_path)}
    shapes = [(r.dataset, r.model, p["training"].get("normalize", True)) for r, p in zip((run0, run1), prov.values())]
    if shapes[0] != shapes[1]:
        raise ValueError(f"a curve joins models of one architecture: {w0_path} is (dataset, model, normalize) = "
                         f"{shapes[0]}, {w1_path} is {shapes[1]}")
    if any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules()):
        raise ValueError(f"{run0.model} has BatchNorm, whose statistics along the curve would have to be recomputed "
                         "at every t (Garipov et al. 2018); the thesis' models (app. C.1) have none")
    w0, w1 = ({name: p.detach().clone() for name, p in m.named_parameters()} for m in (model, model1))
    return model.requires_grad_(False), w0, w1, {**prov, "runs": {"w0": asdict(run0), "w1": asdict(run1)}}


def train_control_point(model, w0, w1, method, train_set, eps, epochs, batch_size, lr, seed, progress) -> dict:
    """theta_c from the midpoint (w0 + w1)/2 by Adam on the loss at t ~ U[0, 1], one t per batch."""
    dev = next(model.parameters()).device
    theta = {name: nn.Parameter((w0[name] + w1[name]) / 2) for name in w0}
    optimizer = torch.optim.Adam(theta.values(), lr=lr)
    for epoch in range(epochs):
        loader = DataLoader(train_set, batch_size, shuffle=True,
                            generator=torch.Generator().manual_seed(epoch_seed(seed, epoch)))
        ctx = TrainContext(epoch, epochs, torch.Generator(dev).manual_seed(epoch_seed(seed, epoch, stream=1)),
                           eps=eps, ramp=1.0)
        draws = torch.Generator().manual_seed(epoch_seed(seed, epoch, stream=2))
        total, seen, skipped = 0.0, 0, 0
        for x, y in progress_lines(loader, f"curve epoch {epoch + 1}/{epochs}", unit="batch", enabled=progress,
                                   every_seconds=60):
            t = float(torch.rand((), generator=draws))
            value = curve_loss_at(model, method, bezier(w0, theta, w1, t), x.to(dev), y.to(dev), ctx)
            if not torch.isfinite(value):  # as in bench.train: a blown-up bound would poison theta_c
                skipped += 1
                continue
            optimizer.zero_grad(set_to_none=True)
            value.backward()
            optimizer.step()
            total, seen = total + value.item() * len(y), seen + len(y)
        log.info("curve epoch %d/%d: mean loss %.4f over t ~ U[0, 1], %d non-finite steps skipped", epoch + 1,
                 epochs, total / seen if seen else float("nan"), skipped)
    return {name: p.detach() for name, p in theta.items()}


def measure(model, method, test_set, indices, eps, batch_size, seed) -> dict:
    """Mean loss at the end of the schedules, verified error (method's own certifiers) and clean error, in %."""
    dev = next(model.parameters()).device
    ctx = TrainContext(0, 1, torch.Generator(dev).manual_seed(seed), eps=eps, ramp=1.0)
    total, wrong = 0.0, 0
    for start in range(0, len(indices), batch_size):
        x, y = (v.to(dev) for v in stack(test_set, indices[start:start + batch_size]))
        with torch.no_grad():  # OURS re-enables grad for its slope step only
            total += float(method.loss(model, x, y, ctx)) * len(y)
            wrong += int((model(x).argmax(1) != y).sum())
    verified = verified_error(model, Subset(test_set, indices), eps, tuple(method.certifiers), 1, batch_size,
                              generator=torch.Generator(dev).manual_seed(seed))
    return {"robust_loss": total / len(indices), "verified_error": verified,
            "clean_error": 100.0 * wrong / len(indices)}


def analyse_mode_connectivity(w0_path: str | Path, w1_path: str | Path, curve_loss: str, eps: float,
                              out_tsv: str | Path, curve_pt: str | Path, points: int = 11, epochs: int = 1,
                              batch_size: int = 128, lr: float = 1e-3, skip: int = 1, max_points: int | None = None,
                              seed: int = 0, data_root: str | Path = "data", download: bool = False,
                              device: str = "auto", progress: bool = True,
                              deterministic: bool | None = None) -> pd.DataFrame:
    """Train theta_c with ``curve_loss`` (a method name) at ``eps``, save it to ``curve_pt`` and write one row per
    t in linspace(0, 1, ``points``): ``t``, ``robust_loss``, ``verified_error``, ``clean_error``."""
    dev = resolve_device(device, deterministic)
    method = get_method(curve_loss)
    if method.family != "linf":
        raise ValueError(f"the curve is trained on a certified loss; '{curve_loss}' is a {method.family} method")
    model, w0, w1, pair = _load_pair(w0_path, w1_path, dev)
    run = pair["runs"]["w0"]
    train_set = load_dataset(run["dataset"], "train", data_root, download)
    theta = train_control_point(model, w0, w1, method, train_set, eps, epochs, batch_size, lr, seed, progress)
    provenance = {**pair, "curve_loss": curve_loss, "eps": eps, "seed": seed, "epochs": epochs, "lr": lr,
                  "batch_size": batch_size, "analysed_on": describe_device(dev)}
    atomic_torch_save({"control_point": theta, "meta": provenance}, curve_pt)
    test_set = load_dataset(run["dataset"], "test", data_root, download)
    indices, rows = evaluated_indices(len(test_set), skip, max_points), []
    for t in progress_lines(np.linspace(0.0, 1.0, points), "curve points", unit="t", enabled=progress):
        model.load_state_dict({**model.state_dict(), **bezier(w0, theta, w1, float(t))})
        rows.append({"t": float(t), **measure(model, method, test_set, indices, eps, batch_size, seed)})
    frame = pd.DataFrame(rows)
    write_rows(frame, out_tsv, {**provenance, "curve_pt": str(curve_pt), "points": points, "skip": skip,
                                "max_points": max_points})
    log.info("mode connectivity %s -> %s under %s at eps %g on %d points: robust loss %s, barrier %s",
             run["method"], pair["runs"]["w1"]["method"], curve_loss, eps, len(indices),
             frame["robust_loss"].round(3).tolist(), has_barrier(frame))
    return frame
