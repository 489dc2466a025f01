"""Time of one traced training step divided by an untraced one, per method (``bench.traces``).

Run: ``python -m bench.perf.trace_overhead [--model small --dataset digits_rgb8 --methods ibp cap]``. A traced
step adds a gradient at theta_t, the loss at ten step lengths along it, the ReLU input bounds of the method's
own bound, and a gradient at theta_{t+1}; with ``trace_every`` = k a run's time grows by about
(ratio - 1) / k. Medians over repeats of >= ``--min-seconds`` each, on random pixels (no data needed).
"""
from __future__ import annotations

import torch

from bench.methods import TrainContext, get_method
from bench.perf import median_seconds, random_batch, step_arguments
from bench.traces import Tracer


def step_seconds(method_name: str, model, x, y, eps: float, traced: bool, min_seconds: float, repeats: int) -> float:
    method = get_method(method_name)
    optimizer = torch.optim.Adam(model.parameters(), 1e-4)
    ctx = TrainContext(0, 1, torch.Generator(x.device).manual_seed(0), eps=eps, ramp=1.0)
    tracer = Tracer(method, model, every=1)

    def step():
        if traced:
            tracer.before_step(x, y, ctx, seed=0, lr=1e-4)
        loss = method.loss(model, x, y, ctx)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if traced:
            tracer.after_step(0, 0.0, ctx)

    return median_seconds(step, min_seconds, repeats)


def main(argv=None) -> None:
    parser = step_arguments(__doc__.splitlines()[0], "small", "digits_rgb8", 64, ["ibp", "crown_ibp", "ours", "cap"])
    args = parser.parse_args(argv)
    model, x, y = random_batch(args)
    for method in args.methods:
        plain = step_seconds(method, model, x, y, args.eps, False, args.min_seconds, args.repeats)
        traced = step_seconds(method, model, x, y, args.eps, True, args.min_seconds, args.repeats)
        print(f"{method:>10}: untraced {plain * 1e3:8.2f} ms/step, traced {traced * 1e3:8.2f} ms/step, "
              f"overhead per traced step x{traced / plain:.2f}")


if __name__ == "__main__":
    main()
