"""Accuracy of a trained network under EOT attacks, per test point and radius (thesis sec. 2.2.4, Tables 2.1, A.2-A.5).

An attack is named ``{fgsm|pgd}_n{n}``: EOT-FGSM (one step of eps from the image) or EOT-PGD (``steps`` steps of
eps / 4 from a random start, m = 20 in the thesis), each step along the mean of n gradient samples
(``bench.attacks``). A point counts as robust when the prediction on its adversarial image is its label, the
prediction of a randomized network being the class of the mean softmax of ``members`` sample models (20 in the
thesis). A deterministic network is one sample model: it is attacked with one gradient sample whatever n the
table prints and predicts as itself (``bench.protocols.effective_samples``).
"""
from __future__ import annotations

import logging
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd
import torch

from bench.attacks import ensemble_evaluate, eot_fgsm, pgd
from bench.data import load_dataset
from bench.data.registry import batches
from bench.device import describe_device, resolve_device
from bench.io import evaluated_indices, training_provenance, write_rows
from bench.models.randomized import is_randomized, sampling
from bench.protocols import randomized_method
from bench.train import load_trained

log = logging.getLogger(__name__)
ATTACK = re.compile(r"(fgsm|pgd)_n([1-9]\d*)")


@dataclass(frozen=True)
class EOTSettings:
    steps: int = 20          # EOT-PGD iterations m
    members: int = 20        # sample models in a randomized network's prediction
    batch_size: int = 100
    skip: int = 1
    max_points: int | None = None


def parse_attack(name: str) -> tuple[str, int]:
    """'pgd_n10' -> ('pgd', 10)."""
    match = ATTACK.fullmatch(name)
    if not match:
        raise ValueError(f"unknown EOT attack {name!r}: write fgsm_n<samples> or pgd_n<samples>, e.g. pgd_n20")
    return match[1], int(match[2])


def attack_batch(model, x, y, eps, kind, samples, steps, generator):
    if eps == 0:
        return x
    if kind == "fgsm":
        return eot_fgsm(model, x, y, eps, samples)
    return pgd(model, x, y, eps, steps, eps / 4, "linf", generator, samples=samples)


def evaluate_eot(model_path: str | Path, attack: str, eps_values: list[float], settings: EOTSettings,
                 out_tsv: str | Path, seed: int = 0, data_root: str | Path = "data", download: bool = False,
                 device: str = "auto", progress: bool = True) -> pd.DataFrame:
    """One row per evaluated test point and radius: label, prediction on the adversarial image, robust, and the
    expected loss there over the ensemble's sample models; writes ``out_tsv`` with its provenance."""
    dev = resolve_device(device)
    model, run = load_trained(model_path, dev)
    kind, samples = parse_attack(attack)
    randomized = is_randomized(model)
    if randomized != randomized_method(run.method):
        raise ValueError(f"{run.method}'s network is {'' if randomized else 'not '}randomized, but "
                         f"bench.protocols.RANDOMIZED says otherwise")
    if not randomized and samples != 1:
        raise ValueError(f"{run.method} is deterministic: attack it with one gradient sample ({kind}_n1)")
    members = settings.members if randomized else 1
    test_set = load_dataset(run.dataset, "test", data_root, download)
    indices = evaluated_indices(len(test_set), settings.skip, settings.max_points)
    generator = torch.Generator(dev).manual_seed(seed)
    rows = []
    with sampling(model, generator):
        for eps in eps_values:
            for idx, x, y in batches(test_set, indices, settings.batch_size, dev, f"{attack} eps={eps:.4g}",
                                     progress):
                adv = attack_batch(model, x, y, eps, kind, samples, settings.steps, generator)
                predict, loss = ensemble_evaluate(model, adv, y, members)
                rows += [{"idx": i, "eps": eps, "label": int(y[k]), "predict": int(predict[k]),
                          "robust": bool(predict[k] == y[k]), "loss": round(float(loss[k]), 6)}
                         for k, i in enumerate(idx)]
    frame = pd.DataFrame(rows)
    write_rows(frame, out_tsv, {"run": asdict(run), "attack": attack, "kind": kind, "samples": samples,
                                "members": members, "seed": seed, "settings": asdict(settings),
                                **training_provenance(model_path), "evaluated_on": describe_device(dev)})
    accuracy = frame.groupby("eps")["robust"].mean()
    log.info("%s on %s: accuracy %s", attack, run.method,
             ", ".join(f"{100 * a:.1f} % at {e:.4g}" for e, a in accuracy.items()))
    return frame
