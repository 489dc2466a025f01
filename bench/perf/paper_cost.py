"""GPU hours a paper-scale target needs, before submitting it: ``python -m bench.perf.paper_cost [targets]``.

The jobs come from a forced dry run of the DAG at ``scale=paper`` (the same runs a cluster would get). Each job's
cost is its count of units times the seconds of one unit measured on this machine's device (``--device``):

- training (rules train, train_linf*): epochs x ceil(training images / batch) steps of the method's loss at the
  target eps / sigma, on the protocol's model and batch (random pixels; one warm-up step, then the median of two),
  measured apart for the warm-up (eps 0), ramp-up (half-way) and last epochs of the protocol's eps schedule, whose
  steps can differ (a plain cross-entropy; both bounds of a beta schedule); plus what a protocol adds to its
  steps: the loss at eps_train without gradients (``log_target_loss``, thesis fig. 3.8), a randomized network's
  gradient samples (``log_concentration``, fig. 2.3), and every ``trace_every``-th step's trace (``bench.traces``);
- randomized-smoothing certification: test points x (n0 + n) / batch forward passes of the base classifier;
- l_inf / l2 verification: test points x the seconds per point of PGD and every certifier of the run, measured
  on a batch of 4 points (``--points``; 1 where the exact bounds take minutes, e.g. on a CPU), plus once per job
  what the first call took beyond the second (LipLT's certificate constants, computed once per model);
- EOT attacks (thesis ch. 2): test points x radii x the seconds per point of the attack and the 20-member
  prediction; gradient samples: test points x the seconds of 100 gradients; the transfer matrix: test points x the
  seconds per point of 50 PGD attacks and 50 x 50 predictions (each on a batch of 4 points).

Measured seconds are kept in a JSON file (``--timings``, default ``benchmarks/paper_cost.json``, written after every
unit, so an interrupted run resumes): measure once on the GPU you will use, then plan any target from the file;
``--no-measure`` only reads it. A unit that could not be measured (e.g. out of memory) is reported, never guessed.
Duet is measured with a stand-in guide of its architecture (the guide's weights change no cost). A device without
the memory for a protocol's batch measures a smaller one (``--max-batch``), scaled by the batch ratio and listed as
such. Data loading, checkpointing, and the per-epoch evaluation and logs some protocols add are not counted. A
machine without snakemake measures the units of a file written where the DAG is (``--write-units`` here, ``--units``
there; ``make paper-units``, ``make perf-device``).
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
from bench.perf.unit_time import POINTS, SPLIT_SIZES, TRAINING_KINDS, measure
from bench.protocols import protocol_norm, resolve_protocol
from bench.reference import table_parts

TRAIN_RULES = ("train", "train_linf", "train_linf_traced", "train_linf_lipschitz", "train_linf_concentration")


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
        points = _points(settings, SPLIT_SIZES[w["dataset"]][1])
        batches = points * (settings["n0"] + settings["n"]) / settings["batch_size"]
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
    unit.update(dataset=w["dataset"], model=w["model"], batch=settings["batch_size"],
                options=settings.get("options", {}), normalize=settings.get("normalize", True))
    per_epoch = math.ceil(SPLIT_SIZES[w["dataset"]][0] / settings["batch_size"])
    units = [("train_step", {**unit, **({"ramp": ramp} if ramp != 1 else {})}, epochs * per_epoch)
             for ramp, epochs in ramp_phases(settings) if epochs]
    steps = settings["epochs"] * per_epoch  # work some protocols add to their steps (bench.train):
    if settings.get("log_target_loss"):  # the loss at eps_train without gradients, every step
        units.append(("target_loss", unit, steps))
    if settings.get("log_concentration"):  # 3 gradient samples of a randomized network, every step
        units.append(("concentration", unit, steps))
    if settings.get("trace_every"):  # a traced step's extra gradients and losses
        units.append(("trace", unit, math.ceil(steps / settings["trace_every"])))
    return units


def ramp_phases(settings: dict) -> list[tuple[float, int]]:
    """(ramp, epochs) of a training's schedule (``bench.methods.schedules.ramp_fraction``): warm-up at eps 0
    (a plain cross-entropy step for the certified losses), ramp-up (measured half-way: a beta schedule of 1 -> 0
    then computes both bounds, which its last epochs skip), then the target eps."""
    epochs = settings["epochs"]
    warmup = min(settings.get("warmup_epochs", 0), epochs)
    rampup = min(settings.get("rampup_epochs", 0), epochs - warmup)
    return [(0.0, warmup), (0.5, rampup), (1.0, epochs - warmup - rampup)]


def unit_key(kind: str, unit: dict) -> str:
    """A unit's entry in the timing file. The radius (eps, sigma) is left out: every radius runs the same
    operations (no bound or attack of this suite stops early), so one measurement serves them all."""
    return f"{kind} {json.dumps({k: v for k, v in unit.items() if k not in ('eps', 'sigma')}, sort_keys=True)}"


Measure = Callable[[str, dict], "float | dict"]  # (kind, unit) -> seconds, or measure's scaled entry


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
    missing, scaled, trainings = set(), set(), 0
    for rule, wildcards in jobs:
        units = job_units(rule, wildcards, config["scales"]["paper"], config["tables"])
        trainings += any(kind == "train_step" for kind, _, _ in units)
        for kind, unit, count in units:
            key = unit_key(kind, unit)
            if measure_unit:
                measure_missing(kind, unit, timings, measure_unit, save, failed)
            name = f"{kind} {unit.get('method', unit['model'])}"
            if key not in timings:
                missing.add(name)
                continue
            entry = timings[key]
            if isinstance(entry, dict) and "measured_batch" in entry:
                scaled.add(f"{name} (batch {unit['batch']} from {entry['measured_batch']})")
            once = entry.get("once", 0.0) if isinstance(entry, dict) else 0.0  # per job: the unit's setup
            hours["train" if kind in TRAINING_KINDS else "certify"] += (count * _seconds(entry) + once) / 3600
    return {"trainings": trainings, **hours, "missing": sorted(missing), "scaled": sorted(scaled)}


def measure_missing(kind: str, unit: dict, timings: dict, measure_unit: Measure, save: Callable[[dict], None],
                    failed: set[str]) -> None:
    """Measure a unit ``timings`` lacks and ``save`` them; a failure is reported, kept in ``failed``, not saved."""
    key = unit_key(kind, unit)
    if key in timings or key in failed:
        return
    name = f"{kind} {unit['dataset']}/{unit['model']}/{unit.get('method')}"
    try:
        timings[key] = measure_unit(kind, unit)
        print(f"  measured {name}: {_seconds(timings[key]):.3g} s", file=sys.stderr, flush=True)
        save(timings)
    except Exception as err:  # reported as not measured, never guessed
        failed.add(key)
        print(f"  not measured: {name}: {err}", file=sys.stderr, flush=True)


def needed_units(targets: list[str], config: dict) -> list[dict]:
    """Every distinct unit the targets' jobs need, as ``{"kind", "unit"}``, for ``--write-units``."""
    units = {}
    for rule, wildcards in planned_jobs(targets):
        for kind, unit, _ in job_units(rule, wildcards, config["scales"]["paper"], config["tables"]):
            units.setdefault(unit_key(kind, unit), {"kind": kind, "unit": unit})
    return list(units.values())


