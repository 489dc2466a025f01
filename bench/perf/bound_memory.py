"""Peak memory and time of exact CROWN margins (``margin_bounds(..., "crown")``, no gradients) at a chosen memory
budget for the intermediate-layer passes (bench.bounds.linear.spec_chunk); the margins do not depend on it. Run:
``python -m bench.perf.bound_memory --budget-gib 1 [--model medium --batch 1 --device cuda]``; on a CPU,
``--batch 50 --measure-batch 2`` estimates batch 50 from batch 2. Peak memory is the
process's resident maximum on CPU, the allocator's peak on CUDA."""
from __future__ import annotations

import argparse
import resource
import time

import torch

from bench.bounds import margin_bounds
from bench.data import dataset_spec
from bench.models import build_model


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="medium")
    parser.add_argument("--dataset", default="cifar10")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--eps", type=float, default=2 / 255)
    parser.add_argument("--budget-gib", type=float, default=2.0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--measure-batch", type=int, help="run this smaller batch and estimate --batch from it "
                        "(CPU: Medium at batch 50 takes about an hour on 2 cores)")
    args = parser.parse_args(argv)
    target, args.batch = args.batch, args.measure_batch or args.batch
    torch.manual_seed(0)
    spec = dataset_spec(args.dataset)
    model = build_model(args.model, spec).eval().to(args.device)
    x = torch.rand(args.batch, *spec.shape, device=args.device)
    with torch.no_grad():
        y = model(x).argmax(1)
        began = time.perf_counter()
        margins = margin_bounds(model, x, y, args.eps, "crown", memory_budget=int(args.budget_gib * 2**30))
    seconds = time.perf_counter() - began
    peak = (torch.cuda.max_memory_allocated() if x.is_cuda
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024) / 2**30
    print(f"{args.model} batch {args.batch}, budget {args.budget_gib:g} GiB: peak {peak:.2f} GiB, {seconds:.0f} s, "
          f"smallest margin {margins.min().item():.4f}")
    if target != args.batch:  # the passes run in budget-sized chunks: memory stays, time grows with the points
        print(f"estimated at batch {target}: about {seconds * target / args.batch / 60:.0f} min, peak about "
              f"{peak:.2f} GiB (the chunks are sized from the budget, not from the batch)")


if __name__ == "__main__":
    main()
