"""Figure tables from training traces (``bench.traces``: trace.csv and relu_slopes.csv beside each run's
metrics.csv), one tidy table per figure of thesis sec. 3.3 / app. C. Torch-free: it only reads and reshapes."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from bench.traces import SLOPES, TRACE


def read_trace(run_dir: str | Path, name: str = TRACE) -> pd.DataFrame:
    path = Path(run_dir) / name
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: the run was trained without traces. Set trace_every > 0 in "
                                "its protocol (config/config.yaml) and rerun; its training job runs again.")
    return pd.read_csv(path)


def ramp_up(trace: pd.DataFrame) -> pd.DataFrame:
    """The steps of the ramp-up phase (0 < eps_t < eps_train), where thesis figs. 3.7-3.9 and C.6-C.11 look."""
    return trace[(trace["ramp"] > 0) & (trace["ramp"] < 1)]


def curves_table(runs: dict[str, Path]) -> pd.DataFrame:
    """Fig. 3.6: every traced step's loss at eps_t and its range along -grad (eq. C.1.2), per trained method;
    ``ramp`` lets the plot mark where the ramp-up ends."""
    columns = ["step", "epoch", "ramp", "eps", "loss", "loss_min", "loss_max"]
    return pd.concat([read_trace(d)[columns].assign(trained=m) for m, d in runs.items()], ignore_index=True)


def smoothness_table(runs: dict[str, Path], panels: list[dict]) -> pd.DataFrame:
    """Figs. 3.7, 3.9, C.10: per panel and trained method, over the ramp-up, the loss variation (the range of
    eq. C.1.2) and the l2 and cosine distances of successive gradients (eq. 3.3.19) at eps_t. ``panels``:
    [{title, trained: [method, ...]}, ...]."""
    frames = []
    for panel in panels:
        for method in panel["trained"]:
            trace = ramp_up(read_trace(runs[method]))
            frames.append(pd.DataFrame({
                "panel": panel["title"], "trained": method, "epoch": trace["epoch"], "eps": trace["eps"],
                "loss_variation": trace["loss_max"] - trace["loss_min"],
                "grad_l2_distance": trace["grad_l2_distance"], "grad_cosine_distance": trace["grad_cosine_distance"]}))
    return pd.concat(frames, ignore_index=True)


def relu_table(runs: dict[str, Path]) -> pd.DataFrame:
    """Figs. C.6-C.8 over the ramp-up: ReLU states per input (``kind`` = states) and the histogram of unstable
    slopes u+/(u+ - l-) per traced step (``kind`` = slopes)."""
    frames = []
    for method, run_dir in runs.items():
        trace = ramp_up(read_trace(run_dir))
        states = trace[["step", "epoch", "eps", "relu_active", "relu_unstable", "relu_dead"]]
        slopes = read_trace(run_dir, SLOPES).merge(trace[["step", "epoch", "eps"]], on="step")
        frames += [states.assign(kind="states", trained=method), slopes.assign(kind="slopes", trained=method)]
    return pd.concat(frames, ignore_index=True)
