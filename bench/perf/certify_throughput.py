"""CERTIFY throughput (noisy samples per second, counting included) divided by the raw inference
throughput of the same model on pre-drawn noisy batches of the same size, after a warm-up call. Goal: ratio >= 0.95.
With ``--fast`` also the opt-in fast path (``bench.models.fast_path``: bf16 + channels-last): its throughput against
fp32 raw inference, and the fraction of the same noisy samples whose predicted class it changes. With
``--checkpoint`` a trained model's test points are certified both ways and their certified accuracy compared.

    python -m bench.perf.certify_throughput [--models resnet110 cnn_small] [--batch 400 1000] [--batches 10] [--fast]
    python -m bench.perf.certify_throughput --checkpoint results/ckpt/smoke/<run>/model.pt --sigma 0.25 --points 50
"""
from __future__ import annotations

import argparse
import time

import torch
from tabulate import tabulate

from bench.data import dataset_spec, load_dataset
from bench.device import resolve_device
from bench.models import build_model
from bench.models.fast_path import FastBase
from bench.smoothing import ABSTAIN, Smooth

GOAL = 0.95


def _best_seconds(fn, repeats: int, device: torch.device, min_total: float = 1.0) -> float:
    """Best of at least ``repeats`` timed calls, repeated until ``min_total`` seconds were timed."""
    fn()  # warm-up (cuDNN autotuning, compilation)
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
            device: torch.device, fast: bool = False, sigma: float = 0.25) -> list[dict]:
    spec = dataset_spec(dataset)
    torch.manual_seed(0)
    model = build_model(model_name, spec).to(device).eval()
    x = torch.rand(spec.shape, device=device)
    noisy = [x + sigma * torch.randn((batch, *spec.shape), device=device) for _ in range(batches)]

    @torch.inference_mode()
    def predictions(base):
        return [base(b).argmax(dim=1) for b in noisy]

    raw_rate, n = None, batch * batches
    rows, reference = [], predictions(model)
    for name, base in [("fp32", model)] + ([("bf16 + channels-last", FastBase(model))] if fast else []):
        rate = n / _best_seconds(lambda: predictions(base), repeats, device)
        raw_rate = raw_rate or rate  # the fp32 raw rate is the reference of every row
        smoothed, generator = Smooth(base, spec.num_classes, sigma), torch.Generator(device).manual_seed(0)
        certify_rate = (n0 + n) / _best_seconds(lambda: smoothed.certify(x, n0, n, 0.001, batch, generator),
                                                repeats, device)
        changed = torch.cat([(a != b) for a, b in zip(predictions(base), reference)]).float().mean().item()
        rows.append({"model": model_name, "path": name, "device": device.type, "batch": batch, "samples": n0 + n,
                     "raw samples/s": round(rate, 1), "certify samples/s": round(certify_rate, 1),
                     "certify / fp32 raw": round(certify_rate / raw_rate, 3),
                     "predictions changed": f"{100 * changed:.2f} %"})
    return rows


def compare_certified(checkpoint: str, sigma: float, points: int, n0: int, n: int, batch: int,
                      device: torch.device) -> dict:
    """Certified accuracy (radius 0) and mean certified radius of a trained model's first test points, fp32 and
    fast path, with the same noise."""
    from bench.train import load_trained

    model, run = load_trained(checkpoint, device)
    spec, test_set = dataset_spec(run.dataset), load_dataset(run.dataset, "test")
    result, fast, changed = {"checkpoint": checkpoint, "points": points}, FastBase(model.eval()), 0
    with torch.inference_mode():
        for idx in range(points):  # the same noisy samples through both base models
            noisy = test_set[idx][0].to(device) + sigma * torch.randn((batch, *spec.shape), device=device)
            changed += int((model(noisy).argmax(1) != fast(noisy).argmax(1)).sum())
    result["noisy predictions changed %"] = round(100 * changed / (points * batch), 3)
    for name, base in (("fp32", model), ("fast", fast)):
        smoothed, correct, radii = Smooth(base, spec.num_classes, sigma), 0, []
        for idx in range(points):
            image, label = test_set[idx][0], int(test_set[idx][1])
            cert = smoothed.certify(image.to(device), n0, n, 0.001, batch, torch.Generator(device).manual_seed(idx))
            correct += cert.prediction == label and cert.prediction != ABSTAIN
            radii.append(cert.radius if cert.prediction == label else 0.0)
        result[f"{name} certified %"] = round(100 * correct / points, 1)
        result[f"{name} mean radius"] = round(sum(radii) / points, 4)
    return result


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["resnet110", "cnn_small"])
    parser.add_argument("--dataset", default="cifar10")
    parser.add_argument("--batch", type=int, nargs="+", default=[100])
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--n0", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--fast", action="store_true", help="also measure the bf16 / channels-last fast path")
    parser.add_argument("--checkpoint", help="a trained model: compare its certified accuracy fp32 vs fast path")
    parser.add_argument("--sigma", type=float, default=0.25)
    parser.add_argument("--points", type=int, default=50)
    parser.add_argument("--n", type=int, default=1000)
    args = parser.parse_args(argv)
    device = resolve_device(args.device)
    if args.checkpoint:
        row = compare_certified(args.checkpoint, args.sigma, args.points, args.n0, args.n, args.batch[0], device)
        print(tabulate([row], headers="keys", tablefmt="github"))
        return
    rows = [row for m in args.models for batch in args.batch
            for row in measure(m, args.dataset, batch, args.batches, args.n0, args.repeats, device, args.fast)]
    print(tabulate(rows, headers="keys", tablefmt="github"))
    fp32 = [r for r in rows if r["path"] == "fp32"]
    print(f"goal: fp32 certify / raw >= {GOAL}; "
          + ", ".join(f"{r['model']} at {r['batch']}: {'met' if r['certify / fp32 raw'] >= GOAL else 'NOT met'}"
                      for r in fp32))


if __name__ == "__main__":
    main()
