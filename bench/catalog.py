"""What the suite can build: every table and figure of the paper map (``bench/reference/paper_map.yaml``) with
its status, and the closest names when a target is unknown. Torch-free: the Snakefile and ``python -m bench
list`` both use it.

Status: *implemented* (the DAG builds it: a table of ``config.tables`` or a figure of ``config.figures``), *quoted
only* (the paper's numbers are transcribed in ``bench/reference/<paper>.yaml`` but no rule builds the table yet),
*not yet*.
"""
from __future__ import annotations

import difflib
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path

from bench.analysis import figure_methods
from bench.reference import load_paper, read_yaml, table_rows

PAPERS = ("sac", "landscape", "book")  # papers with transcribed reference numbers


@lru_cache(maxsize=None)
def paper_map() -> dict:
    return read_yaml((resources.files("bench.reference") / "paper_map.yaml").read_text())


def _quoted_targets() -> dict[str, tuple[str, str]]:
    """Target file -> (paper, table key) of every reference table that names its target."""
    return {spec["target"]: (paper, key) for paper in PAPERS
            for key, spec in load_paper(paper)["tables"].items() if "target" in spec}


def _built(target: str, root: Path) -> str:
    path = root / target
    if not path.exists():
        return "-"
    if path.suffix != ".md":
        return "yes"
    scale = re.search(r"Scale: \*\*(\w+)\*\*", path.read_text(errors="replace"))
    return f"yes ({scale.group(1)})" if scale else "yes"


def _analysed(spec: dict) -> int:
    """The distinct trained models a figure reads: its methods in each panel's own setting, where panels have one."""
    panels = [panel for panel in spec.get("panels", []) if "dataset" in panel]
    if not panels:
        return len(figure_methods(spec))
    return len({(panel["dataset"], panel["model"], panel["eps"], panel["protocol"], method)
                for panel in panels for method in panel.get("trained", spec.get("trained", []))})


def catalog(tables: dict, root: str | Path = ".", figures: dict | None = None) -> list[dict]:
    """One entry per target of the paper map: kind, target, source, status, rows measured, built (and scale)."""
    configured = {f"tables/{name}.md": spec for name, spec in tables.items()}
    drawn = {f"figures/{name}.png": spec for name, spec in (figures or {}).items()}
    quoted = _quoted_targets()
    entries = []
    for kind in ("tables", "figures"):
        for item in paper_map()[kind]:
            for target in item["targets"]:
                if target in drawn:
                    spec = drawn[target]
                    status, detail = "implemented", f"{_analysed(spec)} trained models analysed"
                elif target in configured:
                    spec = configured[target]
                    rows = table_rows(spec["reference"]["paper"], spec["reference"]["table"])
                    status, detail = "implemented", f"{len(spec['methods'])} of {len(rows)} rows run"
                elif target in quoted:
                    status, detail = "quoted only", "paper's numbers transcribed, no rule yet"
                else:
                    status, detail = "not yet", ""
                entries.append({"kind": kind[:-1], "target": target, "source": item["source"], "status": status,
                                "detail": detail, "built": _built(target, Path(root))})
    return entries


def format_catalog(entries: list[dict]) -> str:
    from tabulate import tabulate

    counts = {s: sum(e["status"] == s for e in entries) for s in ("implemented", "quoted only", "not yet")}
    rows = [[e["target"], e["source"], e["status"], e["detail"], e["built"]] for e in entries]
    return (tabulate(rows, headers=["target", "source", "status", "detail", "built"], tablefmt="simple") + "\n\n"
            + ", ".join(f"{n} {s}" for s, n in counts.items())
            + ". Build one with: snakemake --cores 2 <target>   (all implemented ones: snakemake --cores 2)")


def unknown_target_message(target: str, tables: dict, figures: dict | None = None) -> str:
    """The error for a target no rule builds: its status if the paper map has it, else the closest names."""
    entries = {e["target"]: e for e in catalog(tables, figures=figures)}
    if target in entries:
        entry = entries[target]
        return (f"{target} ({entry['source']}) is on the paper map but certbench does not build it yet "
                f"(status: {entry['status']}). `python -m bench list` prints every target with its status.")
    close = []
    for names in ([t for t, e in entries.items() if e["status"] == "implemented"], [*entries, "all", "list"]):
        by_stem = {Path(name).stem: name for name in names}
        matches = [*difflib.get_close_matches(target, names, n=3, cutoff=0.5),
                   *(by_stem[s] for s in difflib.get_close_matches(Path(target).stem, by_stem, n=3, cutoff=0.5))]
        close += [m for m in dict.fromkeys(matches) if m not in close]
    hint = f" Did you mean: {', '.join(close[:3])}?" if close else ""
    return f"no rule builds '{target}'.{hint} `python -m bench list` prints every table and figure with its status."
