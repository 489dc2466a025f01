"""The single training engine shared by every method.

Deterministic: the model is initialised from ``seed`` and every epoch draws its data order and its
noise from generators seeded by (seed, epoch), so a run resumed from the checkpoint of epoch k
continues exactly as the uninterrupted run would. The checkpoint is rewritten atomically after
every epoch, the previous one kept beside it: a checkpoint that cannot be read is moved aside with a warning
and training resumes from the last readable state. ``model.pt`` (weights + run metadata) is written once at
the end. A step whose loss is not finite is skipped, logged, and counted in ``metrics.csv``
(``skipped_steps``), beside each epoch's cost: seconds and peak memory (``bench.device.peak_memory_mb``: CUDA
memory allocated, or the process's peak RSS on CPU). With ``select_best`` the model is also verified on the test
set after every epoch and ``best.pt`` keeps the best one (thesis table 3.3 selects its checkpoint that way).
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import pandas as pd
import torch
from torch.utils.data import DataLoader

from bench.bounds.lipschitz import layer_norms
from bench.concentration import CONCENTRATION, ConcentrationLog
from bench.data import dataset_spec, load_dataset
from bench.data.augment import AUGMENTATIONS
from bench.data.on_device import DeviceBatches, epoch_batches
from bench.device import (describe_device, explain_nondeterminism, peak_memory_mb, reset_peak_memory,
                          resolve_device)
from bench.io import CheckpointError, atomic_torch_save, atomic_write_text, load_checkpoint
from bench.logs import progress as progress_lines
from bench.methods import TrainContext, get_method
from bench.methods.schedules import ramp_fraction
from bench.protocols import check_norm
from bench.models import build_model
from bench.models.randomized import is_randomized
from bench.selection import own_certifiers, test_metrics
from bench.traces import SLOPES, TRACE, Tracer, restoring_buffers

log = logging.getLogger(__name__)
CHECKPOINT, PREVIOUS, FINAL = "checkpoint.pt", "checkpoint.prev.pt", "model.pt"
BEST, METRICS, LIPSCHITZ = "best.pt", "metrics.csv", "lipschitz.csv"


@dataclass(frozen=True)
class TrainSettings:
    """Optimisation protocol: SGD (with momentum) or Adam; the learning rate is multiplied by ``lr_gamma``
    every ``lr_step_epochs`` epochs, or at each epoch of ``lr_milestones`` when given, or follows a cosine from
    ``lr`` to 0 over the epochs with ``lr_schedule: cosine``, or with ``lr_schedule: exponential`` stays at ``lr``
    until epoch ``lr_decay_start`` and then decays geometrically to ``lr_end`` at the last epoch (Huang et al.
    2021's schedule). ``augment`` names the
    training augmentation (``bench.data.augment``); ``normalize`` puts the dataset's mean/std normalisation
    in front of the model (pixel-space eps either way). Certified training adds the eps schedule:
    ``warmup_epochs`` at eps = 0, then ``rampup_epochs`` of linear ramp-up. ``grad_clip`` bounds the
    gradient's l2 norm (Shi et al. 2021 clip at 10); ``select_best`` verifies every ``select_skip``-th test
    point after each epoch with the method's own bounds and keeps the best model; ``log_test_metrics`` logs
    clean and certified accuracy and loss on those points after each epoch (duet figs. 2-3); ``log_target_loss`` also
    logs the method's objective at the target eps (``target_loss`` in metrics.csv, thesis fig. 3.8 top);
    ``trace_every`` = k > 0 traces every k-th step (``bench.traces``: loss variation, gradient distance, ReLU
    states) into trace.csv and relu_slopes.csv; ``log_lipschitz`` writes the l2 operator norm of every linear
    and convolutional layer after each epoch into lipschitz.csv (sac fig. 1). ``options`` set the method's
    hyper-parameters (its dataclass fields, e.g. SmoothAdv's eps / steps / m), the paper's when left out."""
    epochs: int
    batch_size: int
    lr: float
    momentum: float
    weight_decay: float
    lr_step_epochs: int
    lr_gamma: float
    augment: str = "none"
    normalize: bool = True
    num_workers: int = 0
    optimizer: str = "sgd"
    lr_schedule: str = "step"
    lr_milestones: tuple[int, ...] = ()
    lr_end: float | None = None
    lr_decay_start: int = 0
    warmup_epochs: int = 0
    rampup_epochs: int = 0
    grad_clip: float | None = None
    select_best: bool = False
    select_skip: int = 1
    log_target_loss: bool = False
    log_test_metrics: bool = False
    trace_every: int = 0
    log_lipschitz: bool = False
    log_concentration: bool = False
    data_on_device: bool = False
    norm: str = "linf"
    options: dict = field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "lr_milestones", tuple(self.lr_milestones))
        if self.optimizer not in ("sgd", "adam"):
            raise ValueError(f"optimizer must be 'sgd' or 'adam', got {self.optimizer!r}")
        if self.lr_schedule not in ("step", "cosine", "exponential"):
            raise ValueError(f"lr_schedule must be 'step', 'cosine' or 'exponential', got {self.lr_schedule!r}")
        if self.lr_schedule == "exponential" and not (self.lr_end and 0 <= self.lr_decay_start < self.epochs):
            raise ValueError("lr_schedule 'exponential' needs lr_end > 0 and 0 <= lr_decay_start < epochs")
        if self.norm not in ("linf", "l2"):
            raise ValueError(f"norm must be 'linf' or 'l2', got {self.norm!r}")
        if self.augment not in AUGMENTATIONS:
            raise ValueError(f"unknown augmentation {self.augment!r}; known: {', '.join(AUGMENTATIONS)}")


@dataclass(frozen=True)
class RunSpec:
    dataset: str
    model: str
    method: str
    seed: int
    sigma: float | None = None
    eps: float | None = None  # training radius (l_inf family)


def epoch_seed(seed: int, epoch: int, stream: int = 0) -> int:
    """A distinct, reproducible seed per (run seed, epoch, stream)."""
    return (seed * 1_000_003 + epoch) * 7 + stream


def train(run: RunSpec, settings: TrainSettings, out_dir: str | Path, data_root: str | Path = "data",
          download: bool = False, device: str = "auto", progress: bool = True,
          deterministic: bool | None = None) -> Path:
    """Train ``run`` under ``settings`` into ``out_dir``; resume from its checkpoint if one exists.
    ``deterministic`` (bench.device; None: the configured mode, true by default): the same seed gives the same
    bytes on a GPU too."""
    dev = resolve_device(device, deterministic)
    with explain_nondeterminism(f"training of {run.method} ({run.model} on {run.dataset})"):
        return _train(run, settings, Path(out_dir), data_root, download, dev, progress)


def _train(run: RunSpec, settings: TrainSettings, out_dir: Path, data_root, download: bool, dev: torch.device,
           progress: bool) -> Path:
    method, spec = get_method(run.method, settings.options), dataset_spec(run.dataset)
    check_norm(run.method, settings.norm)
    evaluates = settings.select_best or settings.log_test_metrics
    if evaluates and run.eps is None:
        raise ValueError("select_best and log_test_metrics verify at the run's training radius, but this run has "
                         "no eps")
    train_set = load_dataset(run.dataset, "train", data_root, download, settings.augment)
    on_device = (DeviceBatches(load_dataset(run.dataset, "train", data_root, download), dev, settings.augment)
                 if settings.data_on_device else None)

    torch.manual_seed(run.seed)
    model = build_model(run.model, spec, settings.normalize).to(dev)
    if hasattr(method, "transform_model"):  # a randomized network's layers (RSE's noise, Adv-BNN's posteriors)
        model = method.transform_model(model)
    if hasattr(method, "initialize"):  # e.g. the IBP initialization of Shi et al. (2021)
        method.initialize(model)
    test_set = load_dataset(run.dataset, "test", data_root, download) if evaluates else None
    # a bi-level method (SaC) trains some parameters (its masks) with its own optimizer, on a second batch
    upper = list(method.upper_parameters(model)) if hasattr(method, "upper_parameters") else []
    optimizer, scheduler = make_optimizer(model, settings, exclude=upper)
    upper_optimizer, upper_scheduler = method.upper_optimizer(upper, settings) if upper else (None, None)
    start, history, traced, norms, gradients = 0, [], {}, [], []
    identity = {"run": asdict(run), "settings": asdict(settings)}
    state = _last_readable_state(out_dir, identity, dev)
    if state is not None:
        model.load_state_dict(state["model"])
        restore_training_buffers(model, state.get("buffers", {}))
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        start, history, traced = state["epoch"], state["history"], state.get("trace", {})
        norms, gradients = state.get("lipschitz", []), state.get("concentration", [])
        _restore_rng(state.get("rng"), dev)
        if upper:
            upper_optimizer.load_state_dict(state["upper_optimizer"])
            upper_scheduler.load_state_dict(state["upper_scheduler"])
        log.info("resuming %s from epoch %d of %d", out_dir, start, settings.epochs)
    tracer = Tracer(method, model, settings.trace_every, **traced) if settings.trace_every else None
    concentration = (ConcentrationLog(rows=gradients) if settings.log_concentration and is_randomized(model)
                     else None)

    for epoch in range(start, settings.epochs):
        began = time.perf_counter()
        loader = epoch_batches(train_set, on_device, settings.batch_size, settings.num_workers,
                               torch.Generator().manual_seed(epoch_seed(run.seed, epoch)),
                               torch.Generator(dev).manual_seed(epoch_seed(run.seed, epoch, stream=6)))
        noise = torch.Generator(dev).manual_seed(epoch_seed(run.seed, epoch, stream=1))
        upper_batches = iter(DataLoader(train_set, settings.batch_size, shuffle=True, num_workers=settings.num_workers,
                                        generator=torch.Generator().manual_seed(epoch_seed(run.seed, epoch, stream=4)))
                             ) if upper else None
        probe = (torch.Generator(dev).manual_seed(epoch_seed(run.seed, epoch, stream=2))
                 if settings.log_target_loss else None)  # its own stream: logging never changes the weights
        measured = (torch.Generator(dev).manual_seed(epoch_seed(run.seed, epoch, stream=5))
                    if concentration else None)
        model.train()
        reset_peak_memory(dev)
        total, target_total, seen, skipped = 0.0, 0.0, 0, 0
        batches = progress_lines(loader, f"epoch {epoch + 1}/{settings.epochs}", unit="batch", enabled=progress,
                                 every_seconds=60)
        for batch, (x, y) in enumerate(batches):
            x, y = x.to(dev, non_blocking=True), y.to(dev, non_blocking=True)
            ramp = ramp_fraction(epoch * len(loader) + batch, len(loader), settings.warmup_epochs,
                                 settings.rampup_epochs)
            ctx = TrainContext(epoch, settings.epochs, noise, run.sigma, run.eps, ramp, settings.norm, len(train_set))
            step = epoch * len(loader) + batch
            tracing = tracer is not None and tracer.due(step)
            if tracing:  # its own stream (3), weights and buffers restored: the trained bytes do not change
                tracer.before_step(x, y, ctx, epoch_seed(run.seed, step, stream=3), optimizer.param_groups[0]["lr"])
            if probe is not None:  # before the training loss, whose graph holds the BatchNorm buffers
                target = target_loss(method, model, x, y, replace(ctx, ramp=1.0, generator=probe))
            if concentration is not None:
                concentration.measure(model, x, y, measured)
            loss = method.loss(model, x, y, ctx)
            if not torch.isfinite(loss):  # a blown-up bound would poison the weights: skip, and report it
                skipped += 1
                if tracing:
                    tracer.discard()
                continue
            if probe is not None:
                target_total += target * len(y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if settings.grad_clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), settings.grad_clip)
            optimizer.step()
            if upper:
                skipped += upper_step(method, model, next(upper_batches), ctx, upper_optimizer, dev)
            if tracing:
                tracer.after_step(step, epoch + batch / len(loader), ctx)
            total, seen = total + loss.item() * len(y), seen + len(y)
        lr = optimizer.param_groups[0]["lr"]
        scheduler.step()
        if upper:
            upper_scheduler.step()
        if concentration is not None:
            concentration.end_epoch(epoch + 1)
        if settings.log_lipschitz:
            norms += [{"epoch": epoch + 1, **vars(norm)} for norm in layer_norms(model, spec.shape)]
        mean_loss = total / seen if seen else float("nan")
        history.append({"epoch": epoch + 1, "loss": mean_loss, "lr": lr, "eps": (run.eps or 0.0) * ramp,
                        "seconds": round(time.perf_counter() - began, 3), "skipped_steps": skipped,
                        "peak_memory_mb": round(peak_memory_mb(dev), 1)})
        if probe is not None:
            history[-1]["target_loss"] = target_total / seen if seen else float("nan")
        log.info("epoch %d/%d loss %.4f lr %.4g", epoch + 1, settings.epochs, mean_loss, lr)
        if skipped:
            log.warning("epoch %d: skipped %d of %d steps whose loss was not finite", epoch + 1, skipped, len(loader))
        if test_set is not None:
            _select(model, method, run, settings, test_set, history, out_dir / BEST, identity, noise)
        if (out_dir / CHECKPOINT).exists():
            os.replace(out_dir / CHECKPOINT, out_dir / PREVIOUS)
        atomic_torch_save({"identity": identity, "epoch": epoch + 1, "model": model.state_dict(),
                           "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                           "history": history, "lipschitz": norms,
                           "concentration": concentration.rows if concentration else [], "rng": _rng_state(dev),
                           "buffers": training_buffers(model),
                           **({"upper_optimizer": upper_optimizer.state_dict(),
                               "upper_scheduler": upper_scheduler.state_dict()} if upper else {}),
                           **({"trace": {"rows": tracer.rows, "slopes": tracer.slopes}}
                                                   if tracer else {})}, out_dir / CHECKPOINT)
        _write_tables(out_dir, history, tracer, norms, concentration)

    _write_tables(out_dir, history, tracer, norms, concentration)  # also when resumed at the end
    if hasattr(method, "finalize"):  # e.g. SaC: the saved network is the shrunk one
        method.finalize(model)
    atomic_torch_save({"state_dict": model.state_dict(),
                       "meta": {**identity, "trained_on": describe_device(dev)}}, out_dir / FINAL)
    last = history[-1] if history else {}
    log.info("trained %s: %d epochs, final loss %.4f, %.0f s of training in all", out_dir, len(history),
             last.get("loss", float("nan")), sum(h["seconds"] for h in history))
    return out_dir / FINAL


def training_buffers(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The model's non-persistent buffers (e.g. BCP's power-iteration vectors): training state, which the
    checkpoint keeps so that a resumed run ends with the same bytes, and the exported model does not."""
    persistent = model.state_dict().keys()
    return {name: buffer for name, buffer in model.named_buffers() if name not in persistent}


def restore_training_buffers(model: torch.nn.Module, buffers: dict[str, torch.Tensor]) -> None:
    for name, buffer in buffers.items():
        module, _, attr = name.rpartition(".")
        model.get_submodule(module).register_buffer(attr, buffer, persistent=False)


def _rng_state(device: torch.device) -> dict:
    """The global generators' states (CPU, and the device's on CUDA): a method or library drawing from them after
    a resume then continues the same stream an uninterrupted run would have (the engine's own draws use per-epoch
    generators)."""
    return {"cpu": torch.get_rng_state(), "cuda": torch.cuda.get_rng_state(device) if device.type == "cuda" else None}


def _restore_rng(state: dict | None, device: torch.device) -> None:
    if state is None:  # a checkpoint from before the states were kept
        return
    torch.set_rng_state(state["cpu"])
    if device.type == "cuda" and state["cuda"] is not None:
        torch.cuda.set_rng_state(state["cuda"], device)


def upper_step(method, model, batch, ctx, optimizer, device) -> int:
    """One upper-level step of a bi-level method on its own batch (SaC eq. 4): a gradient step on the
    method's upper parameters, then its projection. Returns 1 when the loss was not finite and it skipped."""
    x, y = (tensor.to(device, non_blocking=True) for tensor in batch)
    loss = method.loss(model, x, y, ctx)
    if not torch.isfinite(loss):
        return 1
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    method.project(model)
    return 0


def _write_tables(out_dir: Path, history: list[dict], tracer: Tracer | None, norms: list[dict],
                  concentration: ConcentrationLog | None) -> None:
    atomic_write_text(pd.DataFrame(history).to_csv(index=False), out_dir / METRICS)
    if concentration is not None:
        atomic_write_text(pd.DataFrame(concentration.rows).to_csv(index=False), out_dir / CONCENTRATION)
    if norms:
        atomic_write_text(pd.DataFrame(norms).to_csv(index=False), out_dir / LIPSCHITZ)
    if tracer is not None:
        atomic_write_text(pd.DataFrame(tracer.rows).to_csv(index=False), out_dir / TRACE)
        atomic_write_text(pd.DataFrame(tracer.slopes).to_csv(index=False), out_dir / SLOPES)


def target_loss(method, model, x, y, ctx) -> float:
    """The method's objective at the end of its schedules (``ctx.ramp`` = 1: eps = eps_train, final kappa
    and beta) on one batch at the current weights, the "learning curve for the target perturbation" of thesis
    fig. 3.8 (top). Restores every buffer (BatchNorm statistics), so training goes on as if it never ran."""
    with torch.no_grad():
        return float(restoring_buffers(model, lambda: method.loss(model, x, y, ctx)))


def _last_readable_state(out_dir: Path, identity: dict, device: torch.device) -> dict | None:
    """The newest checkpoint of this run and settings: ``checkpoint.pt``, else the previous epoch's. One that
    cannot be read is moved aside (``*.unreadable``) with a warning, so a retried job goes on from the state
    before it instead of failing on the same file again."""
    for path in (out_dir / CHECKPOINT, out_dir / PREVIOUS):
        if not path.exists():
            continue
        try:
            state = load_checkpoint(path, device)
        except CheckpointError as err:
            aside = path.with_name(path.name + ".unreadable")
            os.replace(path, aside)
            log.warning("%s; moved it to %s and looking for an earlier state", err, aside)
            continue
        if state["identity"] == identity:
            return state
        log.warning("ignoring %s: it was written for another run or other settings", path)
    return None


def _select(model, method, run, settings, test_set, history, best_path, identity, generator) -> None:
    """Verify the model at the run's eps: log the test metrics (``log_test_metrics``), and overwrite
    ``best.pt`` when it beats every earlier epoch (``select_best``)."""
    metrics = test_metrics(model, test_set, run.eps, own_certifiers(method, settings.norm), settings.select_skip,
                           norm=settings.norm, generator=generator)
    if settings.log_test_metrics:
        history[-1].update(metrics)
    if not settings.select_best:
        return
    error = 100.0 - metrics["verified_accuracy"]
    earlier = [h["verified_error"] for h in history[:-1]]
    history[-1]["verified_error"] = error
    log.info("epoch %d verified test error %.2f%%", history[-1]["epoch"], error)
    if not earlier or error < min(earlier):
        atomic_torch_save({"state_dict": model.state_dict(), "meta": {**identity, "epoch": history[-1]["epoch"],
                                                                       "verified_error": error}}, best_path)


def make_optimizer(model: torch.nn.Module, settings: TrainSettings, exclude: list = ()):
    """The protocol's optimizer and schedule over the model's parameters but ``exclude``."""
    excluded = {id(parameter) for parameter in exclude}
    parameters = [parameter for parameter in model.parameters() if id(parameter) not in excluded]
    if settings.optimizer == "adam":
        optimizer = torch.optim.Adam(parameters, lr=settings.lr, weight_decay=settings.weight_decay)
    else:
        optimizer = torch.optim.SGD(parameters, lr=settings.lr, momentum=settings.momentum,
                                    weight_decay=settings.weight_decay)
    if settings.lr_schedule == "cosine":
        return optimizer, torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, settings.epochs)
    if settings.lr_schedule == "exponential":
        start, ratio = settings.lr_decay_start, settings.lr_end / settings.lr
        factor = lambda epoch: 1.0 if epoch < start else ratio ** ((epoch - start + 1) / (settings.epochs - start))
        return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    if settings.lr_milestones:
        return optimizer, torch.optim.lr_scheduler.MultiStepLR(optimizer, list(settings.lr_milestones),
                                                               settings.lr_gamma)
    return optimizer, torch.optim.lr_scheduler.StepLR(optimizer, settings.lr_step_epochs, settings.lr_gamma)


def load_trained(path: str | Path, device: str | torch.device = "cpu") -> tuple[torch.nn.Module, RunSpec]:
    """Rebuild a model written by ``train`` (weights only, no code executed) in eval mode."""
    try:
        state = load_checkpoint(path, device)
    except CheckpointError as err:
        raise CheckpointError(f"{err}. Delete it and rerun the same snakemake command: its training job resumes "
                              "from the run's last checkpoint and writes it again.") from err
    run = RunSpec(**state["meta"]["run"])
    normalize = state["meta"]["settings"].get("normalize", True)
    model = build_model(run.model, dataset_spec(run.dataset), normalize).to(device)
    method = get_method(run.method, state["meta"]["settings"].get("options", {}))
    if hasattr(method, "transform_model"):
        model = method.transform_model(model)
    model.load_state_dict(state["state_dict"])
    return model.eval(), run
