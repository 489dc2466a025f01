"""Time of LipLT's pairwise Lipschitz constants (all K(K-1)/2 pairs) against the naive bound, on one network.

crm sec. 3 counts O(L^2) norms for LipLT against L for the naive bound, and claims O(L) sequential steps once
batched on a GPU. Both run here with power iteration (``--iterations`` steps per product, crm's training-time
estimate) on random weights of ``--model``; the pairs' rows are one batched adjoint pass per product. Run:
``python -m bench.perf.liplt_time [--model 6c2f --dataset cifar10 --device cuda]``.
"""
from __future__ import annotations

import argparse

import torch
from torch import nn

from bench.bounds.liplt import linear_maps, liplt_bound, naive_bound, pair_rows
from bench.data import dataset_spec
from bench.models import build_model
from bench.perf import median_seconds


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="6c2f")
    parser.add_argument("--dataset", default="cifar10")
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    spec = dataset_spec(args.dataset)
    model = build_model(args.model, spec, normalize=False).eval().to(args.device)
    maps = linear_maps(model, spec.shape)
    rows = pair_rows([m for m in model.modules() if isinstance(m, nn.Linear)][-1])
    timed = {}
    for name, bound in (("naive", naive_bound), ("liplt", liplt_bound)):
        with torch.no_grad():
            timed[name] = median_seconds(lambda: bound(maps, "power", rows=rows, iterations=args.iterations), 0.5, 3)
    print(f"{args.model} on {spec.shape}, {len(maps)} linear maps, {len(rows)} pairs, {args.iterations} power steps per "
          f"product, device {args.device}")
    print(f"  naive pairwise: {timed['naive']:.3f} s   LipLT pairwise: {timed['liplt']:.3f} s   "
          f"ratio {timed['liplt'] / timed['naive']:.1f}")


if __name__ == "__main__":
    main()
