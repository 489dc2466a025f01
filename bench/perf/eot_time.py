"""Time of one EOT-PGD evaluation of a test batch against plain PGD (thesis sec. 2.2.4: m = 20 steps of eps / 4).

EOT averages n gradient samples per step (eq. 2.2.8), so it should cost about n times plain PGD on the same
randomized network (Adv-BNN's Bayesian layers on ``--model``, random pixels). The 20-member ensemble prediction
that scores every attack is timed too. Run: ``python -m bench.perf.eot_time [--model small --dataset cifar10]``.
"""
from __future__ import annotations

import argparse

import torch

from bench.attacks import ensemble_predict, pgd
from bench.data import dataset_spec
from bench.methods import get_method
from bench.models import build_model
from bench.models.randomized import sampling
from bench.perf import median_seconds


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="small")
    parser.add_argument("--dataset", default="cifar10")
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--eps", type=float, default=8 / 255)
    parser.add_argument("--samples", type=int, nargs="+", default=[5, 10, 20])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    spec = dataset_spec(args.dataset)
    model = get_method("adv_bnn").transform_model(build_model(args.model, spec)).eval().to(args.device)
    x = torch.rand(args.batch, *spec.shape, device=args.device)
    y = torch.randint(spec.num_classes, (args.batch,), device=args.device)
    generator = torch.Generator(args.device).manual_seed(0)

    def attack(n):
        return lambda: pgd(model, x, y, args.eps, 20, args.eps / 4, "linf", generator, samples=n)

    with sampling(model, generator):
        plain = median_seconds(attack(1), 0.5, 3)
        eot = {n: median_seconds(attack(n), 0.5, 3) for n in args.samples}
        ensemble = median_seconds(lambda: ensemble_predict(model, x, 20), 0.5, 3)
    print(f"Adv-BNN {args.model} on {spec.shape}, batch {args.batch}, 20 steps, device {args.device}")
    print(f"  plain PGD (n = 1): {plain:.3f} s   20-member ensemble prediction: {ensemble:.3f} s")
    for n, seconds in eot.items():
        print(f"  EOT-PGD n = {n:2d}: {seconds:.3f} s   ratio to PGD {seconds / plain:.1f} (n = {n})")


if __name__ == "__main__":
    main()
