"""Certify a trained model on a test subset and write one row per test point.

Randomized smoothing rows follow Cohen et al.'s output format (idx, label, predict, radius, correct,
time) plus ``pa_lower``; ``predict == -1`` marks an abstention. Rows are appended to a ``.partial``
file as they are produced, so a killed job resumes at the first missing point; the noise of point i
comes from a generator seeded by (seed, i), so a resumed file equals an uninterrupted one (but for
``time``).
"""
from __future__ import annotations

import csv
import json
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd
import torch

from bench.data import dataset_spec, load_dataset
from bench.device import describe_device, explain_nondeterminism, resolve_device
from bench.io import atomic_write_json, evaluated_indices, file_sha256, training_provenance, write_rows
from bench.logs import progress as progress_lines
from bench.models.fast_path import FastBase
from bench.smoothing import ABSTAIN, Smooth
from bench.train import load_trained

log = logging.getLogger(__name__)
COLUMNS = ["idx", "label", "predict", "radius", "correct", "time", "pa_lower"]


@dataclass(frozen=True)
class SmoothingSettings:
    """CERTIFY parameters and the test subset: every ``skip``-th test point, at most ``max_points``."""
    n0: int
    n: int
    alpha: float
    batch_size: int
    skip: int = 1
    max_points: int | None = None
    fast_path: bool = False  # bf16 + channels-last base model (bench.models.fast_path); off for paper numbers


def _discard_if_stale(partial: Path, identity: dict) -> None:
    """Keep a partial file only if it was made by the same model and settings."""
    sidecar = partial.with_suffix(".json")
    if partial.exists() and (not sidecar.exists() or json.loads(sidecar.read_text()) != identity):
        log.warning("discarding %s: it was made with another model or other settings", partial)
        partial.unlink()
    atomic_write_json(identity, sidecar)


def _done_indices(partial: Path) -> set[int]:
    """Indices already in ``partial``, after cutting a last row that a kill left half-written."""
    if not partial.exists():
        return set()
    text = partial.read_text()
    if not text.endswith("\n"):
        partial.write_text(text[: text.rfind("\n") + 1])
    if partial.stat().st_size == 0:
        return set()
    return set(pd.read_csv(partial, sep="\t")["idx"].tolist())


def certify_smoothing(model_path: str | Path, sigma: float, settings: SmoothingSettings, out_tsv: str | Path,
                      seed: int = 0, data_root: str | Path = "data", download: bool = False,
                      device: str = "auto", progress: bool = True, deterministic: bool | None = None) -> pd.DataFrame:
    """Run CERTIFY (Cohen et al.) with noise ``sigma`` on the test subset; write ``out_tsv`` and its JSON.
    ``deterministic``: see bench.device."""
    dev, out_tsv = resolve_device(device, deterministic), Path(out_tsv)
    model, run = load_trained(model_path, dev)
    spec = dataset_spec(run.dataset)
    test_set = load_dataset(run.dataset, "test", data_root, download)
    indices = evaluated_indices(len(test_set), settings.skip, settings.max_points)
    smoothed = Smooth(FastBase(model) if settings.fast_path else model, spec.num_classes, sigma)

    partial = out_tsv.with_name(out_tsv.name + ".partial")
    _discard_if_stale(partial, {"sigma": sigma, "seed": seed, "model_sha256": file_sha256(model_path),
                                **asdict(settings)})
    done = _done_indices(partial)
    if done:
        log.info("resuming %s: %d of %d points already certified", out_tsv, len(done), len(indices))
    fresh = not partial.exists() or partial.stat().st_size == 0
    with (explain_nondeterminism(f"certification of {model_path} at sigma {sigma}"),
          open(partial, "a", newline="") as handle):
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        if fresh:
            writer.writerow(COLUMNS)
        todo = [i for i in indices if i not in done]
        for idx in progress_lines(todo, f"certify sigma={sigma}", unit="points", enabled=progress):
            x, label = test_set[idx]
            began = time.perf_counter()
            noise = torch.Generator(dev).manual_seed(seed * 1_000_003 + idx)
            cert = smoothed.certify(x.to(dev), settings.n0, settings.n, settings.alpha,
                                    settings.batch_size, noise)
            writer.writerow([idx, int(label), cert.prediction, f"{cert.radius:.6f}",
                             int(cert.prediction == int(label)), f"{time.perf_counter() - began:.4f}",
                             f"{cert.pa_lower:.8f}"])
            handle.flush()
    frame = pd.read_csv(partial, sep="\t").sort_values("idx")
    write_rows(frame, out_tsv, {"certifier": "randomized_smoothing", "sigma": sigma, "seed": seed,
                                "num_points": len(frame), "num_test": len(test_set), "num_classes": spec.num_classes,
                                "run": asdict(run), "dataset_stand_in_for": spec.stand_in_for,
                                **training_provenance(model_path), "certified_on": describe_device(dev),
                                **asdict(settings)})
    partial.unlink()
    partial.with_suffix(".json").unlink(missing_ok=True)
    log.info("certified %d points at sigma %g: smoothed accuracy %.3f at radius 0, %d abstained, median radius "
             "of the correct ones %.3f", len(frame), sigma, frame["correct"].mean(),
             int((frame["predict"] == ABSTAIN).sum()), frame.loc[frame["correct"] == 1, "radius"].median())
    return frame

