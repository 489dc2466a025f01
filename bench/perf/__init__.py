"""Benchmarks that print speed ratios (run with `make perf`); timings are never asserted in tests."""

import argparse
import statistics
import time
from typing import Callable

import torch

from bench.data import dataset_spec
from bench.models import build_model


def _sync() -> None:
    if torch.cuda.is_initialized():  # GPU calls are queued
        torch.cuda.synchronize()


def call_seconds(step: Callable[[], None]) -> float:
    """Seconds of one call of ``step``, the device's queued work included."""
    _sync()
    began = time.perf_counter()
    step()
    _sync()
    return time.perf_counter() - began


def median_seconds(step: Callable[[], None], min_seconds: float, repeats: int) -> float:
    """Seconds per call of ``step``: one warm-up call, then the median over ``repeats`` runs of >= ``min_seconds``
    (and of at least one call)."""
    step()
    samples = []
    for _ in range(repeats):
        _sync()
        count, began = 0, time.perf_counter()
        while count == 0 or time.perf_counter() - began < min_seconds:
            step()
            count += 1
        _sync()
        samples.append((time.perf_counter() - began) / count)
    return statistics.median(samples)


def step_arguments(description: str, model: str, dataset: str, batch: int, methods: list[str]) -> argparse.ArgumentParser:
    """The command line of the training-step benchmarks: model, dataset, batch, eps, methods, timing."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--model", default=model)
    parser.add_argument("--dataset", default=dataset)
    parser.add_argument("--batch", type=int, default=batch)
    parser.add_argument("--eps", type=float, default=8 / 255)
    parser.add_argument("--methods", nargs="+", default=methods)
    parser.add_argument("--min-seconds", type=float, default=1.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    return parser


def random_batch(args: argparse.Namespace):
    """(model in training mode, x, y): the named model and a batch of random pixels of the dataset's shape."""
    torch.manual_seed(0)
    spec = dataset_spec(args.dataset)
    model = build_model(args.model, spec).train().to(args.device)
    x = torch.rand(args.batch, *spec.shape, device=args.device)
    y = torch.randint(0, spec.num_classes, (args.batch,), device=args.device)
    print(f"model {args.model}, input {spec.shape}, batch {args.batch}, eps {args.eps:.4f}, device {args.device}, "
          f"torch threads {torch.get_num_threads()}")
    return model, x, y
