"""CERTIFY throughput (noisy samples per second, counting included) divided by the raw inference
throughput of the same model on pre-drawn noisy batches of the same size. Goal: ratio >= 0.95.

    python -m bench.perf.certify_throughput [--models resnet110 cnn_small] [--batch 100] [--batches 10]
"""
from __future__ import annotations

import argparse
import time

import torch
from tabulate import tabulate

from bench.data import dataset_spec
from bench.device import resolve_device
from bench.models import build_model
from bench.smoothing import Smooth

GOAL = 0.95


def _best_seconds(fn, repeats: int, device: torch.device, min_total: float = 1.0) -> float:
    """Best of at least ``repeats`` timed calls, repeated until ``min_total`` seconds were timed."""
    fn()  # warm-up
    best, total, calls = float("inf"), 0.0, 0
    while calls < repeats or total < min_total:
        if device.type == "cuda":
            torch.cuda.synchronize()
        began = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        elapsed = time.perf_counter() - began
        best, total, calls = min(best, elapsed), total + elapsed, calls + 1
    return best


def measure(model_name: str, dataset: str, batch: int, batches: int, n0: int, repeats: int,
            device: torch.device, sigma: float = 0.25) -> dict:
    spec = dataset_spec(dataset)
    torch.manual_seed(0)
    model = build_model(model_name, spec).to(device).eval()
    x = torch.rand(spec.shape, device=device)
    noisy = [x + sigma * torch.randn((batch, *spec.shape), device=device) for _ in range(batches)]

    @torch.inference_mode()
    def raw():
        for b in noisy:
            model(b).argmax(dim=1)

    smoothed, n = Smooth(model, spec.num_classes, sigma), batch * batches
    generator = torch.Generator(device).manual_seed(0)

    def certify():
        smoothed.certify(x, n0, n, 0.001, batch, generator)

    raw_rate = n / _best_seconds(raw, repeats, device)
    certify_rate = (n0 + n) / _best_seconds(certify, repeats, device)
    return {"model": model_name, "device": device.type, "batch": batch, "samples": n0 + n,
            "raw samples/s": round(raw_rate, 1), "certify samples/s": round(certify_rate, 1),
            "ratio": round(certify_rate / raw_rate, 3)}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["resnet110", "cnn_small"])
    parser.add_argument("--dataset", default="cifar10")
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--n0", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args(argv)
    device = resolve_device(args.device)
    rows = [measure(m, args.dataset, args.batch, args.batches, args.n0, args.repeats, device) for m in args.models]
    print(tabulate(rows, headers="keys", tablefmt="github"))
    print(f"goal: certify / raw >= {GOAL}; "
          + ", ".join(f"{r['model']}: {'met' if r['ratio'] >= GOAL else 'NOT met'}" for r in rows))


if __name__ == "__main__":
    main()
