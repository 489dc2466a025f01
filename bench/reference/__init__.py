"""The papers' reported numbers, transcribed once into one YAML file per paper.

These numbers are only ever shown as the paper's; measured cells come from ``results/``.
"""
from __future__ import annotations

from functools import lru_cache
from importlib import resources

import yaml


@lru_cache(maxsize=None)
def load_paper(paper: str) -> dict:
    path = resources.files(__package__) / f"{paper}.yaml"
    if not path.is_file():
        raise KeyError(f"no reference numbers for paper '{paper}' (expected bench/reference/{paper}.yaml)")
    return yaml.safe_load(path.read_text())


def reference_table(paper: str, table: str) -> dict:
    tables = load_paper(paper)["tables"]
    if table not in tables:
        raise KeyError(f"paper '{paper}' has no reference table '{table}'; known: {', '.join(tables)}")
    return tables[table]
