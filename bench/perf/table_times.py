"""From-scratch build time of each table: the wall seconds of every job in its DAG, summed.

Every compute rule writes a Snakemake ``benchmark:`` file (``benchmarks/<rule>/<run>.tsv``); this reads the
jobs a table needs from a forced dry run and adds up their recorded times. Jobs run one at a time when each
takes all cores (``threads`` = ``--cores``), so the sum is the time of building that table alone on an empty
cache; runs shared between tables count in each. Build the tables first, then run
``python -m bench.perf.table_times [tables/<name>.md ...]`` (default: every table under ``tables/``).
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd


def table_jobs(target: str) -> list[str]:
    """Benchmark files of every compute job that ``target`` depends on."""
    dry = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--forceall", target], capture_output=True,
                         text=True, check=True)
    return sorted(set(re.findall(r"^\s+benchmark: (\S+)$", dry.stdout, re.M)))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="*", default=sorted(str(p) for p in Path("tables").glob("*.md")
                                                             if p.name != "README.md"))
    args = parser.parse_args(argv)
    print(f"{'table':<40} {'jobs':>5} {'timed':>6} {'minutes':>8}")
    for target in args.targets:
        files = table_jobs(target)
        timed = [pd.read_csv(f, sep="\t")["s"].sum() for f in files if Path(f).exists()]
        print(f"{target:<40} {len(files):>5} {len(timed):>6} {sum(timed) / 60:>8.1f}")


if __name__ == "__main__":
    main()