def _seconds(entry: float | dict) -> float:
    """A timing file's entry: seconds, or ``measure``'s ``{"seconds", "measured_batch" or "once"}``."""
    return entry["seconds"] if isinstance(entry, dict) else entry


def _print_row(row: dict) -> None:
    total = f"{'>= ' if row['missing'] else ''}{row['train'] + row['certify']:.1f}"
    print(f"{row['target']:<44} {row['trainings']:>9} {row['train']:>9.1f} {row['certify']:>17.1f} {total:>9}",
          flush=True)
    if row["missing"]:
        print(f"  not counted (not measured): {', '.join(row['missing'])}", flush=True)
    if row.get("scaled"):
        print(f"  scaled from a smaller batch (--max-batch): {', '.join(row['scaled'])}", flush=True)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="*")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--timings", default="benchmarks/paper_cost.json")
    parser.add_argument("--no-measure", action="store_true", help="only read --timings")
    parser.add_argument("--points", type=int, default=POINTS,
                        help="test points per batch when measuring a per-point unit (1 on a slow device)")
    parser.add_argument("--max-batch", type=int, help="measure larger training / forward batches on this many "
                        "images and scale by the batch ratio (a device without the memory for the full batch)")
    parser.add_argument("--write-units", metavar="FILE", help="write the distinct units the targets need to FILE "
                        "and stop: measure them with --units where snakemake is not installed")
    parser.add_argument("--units", metavar="FILE", help="measure the units of FILE (from --write-units) into "
                        "--timings, without a dry run; plan from that file later with --no-measure")
    args = parser.parse_args(argv)
    if not args.targets and not args.units:
        parser.error("name the targets to plan (or --units FILE to measure)")
    path = Path(args.timings)
    timings = json.loads(path.read_text()) if path.exists() else {}
    config = yaml.safe_load(Path("config/config.yaml").read_text())
    if args.write_units:
        units = needed_units(args.targets, config)
        atomic_write_json(units, args.write_units)
        print(f"{len(units)} units written to {args.write_units}")
        return
    if args.units and args.no_measure:
        parser.error("--units measures: drop --no-measure")
    device = torch.cuda.get_device_name(0) if args.device.startswith("cuda") else "cpu"
    measure_unit = None if args.no_measure else (
        lambda kind, unit: measure(kind, unit, args.device, args.points, args.max_batch))

    def save(timings: dict) -> None:
        atomic_write_json(timings, path)
    if args.units:
        failed: set[str] = set()
        for entry in json.loads(Path(args.units).read_text()):
            measure_missing(entry["kind"], entry["unit"], timings, measure_unit, save, failed)
        print(f"{len(timings)} unit times on {device} in {path}; {len(failed)} could not be measured")
        return
    print(f"device hours at paper scale, unit times measured on {device} (kept in {path})")
    print(f"{'target':<44} {'trainings':>9} {'train h':>9} {'certify/verify h':>17} {'total h':>9}")
    for row in plan(args.targets, timings, config, measure_unit, save):
        _print_row(row)


if __name__ == "__main__":
    main()
