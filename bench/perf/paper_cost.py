"""GPU hours a paper-scale target needs, before submitting it: ``python -m bench.perf.paper_cost [targets]``.

The jobs come from a forced dry run of the DAG at ``scale=paper`` (the same runs a cluster would get). Each job's
cost is its count of units times the seconds of one unit measured on this machine's device (``--device``):

- training (rules train, train_linf*): epochs x ceil(training images / batch) steps of the method's loss at the
  target eps / sigma, on the protocol's model and batch (random pixels; one warm-up step, then the median of two);
- randomized-smoothing certification: test points x (n0 + n) / batch forward passes of the base classifier;
- l_inf / l2 verification: test points x the seconds per point of PGD and every certifier of the run, measured
  on a batch of 4 points (``--points``; 1 where the exact bounds take minutes, e.g. on a CPU);
- EOT attacks (thesis ch. 2): test points x radii x the seconds per point of the attack and the 20-member
  prediction; gradient samples: test points x the seconds of 100 gradients; the transfer matrix: test points x the
  seconds per point of 50 PGD attacks and 50 x 50 predictions (each on a batch of 4 points).

Measured seconds are kept in a JSON file (``--timings``, default ``benchmarks/paper_cost.json``, written after
every unit, so an interrupted run resumes): measure once on the GPU you will use, then plan any target from the
file; ``--no-measure`` only reads it. A unit that could not be measured (e.g. Duet without its guide on disk) is
reported, never guessed. Data loading, checkpointing, the per-epoch evaluation some protocols add and work done
once per model (LipLT's certificate constants, computed in the warm-up call) are not counted.
"""
from __future__ import annotations

import argparse
import json
import math
import re
import subprocess
import sys
from pathlib import Path
from typing import Callable, Iterator

import torch
import yaml

from bench.io import atomic_write_json, parse_eps
from bench.perf import median_seconds
from bench.protocols import protocol_norm, resolve_protocol
from bench.reference import table_parts

# Images in the training and test split of each paper dataset (the standard splits the loaders read).
SPLIT_SIZES = {"mnist": (60_000, 10_000), "cifar10": (50_000, 10_000), "svhn": (73_257, 26_032),
               "imagenet": (1_281_167, 50_000), "tinyimagenet": (100_000, 10_000), "stl10": (5_000, 8_000)}
TRAIN_RULES = ("train", "train_linf", "train_linf_traced", "train_linf_lipschitz", "train_linf_concentration")
POINTS = 4  # test points per batch when measuring a per-point unit (--points)


def planned_jobs(targets: list[str], scale: str = "paper") -> list[tuple[str, dict]]:
    """(rule, wildcards) of every job the targets need, from ``snakemake -n --forceall``."""
    dry = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--forceall", "--config", f"scale={scale}", "--",
                          *targets], capture_output=True, text=True)
    if dry.returncode:
        raise SystemExit(f"the dry run failed:\n{dry.stdout[-3000:]}{dry.stderr[-3000:]}")
    return parse_dry_run(dry.stdout)


def parse_dry_run(text: str) -> list[tuple[str, dict]]:
    jobs, rule = [], None
    for line in text.splitlines():
        if match := re.match(r"^(?:local)?rule (\w+):$", line.strip()):
            rule = match.group(1)
        elif rule and (match := re.match(r"^wildcards: (.*)$", line.strip())):
            jobs.append((rule, dict(item.split("=", 1) for item in match.group(1).split(", "))))
            rule = None
    return jobs


def _points(settings: dict, test_size: int) -> int:
    points = math.ceil(test_size / settings.get("skip", 1))
    return min(points, settings["max_points"]) if settings.get("max_points") else points


def eot_radii(tables: dict, dataset: str) -> int:
    """How many radii the eot tables attack ``dataset`` at (``bench.eot``: one attack file covers them all)."""
    return len({eps for spec in tables.values() if spec.get("family") == "eot"
                for part in table_parts(**spec["reference"])
                if any(block["dataset"] == dataset for block in part["blocks"]) for eps in part["eval_eps"]})


