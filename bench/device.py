"""Where and how a job computes: the device, and the deterministic mode that makes the same config and seed give
the same bytes on a GPU as they do on a CPU (same card, same library versions).

Deterministic mode (the config's ``deterministic``, true by default; a Snakemake job reads it in
``bench.logs.snakemake_job``) is applied by every entry point (training, certification, verification, analyses)
through ``resolve_device`` before it touches CUDA:

- ``torch.use_deterministic_algorithms(True)``: PyTorch picks deterministic kernels, and raises for an operation
  that has none (``explain_nondeterminism`` turns that into an error naming the job and the setting to change);
- cuDNN autotuning off (``cudnn.benchmark`` may pick a different, non-deterministic algorithm per process);
- ``CUBLAS_WORKSPACE_CONFIG=:4096:8``, which cuBLAS reads when it creates its handle, i.e. at the first matrix
  product on the GPU: it must be in the environment before then.

With ``deterministic: false`` the fast kernels are allowed and cuDNN autotunes; ``describe_device`` labels every
result file (and so every table header) with the mode that produced it.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator

import torch

CUBLAS_WORKSPACES = (":4096:8", ":16:8")  # the settings PyTorch's reproducibility notes allow
CUBLAS_WORKSPACE = CUBLAS_WORKSPACES[0]
_NO_KERNEL = "does not have a deterministic implementation"  # PyTorch's words when it refuses an operation


class NondeterministicOperation(RuntimeError):
    """An operation with no deterministic kernel on this device, met in deterministic mode."""


def set_deterministic(deterministic: bool) -> None:
    """Apply (or lift) deterministic mode for this process; see the module docstring."""
    if deterministic:
        workspace = os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_WORKSPACE)
        if workspace not in CUBLAS_WORKSPACES:
            raise ValueError(f"CUBLAS_WORKSPACE_CONFIG is {workspace!r}; deterministic mode needs one of "
                             f"{CUBLAS_WORKSPACES}")
    torch.use_deterministic_algorithms(deterministic)
    torch.backends.cudnn.deterministic = deterministic
    torch.backends.cudnn.benchmark = not deterministic


_configured_mode = True  # the config's ``deterministic`` in a Snakemake job (bench.logs.snakemake_job), else true


def configure_deterministic(deterministic: bool) -> None:
    """The mode ``resolve_device`` applies when its caller does not choose one."""
    global _configured_mode
    _configured_mode = bool(deterministic)


def resolve_device(name: str, deterministic: bool | None = None) -> torch.device:
    """The device ``name`` ("auto": CUDA when available, else CPU), with the deterministic mode applied:
    ``deterministic``, or when None the configured one (``configure_deterministic``)."""
    set_deterministic(_configured_mode if deterministic is None else deterministic)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def describe_device(device: torch.device) -> str:
    """``cpu`` or ``cuda:0 (NVIDIA H200)``, the torch version and the mode in force: what a table header says a run
    used, e.g. "cuda:0 (NVIDIA H200), torch 2.11.0, deterministic"."""
    name = f"{device} ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else str(device)
    mode = "deterministic" if torch.are_deterministic_algorithms_enabled() else "NON-deterministic kernels allowed"
    return f"{name}, torch {torch.__version__}, {mode}"


def refused_as_nondeterministic(err: BaseException) -> bool:
    """Whether ``err`` is PyTorch refusing an operation in deterministic mode (code that turns other errors into
    results, as a failed bound into a verifier error, must let this one through)."""
    return isinstance(err, RuntimeError) and _NO_KERNEL in str(err)


@contextmanager
def explain_nondeterminism(job: str) -> Iterator[None]:
    """Re-raise PyTorch's refusal of an operation without a deterministic kernel as an error that names ``job``
    (e.g. "training method macer") and the setting that allows it; never fall back silently."""
    try:
        yield
    except RuntimeError as err:
        if not refused_as_nondeterministic(err):
            raise
        raise NondeterministicOperation(
            f"{job}: {str(err).splitlines()[0]} This suite runs in deterministic mode so that the same config and "
            "seed give the same bytes. To run it with PyTorch's non-deterministic kernel instead, set "
            "'deterministic: false' in config/config.yaml (or add '--config deterministic=False' to the snakemake "
            "command); the table header then says the run was not deterministic.") from err


def reset_peak_memory(device: torch.device) -> None:
    """Start a new peak for ``peak_memory_mb`` (CUDA; a CPU process's peak cannot be reset)."""
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def peak_memory_mb(device: torch.device) -> float:
    """Peak memory in MiB: the most CUDA memory allocated since ``reset_peak_memory``, or on CPU the process's peak
    resident set size so far (Linux's ru_maxrss, in KiB): what a training epoch or a verification needed."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
