"""Seconds of one unit of a paper-scale job on a device, for the cost planner (``bench.perf.paper_cost``): a
training step or what a protocol adds to one, a forward batch of the smoothing classifier, or the verification,
EOT attack, gradient samples or transfer attacks of one test point. Random pixels, the protocol's model and
batch; one warm-up call, then the median of two (one for the EOT and analysis units); a verification is timed on
its first and second calls."""
from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

import torch

from bench.methods import TrainContext
from bench.perf import call_seconds, median_seconds

# Images in the training and test split of each paper dataset (the standard splits the loaders read).
SPLIT_SIZES = {"mnist": (60_000, 10_000), "cifar10": (50_000, 10_000), "svhn": (73_257, 26_032),
               "imagenet": (1_281_167, 50_000), "tinyimagenet": (100_000, 10_000), "stl10": (5_000, 8_000)}
POINTS = 4  # test points per batch when measuring a per-point unit (--points)
TRAINING_KINDS = ("train_step", "target_loss", "concentration", "trace")  # the units of a training job


def measure(kind: str, unit: dict, device: str, points: int = POINTS, max_batch: int | None = None) -> float | dict:
    """Seconds of one unit on ``device``: a training step, a forward batch, or the verification (attack,
    analysis) of one point, measured on a batch of ``points``. A verification returns ``{"seconds": ..., "once":
    ...}``: per point, and what its first call took beyond the next, the work a job does once per model (LipLT's
    certificate constants; the device's warm-up). A step or forward batch larger than ``max_batch``
    is measured on ``max_batch`` images and scaled by the ratio of batch sizes: returned as ``{"seconds": ...,
    "measured_batch": ...}`` so the plan can say so (an upper bound where a full batch would use the device
    better, as on a GPU; about exact on a CPU)."""
    batch = unit.get("batch", points)
    if max_batch and "batch" in unit and batch > max_batch:
        seconds = measure(kind, {**unit, "batch": max_batch}, device, points)  # a training step or forward batch
        return {"seconds": seconds * batch / max_batch, "measured_batch": max_batch}
    with tempfile.TemporaryDirectory(prefix="paper_cost_") as scratch:  # for a stand-in guide's checkpoint
        return _measure(kind, unit, device, batch, Path(scratch))


def _measure(kind: str, unit: dict, device: str, batch: int, scratch: Path) -> float | dict:
    from bench.data import dataset_spec
    from bench.methods import get_method
    from bench.models import build_model

    spec = dataset_spec(unit["dataset"])
    torch.manual_seed(0)
    model = build_model(unit["model"], spec, unit.get("normalize", True))
    method = get_method(unit["method"], unit.get("options")) if unit.get("method") else None
    if hasattr(method, "guide"):  # Duet: its guide's weights change no cost; a same-architecture stand-in
        method = _with_stand_in_guide(method, unit, scratch / "guide.pt")
    if hasattr(method, "transform_model"):  # a randomized network's layers
        model = method.transform_model(model)
    model = model.to(device)
    x = torch.rand(batch, *spec.shape, device=device)
    y = torch.randint(0, spec.num_classes, (batch,), device=device)
    if kind == "forward":
        model.eval()
        with torch.no_grad():
            return median_seconds(lambda: model(x), 0.0, 2)
    if kind in ("eot_point", "gradient_point", "transfer_point"):
        return _measure_randomized(kind, unit, model.eval(), x, y, device) / batch
    if kind in TRAINING_KINDS:
        return _measure_training(kind, method, model, x, y, unit, device)
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
    first, steady = call_seconds(verify), call_seconds(verify)  # the first with work done once per model
    return {"seconds": steady / batch, "once": max(first - steady, 0.0)}


def _measure_training(kind: str, method, model, x, y, unit: dict, device: str) -> float:
    """A training step at the unit's ramp, or what the trainer adds to one (``bench.train``): the loss at
    eps_train without gradients, GradDiv's concentration measures, a trace."""
    if hasattr(method, "initialize"):
        method.initialize(model)
    ctx = TrainContext(0, 1, torch.Generator(device).manual_seed(0), sigma=unit["sigma"], eps=unit["eps"],
                       ramp=unit.get("ramp", 1.0), norm=unit["norm"], train_size=SPLIT_SIZES[unit["dataset"]][0])
    model.train()
    if kind in ("concentration", "trace"):
        return median_seconds(_step_logger(kind, method, model, x, y, ctx), 0.0, 2)
    if kind == "target_loss":  # as the trainer logs it: at the end of the schedule
        from bench.train import target_loss
        return median_seconds(lambda: target_loss(method, model, x, y, replace(ctx, ramp=1.0)), 0.0, 2)
    optimizer = torch.optim.SGD(model.parameters(), 1e-6)

    def step():
        optimizer.zero_grad(set_to_none=True)
        method.loss(model, x, y, ctx).backward()
        optimizer.step()
    return median_seconds(step, 0.0, 2)


def _step_logger(kind: str, method, model, x, y, ctx):
    """What the trainer adds to a step (``bench.train``): GradDiv's concentration measures, or a trace's work
    before and after the step (gradients at theta_t and theta_t+1, losses along the step, ReLU bounds)."""
    if kind == "concentration":
        from bench.concentration import ConcentrationLog
        log = ConcentrationLog()
        return lambda: log.measure(model, x, y, torch.Generator(x.device).manual_seed(0))
    from bench.traces import Tracer
    tracer = Tracer(method, model, every=1)

    def trace():
        tracer.before_step(x, y, ctx, seed=0, lr=1e-6)
        tracer.after_step(0, 0.0, ctx)
    return trace


def _with_stand_in_guide(method, unit: dict, path: Path):
    """``method`` guided by a randomly initialised model of the unit's architecture (the guide run's checkpoint
    is not on disk before the DAG runs). The step's cost does not depend on the guide's weights: its rotations are
    computed once, then every step multiplies by matrices of the same shapes."""
    from bench.data import dataset_spec
    from bench.io import atomic_torch_save
    from bench.models import build_model

    torch.manual_seed(1)
    guide = build_model(unit["model"], dataset_spec(unit["dataset"]), unit.get("normalize", True))
    atomic_torch_save({"state_dict": guide.state_dict()}, path)
    return replace(method, guide=str(path))


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
