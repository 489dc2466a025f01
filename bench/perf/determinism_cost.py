"""The cost of reproducibility: the step time of standard, IBP and CROWN-IBP training in deterministic mode over
the same step with PyTorch's non-deterministic kernels and cuDNN autotuning allowed (bench.device), on one model
and batch. On a CPU the two modes run the same kernels (ratios ~1); the numbers that matter come from a GPU:
``python -m bench.perf.determinism_cost --device cuda [--model medium --batch 128]``.

cuBLAS reads its workspace setting once per process, so the non-deterministic timings here still use the
deterministic workspace (":4096:8"): that setting's own cost is not in the ratio.
"""
from __future__ import annotations

from bench.device import set_deterministic
from bench.perf import random_batch, step_arguments
from bench.perf.train_step import step_seconds


def main(argv=None) -> None:
    parser = step_arguments(__doc__.splitlines()[0], "medium", "cifar10", 128, ["standard", "ibp", "crown_ibp"])
    args = parser.parse_args(argv)
    set_deterministic(True)  # before the first CUDA call: cuBLAS reads its workspace setting then
    model, x, y = random_batch(args)
    print(f"{'method':>12} {'deterministic':>14} {'non-det.':>10} {'ratio':>6}")
    for method in args.methods:
        seconds = {}
        for deterministic in (True, False):
            set_deterministic(deterministic)
            seconds[deterministic] = step_seconds(method, model, x, y, args.eps, args.min_seconds, args.repeats)
        print(f"{method:>12} {seconds[True] * 1e3:>11.2f} ms {seconds[False] * 1e3:>7.2f} ms "
              f"{seconds[True] / seconds[False]:>6.2f}")
    set_deterministic(True)


if __name__ == "__main__":
    main()