def job_units(rule: str, w: dict, scale: dict, tables: dict | None = None) -> list[tuple[str, dict, float]]:
    """(kind, what to measure, how many times) of one job; empty for jobs that cost no device time."""
    network = {"dataset": w.get("dataset"), "model": w.get("model"), "method": w.get("method")}
    if rule == "attack_eot":
        settings = scale["attack_eot"][w["dataset"]]
        unit = {**network, "attack": w["attack"], "steps": settings["steps"], "members": settings["members"]}
        points = _points(settings, SPLIT_SIZES[w["dataset"]][1])
        return [("eot_point", unit, points * eot_radii(tables or {}, w["dataset"]))]
    if rule in ("analyse_gradient_samples", "analyse_transfer"):
        settings = scale["analysis"]["gradient_samples" if rule == "analyse_gradient_samples" else "transfer"]
        unit = {**network, **{key: settings[key] for key in ("samples", "members", "steps") if key in settings}}
        kind = "gradient_point" if rule == "analyse_gradient_samples" else "transfer_point"
        return [(kind, unit, _points(settings, SPLIT_SIZES[w["dataset"]][1]))]
    if rule == "train":
        settings = resolve_protocol(scale["train"][w["dataset"]], w["method"], float(w["sigma"]))
        unit = {"method": w["method"], "sigma": float(w["sigma"]), "eps": None, "norm": "linf"}
    elif rule in TRAIN_RULES:
        settings = resolve_protocol(scale["train_linf"][w["protocol"]], w["method"])
        unit = {"method": w["method"], "sigma": None, "eps": parse_eps(w["eps"]), "norm": protocol_norm(settings)}
    elif rule == "certify_smoothing":
        settings = scale["certify"][w["dataset"]]
        batches = _points(settings, SPLIT_SIZES[w["dataset"]][1]) * (settings["n0"] + settings["n"]) / settings["batch_size"]
        return [("forward", {"dataset": w["dataset"], "model": w["model"], "batch": settings["batch_size"]}, batches)]
    elif rule == "verify_linf":
        settings = scale["verify"][w["dataset"]]
        protocol = resolve_protocol(scale["train_linf"][w["protocol"]], w["method"])
        unit = {"dataset": w["dataset"], "model": w["model"], "method": w["method"], "norm": protocol_norm(protocol),
                "eps": parse_eps(w["test_eps"]), "certifiers": list(settings["certifiers"]),
                "pgd_steps": settings["pgd_steps"]}
        return [("verify_point", unit, _points(settings, SPLIT_SIZES[w["dataset"]][1]))]
    else:
        return []
    steps = settings["epochs"] * math.ceil(SPLIT_SIZES[w["dataset"]][0] / settings["batch_size"])
    unit.update(dataset=w["dataset"], model=w["model"], batch=settings["batch_size"],
                options=settings.get("options", {}), normalize=settings.get("normalize", True))
    return [("train_step", unit, steps)]


def unit_key(kind: str, unit: dict) -> str:
    """A unit's entry in the timing file. The radius (eps, sigma) is left out: every radius runs the same
    operations (no bound or attack of this suite stops early), so one measurement serves them all."""
    return f"{kind} {json.dumps({k: v for k, v in unit.items() if k not in ('eps', 'sigma')}, sort_keys=True)}"


def measure(kind: str, unit: dict, device: str, points: int = POINTS) -> float:
    """Seconds of one unit on ``device``: a training step, a forward batch, or the verification (attack,
    analysis) of one point, measured on a batch of ``points``."""
    from bench.data import dataset_spec
    from bench.methods import TrainContext, get_method
    from bench.models import build_model

    spec = dataset_spec(unit["dataset"])
    torch.manual_seed(0)
    model = build_model(unit["model"], spec, unit.get("normalize", True))
    method = get_method(unit["method"], unit.get("options")) if unit.get("method") else None
    if hasattr(method, "transform_model"):  # a randomized network's layers
        model = method.transform_model(model)
    model = model.to(device)
    batch = unit.get("batch", points)
    x = torch.rand(batch, *spec.shape, device=device)
    y = torch.randint(0, spec.num_classes, (batch,), device=device)
    if kind == "forward":
        model.eval()
        with torch.no_grad():
            return median_seconds(lambda: model(x), 0.0, 2)
    if kind in ("eot_point", "gradient_point", "transfer_point"):
        return _measure_randomized(kind, unit, model.eval(), x, y, device) / batch
    if kind == "train_step":
        if hasattr(method, "initialize"):
            method.initialize(model)
        optimizer = torch.optim.SGD(model.parameters(), 1e-6)
        ctx = TrainContext(0, 1, torch.Generator(device).manual_seed(0), sigma=unit["sigma"], eps=unit["eps"],
                           norm=unit["norm"], train_size=SPLIT_SIZES[unit["dataset"]][0])

        def step():
            optimizer.zero_grad(set_to_none=True)
            method.loss(model.train(), x, y, ctx).backward()
            optimizer.step()
        return median_seconds(step, 0.0, 2)
    from bench.attacks import pgd
    from bench.bounds import applies
    from bench.verify import verify_batch

    model.eval()
    own = getattr(get_method(unit["method"]), "certifiers", ())
    # as verify_model: the linear bounds are skipped on residual blocks
    certifiers = tuple(name for name in dict.fromkeys((*unit["certifiers"], *own)) if applies(model, name))
    generator = torch.Generator(device).manual_seed(0)

    def verify():
        pgd(model, x, y, unit["eps"], unit["pgd_steps"], unit["eps"] / 4, unit["norm"], generator)
        margins = verify_batch(model, x, y, unit["eps"], certifiers, unit["norm"], generator)
        if failed := [name for name, margin in margins.items() if margin.isnan().any()]:  # e.g. out of memory
            raise RuntimeError(f"certifier {', '.join(failed)} failed (its error is logged above)")
    return median_seconds(verify, 0.0, 1) / batch


