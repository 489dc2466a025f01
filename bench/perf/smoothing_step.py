"""Step time of each smoothing-family method divided by (forward/backward passes it needs) x a standard step.

A method's passes: Cohen 1; SmoothAdv (steps + 1) x m (each attack step and the training step run the base
model on m noisy copies); MACER k; Consistency m; SaC 2 (its lower and its upper step). Goal (issue 11): every
ratio <= 1.2. The methods' hyper-parameters are those of ``scales.<scale>.train.<dataset>`` in config/config.yaml
at ``--sigma`` (``--scale paper`` by default: the papers' settings). Run:
``python -m bench.perf.smoothing_step [--model resnet110 --batch 64 --sigma 0.5 --device cuda]``; random pixels.

``--hours`` instead times every method at every ``--sigmas`` level at its protocol's own batch size and projects
the training time of the whole table on this device: epochs x ceil(training images / batch) x step time, summed
(certification not included). Sac Table 2 on a GPU:
``python -m bench.perf.smoothing_step --model resnet110 --device cuda --hours``.
"""
from __future__ import annotations

import math
from pathlib import Path

import torch
import yaml

from bench.data import dataset_spec
from bench.methods import TrainContext, get_method
from bench.models import build_model
from bench.perf import median_seconds, random_batch, step_arguments
from bench.protocols import resolve_protocol
from bench.train import TrainSettings, make_optimizer, upper_step

CONFIG = Path(__file__).resolve().parents[2] / "config" / "config.yaml"


def passes(name: str, method) -> int:
    """Forward/backward passes of the base model one training step of ``method`` needs."""
    if name == "smoothadv":
        return (method.steps + 1) * method.m
    if name == "macer":
        return method.k
    return {"consistency": getattr(method, "m", 1), "sac": 2}.get(name, 1)


def step_seconds(method, model, x, y, sigma: float, min_seconds: float, repeats: int) -> float:
    if hasattr(method, "initialize"):
        method.initialize(model)
    upper = list(method.upper_parameters(model)) if hasattr(method, "upper_parameters") else []
    settings = TrainSettings(1, len(x), 0.1, 0.9, 1e-4, 1, 1.0)
    optimizer, _ = make_optimizer(model, settings, exclude=upper)
    upper_optimizer = method.upper_optimizer(upper, settings)[0] if upper else None
    ctx = TrainContext(0, 1, torch.Generator(x.device).manual_seed(0), sigma=sigma)

    def step():
        loss = method.loss(model, x, y, ctx)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if upper:
            upper_step(method, model, (x, y), ctx, upper_optimizer, x.device)

    return median_seconds(step, min_seconds, repeats)


TRAINING_IMAGES = {"cifar10": 50_000, "imagenet": 1_281_167}


def table_hours(args, protocol: dict) -> None:
    """Projected training hours of every (sigma, method) at its protocol's batch, and their sum."""
    spec, total = dataset_spec(args.dataset), 0.0
    print(f"{'sigma':>6} {'method':>12} {'batch':>6} {'epochs':>6} {'ms/step':>9} {'hours':>8}")
    for sigma in args.sigmas:
        for name in args.methods:
            settings = resolve_protocol(protocol, name, sigma)
            batch, epochs = settings["batch_size"], settings["epochs"]
            torch.manual_seed(0)
            model = build_model(args.model, spec).train().to(args.device)
            x = torch.rand(batch, *spec.shape, device=args.device)
            y = torch.randint(0, spec.num_classes, (batch,), device=args.device)
            seconds = step_seconds(get_method(name, settings.get("options")), model, x, y, sigma, args.min_seconds,
                                   args.repeats)
            hours = epochs * math.ceil(TRAINING_IMAGES[args.dataset] / batch) * seconds / 3600
            total += hours
            print(f"{sigma:>6} {name:>12} {batch:>6} {epochs:>6} {seconds * 1e3:>9.2f} {hours:>8.1f}")
    print(f"training all {len(args.sigmas) * len(args.methods)} models: {total:.1f} hours on {args.device}")


def main(argv=None) -> None:
    parser = step_arguments(__doc__.splitlines()[0], "cnn_small", "cifar10", 64,
                            ["cohen", "smoothadv", "macer", "consistency", "sac"])
    parser.add_argument("--sigma", type=float, default=0.5)
    parser.add_argument("--scale", default="paper", choices=["smoke", "paper"])
    parser.add_argument("--hours", action="store_true", help="project the training hours of the whole table")
    parser.add_argument("--sigmas", type=float, nargs="+", default=[0.25, 0.5, 1.0])
    args = parser.parse_args(argv)
    protocol = yaml.safe_load(CONFIG.read_text())["scales"][args.scale]["train"][args.dataset]
    if args.hours:
        return table_hours(args, protocol)
    model, x, y = random_batch(args)
    base = step_seconds(get_method("standard"), model, x, y, args.sigma, args.min_seconds, args.repeats)
    print(f"{'standard':>12}: {base * 1e3:8.2f} ms/step")
    for name in args.methods:
        options = resolve_protocol(protocol, name, args.sigma).get("options", {})
        method = get_method(name, options)
        torch.manual_seed(0)  # a fresh model: SaC changes the one it is given
        model = build_model(args.model, dataset_spec(args.dataset)).train().to(args.device)
        seconds = step_seconds(method, model, x, y, args.sigma, args.min_seconds, args.repeats)
        ratio = seconds / (passes(name, method) * base)
        print(f"{name:>12}: {seconds * 1e3:8.2f} ms/step  {passes(name, method):3d} passes  "
              f"ratio per pass {ratio:.2f}  (goal <= 1.2: {'met' if ratio <= 1.2 else 'NOT met'})  {options}")


if __name__ == "__main__":
    main()
