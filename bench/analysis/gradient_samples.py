"""Thesis figs. 2.4, 2.6 and 2.9: the directions of a randomized network's loss gradients at test images.

Per evaluated test point, ``samples`` (100 in the thesis) gradients grad_x CE(f_i(x), y) of as many sample models
f_i at the clean image (``bench.methods.graddiv.sample_gradients``, the network in evaluation mode), and their
sample MRL rho_hat, the concentration estimate kappa_hat (eq. 2.2.10, fig. 2.6) and the mean pairwise cosine, and
whether the 20-member ensemble classifies the point (the figures state each network's clean accuracy). The
first test point's gradients are kept in a tensor file: fig. 2.4 projects them on the plane of two models' mean
gradients ("we sample 100 gradients at the first test image"), fig. 2.9 draws their cosine matrix.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd
import torch

from bench.attacks import ensemble_predict
from bench.data import load_dataset
from bench.data.registry import batches
from bench.device import describe_device, resolve_device
from bench.io import atomic_torch_save, evaluated_indices, training_provenance, write_rows
from bench.methods.graddiv import kappa_hat, mean_resultant_length, r_mean, sample_gradients, unit
from bench.models.randomized import is_randomized, sampling
from bench.train import load_trained

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GradientSampleSettings:
    samples: int = 100
    batch_size: int = 100
    skip: int = 1
    max_points: int | None = None


def analyse_gradient_samples(model_path: str | Path, settings: GradientSampleSettings, out_tsv: str | Path,
                             out_first: str | Path, seed: int = 0, data_root: str | Path = "data",
                             download: bool = False, device: str = "auto", progress: bool = True) -> pd.DataFrame:
    """One row per evaluated test point (idx, label, rho, kappa, mean_cosine); ``out_first`` holds the first
    point's (samples, p) gradients as {"idx", "gradients"} (``torch.load(..., weights_only=True)``)."""
    dev = resolve_device(device)
    model, run = load_trained(model_path, dev)
    if not is_randomized(model):
        raise ValueError(f"{run.method}'s network is deterministic: its gradient samples coincide")
    model.eval()
    test_set = load_dataset(run.dataset, "test", data_root, download)
    indices = evaluated_indices(len(test_set), settings.skip, settings.max_points)
    generator = torch.Generator(dev).manual_seed(seed)
    rows, first = [], None
    with sampling(model, generator):
        for idx, x, y in batches(test_set, indices, settings.batch_size, dev, "gradient samples", progress):
            grads = sample_gradients(model, x, y, settings.samples).detach()
            first = grads[0].cpu() if first is None else first
            correct = ensemble_predict(model, x) == y   # a collapsed network shows in every figure it feeds
            measures = zip(mean_resultant_length(grads), kappa_hat(grads), r_mean(grads), correct)
            rows += [{"idx": i, "label": int(y[k]), "rho": float(rho), "kappa": float(kappa),
                      "mean_cosine": float(cosine), "correct": bool(right)}
                     for k, (i, (rho, kappa, cosine, right)) in enumerate(zip(idx, measures))]
    frame = pd.DataFrame(rows)
    atomic_torch_save({"idx": indices[0], "gradients": first}, out_first)
    write_rows(frame, out_tsv, {"run": asdict(run), "settings": asdict(settings), "seed": seed,
                                **training_provenance(model_path), "evaluated_on": describe_device(dev)})
    log.info("%s: median kappa_hat %.4g, median rho_hat %.4g over %d test points", run.method,
             frame["kappa"].median(), frame["rho"].median(), len(frame))
    return frame


def projected(gradients: dict[str, torch.Tensor]) -> pd.DataFrame:
    """Fig. 2.4: the unit gradient samples of two models, (n, p) each, projected on the plane spanned by their
    mean unit vectors g_bar (the first model's) and g_bar_reg: orthonormal axes e1 = g_bar / |g_bar|, e2 the part
    of g_bar_reg orthogonal to it. Rows: model, kind (sample / mean), x, y, angle, and rho = |mean| for the means
    (they lie in the plane, so their projected length is their MRL)."""
    if len(gradients) != 2:
        raise ValueError(f"fig. 2.4 compares two models' gradients, got {len(gradients)}")
    units = {name: unit(g.double().unsqueeze(0))[0] for name, g in gradients.items()}
    means = {name: u.mean(dim=0) for name, u in units.items()}
    first, second = means.values()
    e1 = first / first.norm()
    e2 = second - (second @ e1) * e1
    e2 = e2 / e2.norm().clamp_min(1e-12)
    rows = []
    for name, u in units.items():
        for kind, vectors in (("sample", u), ("mean", means[name].unsqueeze(0))):
            x, y = vectors @ e1, vectors @ e2
            rows += [{"model": name, "kind": kind, "x": float(a), "y": float(b), "angle": float(torch.atan2(b, a)),
                      "rho": float(means[name].norm())} for a, b in zip(x, y)]
    return pd.DataFrame(rows)


def cosine_rows(gradients: torch.Tensor) -> pd.DataFrame:
    """Fig. 2.9: the (n, n) cosine similarities of n gradient samples, one row per pair (i, j)."""
    v = unit(gradients.double().unsqueeze(0))[0]
    matrix, n = v @ v.T, len(v)
    return pd.DataFrame({"i": torch.arange(n).repeat_interleave(n).tolist(), "j": torch.arange(n).repeat(n).tolist(),
                         "cosine": matrix.flatten().tolist()})