def _measure_randomized(kind: str, unit: dict, model, x, y, device: str) -> float:
    """Seconds of one batch of an EOT attack with the ensemble's prediction, of the gradient samples, or of the
    transfer matrix's attacks and predictions (eps 0.03: the cost does not depend on it)."""
    from bench.analysis.transfer import SampleModel
    from bench.attacks import ensemble_evaluate, pgd
    from bench.eot import attack_batch, parse_attack
    from bench.methods.graddiv import sample_gradients

    generator = torch.Generator(device).manual_seed(0)
    if kind == "eot_point":
        attack, samples = parse_attack(unit["attack"])
        return median_seconds(lambda: ensemble_evaluate(
            model, attack_batch(model, x, y, 0.03, attack, samples, unit["steps"], generator), y, unit["members"]),
            0.0, 1)
    if kind == "gradient_point":
        return median_seconds(lambda: sample_gradients(model, x, y, unit["samples"]), 0.0, 1)
    members = [SampleModel(model, k) for k in range(unit["members"])]

    def transfer():
        for source in members:
            adv = pgd(source, x, y, 0.03, unit["steps"], 0.03 / 4, "linf", generator)
            with torch.no_grad():
                for target in members:
                    target(adv)
    return median_seconds(transfer, 0.0, 1)


Measure = Callable[[str, dict], float]  # (kind, unit) -> seconds


def plan(targets: list[str], timings: dict, config: dict, measure_unit: Measure | None = None,
         save: Callable[[dict], None] = lambda timings: None) -> Iterator[dict]:
    """Per target, as each is planned: device hours of training and of certification / verification, and the
    units not measured; with several targets, last, all of them together (runs they share counted once).
    Units ``timings`` lacks are measured by ``measure_unit`` (none: reported as not measured)."""
    failed: set[str] = set()
    for target in targets:
        yield {"target": target, **cost(planned_jobs([target]), timings, config, measure_unit, save, failed)}
    if len(targets) > 1:
        yield {"target": f"all {len(targets)} targets together",
               **cost(planned_jobs(targets), timings, config, measure_unit, save, failed)}


def cost(jobs: list[tuple[str, dict]], timings: dict, config: dict, measure_unit: Measure | None,
         save: Callable[[dict], None], failed: set[str]) -> dict:
    """Device hours of ``jobs``. ``save`` gets the timings after every new measurement, so an interrupted plan
    keeps what it measured; a unit that failed (kept in ``failed``) is not saved, so the next run tries again."""
    hours = {"train": 0.0, "certify": 0.0}
    missing, trainings = set(), 0
    for rule, wildcards in jobs:
        for kind, unit, count in job_units(rule, wildcards, config["scales"]["paper"], config["tables"]):
            key = unit_key(kind, unit)
            trainings += kind == "train_step"
            if key not in timings and key not in failed and measure_unit:
                name = f"{kind} {unit['dataset']}/{unit['model']}/{unit.get('method')}"
                try:
                    timings[key] = measure_unit(kind, unit)
                    print(f"  measured {name}: {timings[key]:.3g} s", file=sys.stderr, flush=True)
                    save(timings)
                except Exception as err:  # reported as not measured, never guessed
                    failed.add(key)
                    print(f"  not measured: {name}: {err}", file=sys.stderr, flush=True)
            seconds = timings.get(key)
            if seconds is None:
                missing.add(f"{kind} {unit.get('method', unit['model'])}")
                continue
            hours["train" if kind == "train_step" else "certify"] += count * seconds / 3600
    return {"trainings": trainings, **hours, "missing": sorted(missing)}


def _print_row(row: dict) -> None:
    total = f"{'>= ' if row['missing'] else ''}{row['train'] + row['certify']:.1f}"
    print(f"{row['target']:<44} {row['trainings']:>9} {row['train']:>9.1f} {row['certify']:>17.1f} {total:>9}",
          flush=True)
    if row["missing"]:
        print(f"  not counted (not measured): {', '.join(row['missing'])}", flush=True)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="+")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--timings", default="benchmarks/paper_cost.json")
    parser.add_argument("--no-measure", action="store_true", help="only read --timings")
    parser.add_argument("--points", type=int, default=POINTS,
                        help="test points per batch when measuring a per-point unit (1 on a slow device)")
    args = parser.parse_args(argv)
    path = Path(args.timings)
    timings = json.loads(path.read_text()) if path.exists() else {}
    config = yaml.safe_load(Path("config/config.yaml").read_text())
    device = torch.cuda.get_device_name(0) if args.device.startswith("cuda") else "cpu"
    print(f"device hours at paper scale, unit times measured on {device} (kept in {path})")
    print(f"{'target':<44} {'trainings':>9} {'train h':>9} {'certify/verify h':>17} {'total h':>9}")
    measure_unit = None if args.no_measure else lambda kind, unit: measure(kind, unit, args.device, args.points)
    for row in plan(args.targets, timings, config, measure_unit, lambda timings: atomic_write_json(timings, path)):
        _print_row(row)


if __name__ == "__main__":
    main()
