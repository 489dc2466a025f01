"""The papers' reported numbers, transcribed once into one YAML file per paper.

These numbers are only ever shown as the paper's; measured cells come from ``results/``.
"""
from __future__ import annotations

from functools import lru_cache
from importlib import resources

import yaml


# libyaml's parser where PyYAML was built with it: a DAG parse reads every paper's numbers (0.4 s in pure Python)
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(text: str):
    """``yaml.safe_load``, with the C parser when available (the same result, several times faster)."""
    return yaml.load(text, Loader=_LOADER)


@lru_cache(maxsize=None)
def load_paper(paper: str) -> dict:
    path = resources.files(__package__) / f"{paper}.yaml"
    if not path.is_file():
        raise KeyError(f"no reference numbers for paper '{paper}' (expected bench/reference/{paper}.yaml)")
    return read_yaml(path.read_text())


def reference_table(paper: str, table: str) -> dict:
    tables = load_paper(paper)["tables"]
    if table not in tables:
        raise KeyError(f"paper '{paper}' has no reference table '{table}'; known: {', '.join(tables)}")
    return tables[table]


def table_parts(paper: str, table: str) -> list[dict]:
    """The sub-tables a reference table is printed as: its ``parts`` (e.g. thesis tables C.3-C.6 under one
    target) or the table itself."""
    ref = reference_table(paper, table)
    return [reference_table(paper, part) for part in ref["parts"]] if "parts" in ref else [ref]


def table_rows(paper: str, table: str) -> dict[str, str]:
    """Row key -> label over every part."""
    return {key: label for part in table_parts(paper, table) for key, label in part["rows"].items()}


def quoted_row(block: dict, method: str) -> bool:
    """Whether ``block`` only quotes ``method``'s row: the whole block is ``quoted``, or the method is one of its
    ``quoted_rows`` (e.g. CAP on the WRN, whose exact dual the suite does not build through residual blocks)."""
    return bool(block.get("quoted")) or method in block.get("quoted_rows", ())


def cell_setting(block: dict, method: str) -> dict:
    """What the paper ran for ``method`` in ``block``: model, training eps and protocol name, after the
    block's per-method ``overrides`` (e.g. CAP on a smaller model). A block without its own protocol uses
    the protocol named after its dataset; eps_train defaults to the test eps."""
    setting = {**block, **block.get("overrides", {}).get(method, {})}
    return {"model": setting["model"], "eps_train": str(setting.get("eps_train", block["eps"])),
            "protocol": setting.get("protocol", block["dataset"])}
