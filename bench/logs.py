"""Readable job logs: timestamped lines to the job's log file and to stderr, progress as periodic lines (no
carriage-return bars in a file), and one wrapper that gives every Snakemake job the same log shape: what it
was asked to do, how it went, and any error with the way to fix it."""
from __future__ import annotations

import json
import logging
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator, TypeVar

from tqdm import tqdm

log = logging.getLogger("bench")
T = TypeVar("T")
PROGRESS_FORMAT = ("{desc}: {n_fmt}/{total_fmt} {unit} ({percentage:.0f}%), {elapsed} elapsed, {remaining} left, "
                   "{rate_fmt}")


def log_to(path: str | Path, level: int = logging.INFO) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        handlers=[logging.FileHandler(path), logging.StreamHandler()], force=True)


class _LogLines:
    """A file-like sink for tqdm that turns each redraw into one log line (a repeated line only once)."""

    def __init__(self):
        self.last = ""

    def write(self, text: str) -> None:
        text = text.strip("\r\n ")
        if text and text != self.last:
            log.info(text)
        self.last = text or self.last

    def flush(self) -> None:
        pass


def progress(items: Iterable[T], desc: str, total: int | None = None, unit: str = "it", enabled: bool = True,
             every_seconds: float = 30.0) -> Iterator[T]:
    """``items`` with a progress line (count, percent, elapsed, remaining, rate) logged every ``every_seconds``
    and at the end; a loop that ends sooner logs nothing."""
    return tqdm(items, desc=desc, total=total, unit=unit, file=_LogLines(), mininterval=every_seconds,
                delay=every_seconds, disable=not enabled, bar_format=PROGRESS_FORMAT)


@contextmanager
def snakemake_job(smk) -> Iterator[logging.Logger]:
    """Set up the log of a Snakemake ``script:`` job: log the rule, wildcards, resolved settings and the
    config keys every job reads, and configure the deterministic mode (bench.device) from the config; on failure
    log the error (its message says how to fix it) and re-raise."""
    log_to(smk.log[0])
    began = time.perf_counter()
    config = {key: smk.config.get(key) for key in ("scale", "seed", "device", "deterministic", "data_root",
                                                   "allow_download")}
    log.info("rule %s, wildcards %s, threads %d", smk.rule, dict(smk.wildcards.items()), smk.threads)
    log.info("config %s", json.dumps(config))
    if "settings" in smk.params.keys():
        log.info("settings %s", json.dumps(smk.params.settings, sort_keys=True))
    log.info("outputs %s", ", ".join(map(str, smk.output)))
    from bench.device import configure_deterministic  # on use: torch, which only job processes need

    configure_deterministic(smk.config.get("deterministic", True))
    try:
        yield log
    except BaseException as err:
        log.exception("%s failed after %.1f s: %s", smk.rule, time.perf_counter() - began, err)
        log.error("Fix the cause above, then rerun the same snakemake command: finished jobs are kept and this "
                  "one resumes where it stopped.")
        raise
    log.info("%s finished in %.1f s", smk.rule, time.perf_counter() - began)
