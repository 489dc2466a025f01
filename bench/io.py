"""Atomic writes (temp file in the same folder, fsync, rename), safe checkpoint loading, per-sample result
files that carry their own row count and checksum, run-id values."""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from fractions import Fraction
from io import StringIO
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import pandas as pd

if TYPE_CHECKING:
    import torch


class CheckpointError(RuntimeError):
    """A checkpoint or model file that cannot be read; the message names the file."""


class ResultFileError(RuntimeError):
    """A per-sample result file that is missing rows or differs from what its provenance recorded."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _atomic(path: str | Path, write: Callable[[Any], None], mode: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; results are shared like any other file
        with os.fdopen(fd, mode) as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_torch_save(obj: Any, path: str | Path) -> None:
    import torch  # on use: result files and tables do not need torch (about 2 s per process)

    _atomic(path, lambda h: torch.save(obj, h), "wb")


def atomic_write_text(text: str, path: str | Path) -> None:
    _atomic(path, lambda h: h.write(text), "w")


def atomic_write_json(obj: Any, path: str | Path) -> None:
    atomic_write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n", path)


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> dict:
    """Load a checkpoint without executing code from it (``weights_only=True``); a file that cannot be read
    raises ``CheckpointError`` naming it."""
    import torch

    try:
        return torch.load(path, map_location=device, weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as err:  # torch raises RuntimeError, pickle/zip errors, EOFError... for a damaged file
        raise CheckpointError(f"cannot read checkpoint {path}: it is damaged or not a certbench checkpoint "
                              f"({type(err).__name__})") from err


def write_rows(frame: pd.DataFrame, tsv: str | Path, provenance: dict) -> None:
    """Write a per-sample result table and, beside it (``.json``), its provenance plus the row count and
    SHA-256 of the table, which ``read_rows`` checks."""
    text = frame.to_csv(sep="\t", index=False)
    atomic_write_text(text, tsv)
    atomic_write_json({**provenance, "rows": len(frame),
                       "sha256": hashlib.sha256(text.encode()).hexdigest()}, Path(tsv).with_suffix(".json"))


def read_rows(tsv: str | Path) -> tuple[pd.DataFrame, dict]:
    """(table, provenance) of a file written by ``write_rows``; ``ResultFileError`` if it is truncated,
    edited, or its provenance is missing, with the way to rebuild it."""
    tsv = Path(tsv)
    rebuild = (f"Rebuild it: delete {tsv} and rerun the same snakemake command (its rule re-creates it from "
               "the cached model).")
    sidecar = tsv.with_suffix(".json")
    if not sidecar.exists():
        raise ResultFileError(f"{tsv} has no provenance file {sidecar}. {rebuild}")
    provenance = json.loads(sidecar.read_text())
    data = tsv.read_bytes()
    frame = pd.read_csv(StringIO(data.decode()), sep="\t")
    if len(frame) != provenance.get("rows"):
        raise ResultFileError(f"{tsv} holds {len(frame)} rows, but {sidecar} records {provenance.get('rows')}: "
                              f"the file was cut or edited. {rebuild}")
    if hashlib.sha256(data).hexdigest() != provenance.get("sha256"):
        raise ResultFileError(f"{tsv} does not match the checksum in {sidecar}: the file was changed after it "
                              f"was written. {rebuild}")
    return frame, provenance


def parse_eps(token: str) -> float:
    """A radius as written in run ids and configs: ``0.1``, ``8/255``, ``2.2/255`` or the path-safe ``8_255``."""
    numerator, _, denominator = token.replace("_", "/").partition("/")
    return float(Fraction(numerator) / Fraction(denominator or 1))


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def evaluated_indices(num_test: int, skip: int, max_points: int | None) -> list[int]:
    """The test points a certifier or an analysis evaluates: every ``skip``-th, at most ``max_points``."""
    return list(range(0, num_test, skip))[:max_points]


def training_provenance(model_path: str | Path) -> dict:
    """What a result file records of the model it evaluated: its file, hash, training settings and device."""
    meta = load_checkpoint(model_path)["meta"]
    return {"model": str(model_path), "model_sha256": file_sha256(model_path), "training": meta["settings"],
            "trained_on": meta.get("trained_on", "unknown")}
