"""Deterministic l_inf / l2 evaluation of a trained model: clean, PGD and verified accuracy per test point.

Thesis sec. 3.3.4 protocol: standard error, 100-step PGD error (``bench.attacks`` gives the suite's step size
and start) and verified error "with the bound of each method". Every bound of ``bench.bounds`` named in
``certifiers`` is computed; a point counts as verified by the method's *own* bounds (its ``certifiers``) and,
separately, by the *tightest* bound the suite computed (the best of all: each is sound, so their maximum is
too). A bound that fails (raises, or returns a non-finite value) is a *verifier error*: it certifies nothing,
so the point counts as not verified unless another sound bound of the same column proves it, and the
``verifier_error`` column flags it so that tables can report how many failures a verified error contains.
"""
from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd
import torch

from bench.attacks import pgd
from bench.bounds import BoundedNet, applies, margin_bounds, worst_margin
from bench.data import dataset_spec, load_dataset
from bench.data.registry import batches
from bench.device import describe_device, explain_nondeterminism, refused_as_nondeterministic, resolve_device
from bench.io import evaluated_indices, training_provenance, write_rows
from bench.methods import get_method
from bench.train import load_trained

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VerifySettings:
    certifiers: tuple[str, ...]
    pgd_steps: int = 100
    batch_size: int = 100
    skip: int = 1
    max_points: int | None = None
    memory_mb: int | None = None  # CROWN / CAP chunk budget (bench.bounds.linear); None: its default, 2 GiB

    def __post_init__(self):
        object.__setattr__(self, "certifiers", tuple(self.certifiers))


def verify_batch(model, x, y, eps, certifiers, norm, generator,
                 memory_mb: int | None = None) -> dict[str, torch.Tensor]:
    """Worst margin (NaN on verifier error) of each certifier for one batch; ``memory_mb`` bounds the memory of
    CROWN / CAP's intermediate passes (it never changes a bound)."""
    net, out = BoundedNet(model), {}
    budget = {"memory_budget": memory_mb * 2**20} if memory_mb else {}
    for name in certifiers:
        try:
            with torch.no_grad():  # OURS re-enables grad for its slope step only
                margins = margin_bounds(net, x, y, eps, name, norm, generator=generator, **budget)
            out[name] = worst_margin(margins.detach(), y)
        except (RuntimeError, ValueError) as err:  # e.g. out of memory: flagged, and certifies nothing
            if refused_as_nondeterministic(err):
                raise  # a setting to change, not a failed bound (bench.device)
            log.error("certifier %s failed on a batch: %s", name, err)
            out[name] = torch.full((len(x),), float("nan"), device=x.device)
    return out


def verify_model(model_path: str | Path, eps: float, settings: VerifySettings, out_tsv: str | Path,
                 norm: str = "linf", seed: int = 0, data_root: str | Path = "data", download: bool = False,
                 device: str = "auto", progress: bool = True, deterministic: bool | None = None) -> pd.DataFrame:
    """Clean, PGD and bound-verified margins of every evaluated test point at ``eps``; writes ``out_tsv`` and its
    provenance. ``deterministic``: see bench.device."""
    dev = resolve_device(device, deterministic)
    model, run = load_trained(model_path, dev)
    own = getattr(get_method(run.method), "certifiers", ())
    certifiers = tuple(dict.fromkeys((*settings.certifiers, *own)))
    if any(not applies(model, name) for name in own):
        raise ValueError(f"{run.method}'s own bound cannot bound the model {run.model}")
    if skipped := [name for name in certifiers if not applies(model, name)]:
        log.info("not computed on %s (residual blocks): %s", run.model, ", ".join(skipped))
        certifiers = tuple(name for name in certifiers if name not in skipped)
    test_set = load_dataset(run.dataset, "test", data_root, download)
    indices = evaluated_indices(len(test_set), settings.skip, settings.max_points)
    generator = torch.Generator(dev).manual_seed(seed)
    rows = []
    with explain_nondeterminism(f"verification of {model_path} at eps {eps:.4g}"):
        for idx, x, y in batches(test_set, indices, settings.batch_size, dev, f"verify eps={eps:.4g}", progress):
            began = time.perf_counter()
            with torch.no_grad():
                predict = model(x).argmax(1)
                correct = predict == y
            adv = pgd(model, x, y, eps, settings.pgd_steps, eps / 4, norm, generator) if eps > 0 else x
            with torch.no_grad():
                robust = (model(adv).argmax(1) == y) & correct
            worst = verify_batch(model, x, y, eps, certifiers, norm, generator, settings.memory_mb)
            seconds = (time.perf_counter() - began) / len(idx)
            for k, i in enumerate(idx):
                row = {"idx": i, "label": int(y[k]), "predict": int(predict[k]), "correct": bool(correct[k]),
                       "pgd_correct": bool(robust[k])}
                for name, values in worst.items():
                    row[f"margin_{name}"] = float(values[k])
                row["time"] = round(seconds, 6)
                rows.append(row)
    frame = summarize_rows(pd.DataFrame(rows), certifiers, own)
    write_rows(frame, out_tsv, {"run": asdict(run), "eps": eps, "norm": norm, "seed": seed,
                                "settings": asdict(settings), "own_certifiers": list(own),
                                "num_classes": dataset_spec(run.dataset).num_classes, **training_provenance(model_path),
                                "verified_on": describe_device(dev)})
    log.info("verified %d points at eps %.4g: clean %.3f, PGD %.3f, verified (own bound) %.3f, tightest %.3f, "
             "%d verifier errors", len(frame), eps, frame["correct"].mean(), frame["pgd_correct"].mean(),
             frame["verified_own"].mean(), frame["verified_tightest"].mean(), int(frame["verifier_error"].sum()))
    return frame


def summarize_rows(frame: pd.DataFrame, certifiers, own) -> pd.DataFrame:
    """Add verified_own / verified_tightest / verifier_error columns. A point must be correct to verify; a
    failed (NaN) margin proves nothing, so a point whose own bounds all failed is not verified_own."""
    margins = frame[[f"margin_{name}" for name in certifiers]]
    own_margins = frame[[f"margin_{name}" for name in own]] if own else margins.iloc[:, :0]
    frame["verifier_error"] = margins.isna().any(axis=1)
    frame["verified_tightest"] = frame["correct"] & (margins.max(axis=1) > 0)
    frame["verified_own"] = frame["correct"] & (own_margins.max(axis=1) > 0) if own else False
    return frame
