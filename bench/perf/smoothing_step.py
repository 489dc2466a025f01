"""Step time of each smoothing-family method divided by (forward/backward passes it needs) x a standard step.

A method's passes: Cohen 1; SmoothAdv (steps + 1) x m (each attack step and the training step run the base
model on m noisy copies); MACER k; Consistency m; SaC 2 (its lower and its upper step). Goal (issue 11): every
ratio <= 1.2. The methods' hyper-parameters are those of ``scales.<scale>.train.<dataset>`` in config/config.yaml
at ``--sigma`` (``--scale paper`` by default: the papers' settings). Run:
``python -m bench.perf.smoothing_step [--model resnet110 --batch 64 --sigma 0.5]``; random pixels, no data.
"""
from __future__ import annotations

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
    ctx = TrainContext(0, 1, torch.Generator().manual_seed(0), sigma=sigma)

    def step():
        loss = method.loss(model, x, y, ctx)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if upper:
            upper_step(method, model, (x, y), ctx, upper_optimizer, x.device)

    return median_seconds(step, min_seconds, repeats)


def main(argv=None) -> None:
    parser = step_arguments(__doc__.splitlines()[0], "cnn_small", "cifar10", 64,
                            ["cohen", "smoothadv", "macer", "consistency", "sac"])
    parser.add_argument("--sigma", type=float, default=0.5)
    parser.add_argument("--scale", default="paper", choices=["smoke", "paper"])
    args = parser.parse_args(argv)
    protocol = yaml.safe_load(CONFIG.read_text())["scales"][args.scale]["train"][args.dataset]
    model, x, y = random_batch(args)
    base = step_seconds(get_method("standard"), model, x, y, args.sigma, args.min_seconds, args.repeats)
    print(f"{'standard':>12}: {base * 1e3:8.2f} ms/step")
    for name in args.methods:
        options = resolve_protocol(protocol, name, args.sigma).get("options", {})
        method = get_method(name, options)
        torch.manual_seed(0)  # a fresh model: SaC changes the one it is given
        model = build_model(args.model, dataset_spec(args.dataset)).train()
        seconds = step_seconds(method, model, x, y, args.sigma, args.min_seconds, args.repeats)
        ratio = seconds / (passes(name, method) * base)
        print(f"{name:>12}: {seconds * 1e3:8.2f} ms/step  {passes(name, method):3d} passes  "
              f"ratio per pass {ratio:.2f}  (goal <= 1.2: {'met' if ratio <= 1.2 else 'NOT met'})  {options}")


if __name__ == "__main__":
    main()
