"""Atomic writes (temp file in the same folder, fsync, rename), safe checkpoint loading, run-id values."""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable

import torch


def _atomic(path: str | Path, write: Callable[[Any], None], mode: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_torch_save(obj: Any, path: str | Path) -> None:
    _atomic(path, lambda h: torch.save(obj, h), "wb")


def atomic_write_text(text: str, path: str | Path) -> None:
    _atomic(path, lambda h: h.write(text), "w")


def atomic_write_json(obj: Any, path: str | Path) -> None:
    atomic_write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n", path)


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> dict:
    """Load a checkpoint without executing code from it (``weights_only=True``)."""
    return torch.load(path, map_location=device, weights_only=True)


def parse_eps(token: str) -> float:
    """A radius as written in run ids and configs: ``0.1``, ``8/255``, ``2.2/255`` or the path-safe ``8_255``."""
    numerator, _, denominator = token.replace("_", "/").partition("/")
    return float(Fraction(numerator) / Fraction(denominator or 1))


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
