"""Readable logs: timestamped lines to a job's log file and to stderr."""
from __future__ import annotations

import logging
from pathlib import Path


def log_to(path: str | Path, level: int = logging.INFO) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        handlers=[logging.FileHandler(path), logging.StreamHandler()], force=True)
