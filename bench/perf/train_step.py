"""Time of one IBP / CROWN-IBP / OURS / CAP / LMT / BCP training step divided by a standard step, same model
and batch; with IBP among the methods, also each step divided by IBP's.

Goal (issue 3): IBP <= 2.5x. Run: ``python -m bench.perf.train_step [--model small --dataset digits_rgb8]``; the
l2 methods of thesis table 3.1: ``--model 4c3f --norm l2 --eps 0.1412 --batch 50 --methods ibp lmt bcp``.
Each step is forward + bound + backward + optimizer update at the target eps (end of the ramp); timings are
medians over repeats of >= 1 s each, on random pixels of the dataset's shape (no data needed).
"""
from __future__ import annotations

import torch

from bench.methods import TrainContext, get_method
from bench.perf import median_seconds, random_batch, step_arguments


def step_seconds(method: str, model, x, y, eps: float, min_seconds: float, repeats: int,
                 norm: str = "linf") -> float:
    optimizer = torch.optim.Adam(model.parameters(), 1e-4)
    ctx = TrainContext(0, 1, torch.Generator(x.device).manual_seed(0), eps=eps, ramp=1.0, norm=norm)
    loss_of = get_method(method).loss

    def step():
        loss = loss_of(model, x, y, ctx)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return median_seconds(step, min_seconds, repeats)


def main(argv=None) -> None:
    parser = step_arguments(__doc__.splitlines()[0], "medium", "cifar10", 128, ["ibp", "crown_ibp", "ours"])
    parser.add_argument("--norm", default="linf", choices=["linf", "l2"], help="the ball the methods train against")
    args = parser.parse_args(argv)
    model, x, y = random_batch(args)
    base = step_seconds("standard", model, x, y, args.eps, args.min_seconds, args.repeats)
    print(f"{'standard':>12}: {base * 1e3:8.2f} ms/step  ratio 1.00  ({args.norm} balls)")
    ibp = None
    for method in args.methods:
        seconds = step_seconds(method, model, x, y, args.eps, args.min_seconds, args.repeats, args.norm)
        ibp = seconds if method == "ibp" else ibp
        goal = "  (goal <= 2.5: " + ("met)" if seconds / base <= 2.5 else "NOT met)") if method == "ibp" else ""
        versus = f"  {seconds / ibp:.2f}x IBP" if ibp and method != "ibp" else ""
        print(f"{method:>12}: {seconds * 1e3:8.2f} ms/step  ratio {seconds / base:.2f}{versus}{goal}")


if __name__ == "__main__":
    main()
