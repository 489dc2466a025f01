"""Time of one IBP / CROWN-IBP / OURS / CAP training step divided by a standard step, same model and batch.

Goal (issue 3): IBP <= 2.5x. Run: ``python -m bench.perf.train_step [--model small --dataset digits_rgb8]``.
Each step is forward + bound + backward + optimizer update at the target eps (end of the ramp); timings are
medians over repeats of >= 1 s each, on random pixels of the dataset's shape (no data needed).
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from bench.data import dataset_spec
from bench.methods import TrainContext, get_method
from bench.models import build_model


def step_seconds(method: str, model, x, y, eps: float, min_seconds: float, repeats: int) -> float:
    optimizer = torch.optim.Adam(model.parameters(), 1e-4)
    ctx = TrainContext(0, 1, torch.Generator().manual_seed(0), eps=eps, ramp=1.0)
    loss_of = get_method(method).loss

    def step():
        loss = loss_of(model, x, y, ctx)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    step()  # warm-up
    samples = []
    for _ in range(repeats):
        count, began = 0, time.perf_counter()
        while time.perf_counter() - began < min_seconds:
            step()
            count += 1
        samples.append((time.perf_counter() - began) / count)
    return statistics.median(samples)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="medium")
    parser.add_argument("--dataset", default="cifar10")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--eps", type=float, default=8 / 255)
    parser.add_argument("--methods", nargs="+", default=["ibp", "crown_ibp", "ours"])
    parser.add_argument("--min-seconds", type=float, default=1.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    spec = dataset_spec(args.dataset)
    model = build_model(args.model, spec).train()
    x, y = torch.rand(args.batch, *spec.shape), torch.randint(0, spec.num_classes, (args.batch,))
    base = step_seconds("standard", model, x, y, args.eps, args.min_seconds, args.repeats)
    print(f"model {args.model}, input {spec.shape}, batch {args.batch}, eps {args.eps:.4f}, "
          f"torch threads {torch.get_num_threads()}")
    print(f"{'standard':>12}: {base * 1e3:8.2f} ms/step  ratio 1.00")
    for method in args.methods:
        seconds = step_seconds(method, model, x, y, args.eps, args.min_seconds, args.repeats)
        goal = "  (goal <= 2.5: " + ("met)" if seconds / base <= 2.5 else "NOT met)") if method == "ibp" else ""
        print(f"{method:>12}: {seconds * 1e3:8.2f} ms/step  ratio {seconds / base:.2f}{goal}")


if __name__ == "__main__":
    main()
