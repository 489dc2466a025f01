"""Consistency checks on the numbers of a table: a fixed list of named rules, run over the papers' numbers
(``bench/reference/<paper>.yaml``) and over reproduced ones, each returning the findings it makes with the cells
and values involved. ``python -m bench.audit`` prints every finding on every paper's numbers, training nothing.

Rules (an accuracy is a fraction or a percent, an error is 100 - accuracy):
- ``ordering``: per model, certified <= PGD <= clean accuracy (errors: the reverse);
- ``radius``: certified accuracy never rises with the radius (smoothing tables);
- ``eps``: certified accuracy never rises with the test eps for one trained model (same training setting);
- ``repeated``: a model printed in several tables shows the same values, within the printing precision;
- ``identical_rows``: two rows of one block equal in every column (a likely copy error);
- ``claim``: a number stated in the paper's text (``claims`` in the reference data, with the quoted sentence)
  agrees with the table cell it describes, within the precision of both.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from decimal import Decimal
from itertools import combinations

from bench.io import parse_eps
from bench.reference import cell_setting, load_paper

PAPERS = ("landscape", "sac", "book", "bcp", "duet", "crm", "graddiv")
CLEAN, PGD, CERTIFIED = ("standard", "clean"), ("pgd",), ("verified", "certified")


@dataclass(frozen=True)
class Row:
    """One printed row of one block: ``model`` says which trained model it is (its training setting: rows of
    different tables with the same ``model`` and test ``eps`` must agree), ``values`` maps column -> number
    (None where the paper prints "-")."""
    paper: str
    table: str
    block: str
    method: str
    metric: str  # "error", "accuracy" (fractions), "accuracy_percent" or "certified accuracy" (smoothing, per radius)
    values: dict
    model: tuple = ()
    eps: float | None = None


@dataclass(frozen=True)
class Finding:
    rule: str
    where: str
    message: str
    tables: tuple = ()  # the reference tables whose cells it involves

    def __str__(self) -> str:
        return f"[{self.rule}] {self.where}: {self.message}"


def _column(row: Row, names: tuple[str, ...]) -> tuple[str, float] | None:
    return next(((c, row.values[c]) for c in names if row.values.get(c) is not None), None)


def _where(row: Row) -> str:
    return f"{row.paper} {row.table}, {row.block}, {row.method}"


def ordering(rows: list[Row]) -> list[Finding]:
    """certified <= PGD <= clean accuracy per row (for errors: verified >= PGD >= standard)."""
    findings = []
    for row in rows:
        if row.metric not in ("error", "accuracy", "accuracy_percent"):
            continue
        named = [cell for cell in (_column(row, CLEAN), _column(row, PGD), _column(row, CERTIFIED)) if cell]
        for (a, x), (b, y) in combinations(named, 2):  # a: the weaker test of the two
            if x > y if row.metric == "error" else x < y:
                findings.append(Finding("ordering", _where(row), f"{a} {x} {'>' if x > y else '<'} {b} {y}",
                                        (row.table,)))
    return findings


def radius(rows: list[Row]) -> list[Finding]:
    """Certified accuracy, and accuracy under one attack, is non-increasing in the radius."""
    findings = []
    for row in (r for r in rows if r.metric in ("certified accuracy", "accuracy under attack")):
        cells = [(float(c), v) for c, v in row.values.items() if v is not None]
        for (r0, v0), (r1, v1) in zip(cells, cells[1:]):
            if v1 > v0:
                findings.append(Finding("radius", _where(row), f"{v1} at radius {r1:g} > {v0} at radius {r0:g}",
                                        (row.table,)))
    return findings


def eps(rows: list[Row]) -> list[Finding]:
    """For one trained model (same table, method and training setting), certified accuracy does not rise with
    the test eps."""
    findings, groups = [], {}
    for row in rows:
        if row.eps is not None and _column(row, CERTIFIED):
            groups.setdefault((row.paper, row.table, row.method, row.model), []).append(row)
    for group in groups.values():
        group.sort(key=lambda r: r.eps)
        for low, high in zip(group, group[1:]):
            (_, a), (_, b) = _column(low, CERTIFIED), _column(high, CERTIFIED)
            if (b < a if low.metric == "error" else b > a) and high.eps > low.eps:
                kind = "error" if low.metric == "error" else "accuracy"
                findings.append(Finding("eps", _where(high), f"certified {kind} {b} at {high.block} vs {a} at "
                                        f"{low.block}, same trained model", (high.table,)))
    return findings


def _decimals(value: float) -> int:
    return max(0, -Decimal(repr(value)).as_tuple().exponent)


def _agree(a: float, b: float) -> bool:
    """Equal within the printing precision of the coarser of the two (YAML drops trailing zeros, so a 2-decimal
    1.20 reads as 1.2 and gets the looser tolerance: a finding is never a formatting artefact)."""
    return abs(a - b) <= 0.5 * 10 ** -min(_decimals(a), _decimals(b)) + 1e-12


def repeated(rows: list[Row]) -> list[Finding]:
    """A trained model printed in several tables of one paper has the same value in every shared column."""
    findings, seen = [], {}
    for row in rows:
        if row.model:
            seen.setdefault((row.paper, row.method, row.model, row.eps), []).append(row)
    for group in seen.values():
        for first, other in combinations(group, 2):
            if first.table == other.table:
                continue
            for column in first.values.keys() & other.values.keys():
                a, b = first.values[column], other.values[column]
                if a is not None and b is not None and not _agree(a, b):
                    findings.append(Finding("repeated", f"{first.paper} {first.method}, {first.block}",
                                            f"{column} {a} in {first.table} but {b} in {other.table}",
                                            (first.table, other.table)))
    return findings


def identical_rows(rows: list[Row]) -> list[Finding]:
    """Two rows of one block equal over every column (at least two numbers, not all zero)."""
    findings, blocks = [], {}
    for row in rows:
        blocks.setdefault((row.paper, row.table, row.block), []).append(row)
    for block in blocks.values():
        for a, b in combinations(block, 2):
            numbers = [v for v in a.values.values() if v is not None]
            if a.values == b.values and len(numbers) >= 2 and any(numbers):
                findings.append(Finding("identical_rows", f"{a.paper} {a.table}, {a.block}",
                                        f"{a.method} and {b.method} both read {list(a.values.values())}",
                                        (a.table,)))
    return findings


def claims(paper: str, rows: list[Row]) -> list[Finding]:
    """Numbers of the paper's text (``claims`` in its reference data) against the cells they describe."""
    findings = []
    for claim in load_paper(paper).get("claims", []):
        cell = next((r for r in rows if r.table == claim["table"] and r.method == claim["method"]
                     and r.block == claim["block"]), None)
        if cell is None:
            raise KeyError(f"{paper} claim names no table cell: {claim}")
        value = cell.values.get(claim["column"])
        if value is not None and not _agree(value, claim["value"]):
            findings.append(Finding("claim", _where(cell), f"the text says {claim['column']} {claim['value']} "
                                    f"(\"{claim['quote']}\"), the table prints {value}", (cell.table,)))
    return findings


def unsound(frame, where: str) -> list[Finding]:
    """Per-point verification results (``bench.verify``): a point that a bound verifies but PGD breaks means the
    bound is unsound (a bug), since a certificate holds for every point of the ball."""
    broken = frame["correct"].astype(bool) & ~frame["pgd_correct"].astype(bool)
    findings = []
    for column in (c for c in frame.columns if c.startswith("margin_")):
        count = int((broken & (frame[column] > 0)).sum())
        if count:
            findings.append(Finding("unsound", where, f"{count} point(s) verified by {column[7:]} but broken by PGD"))
    return findings


RULES = {"ordering": ordering, "radius": radius, "eps": eps, "repeated": repeated, "identical_rows": identical_rows}


def reference_rows(paper: str) -> list[Row]:
    """Every printed row of every table of ``paper``'s reference data."""
    rows = []
    for name, table in load_paper(paper)["tables"].items():
        if table.get("block") == "sigma":  # smoothing: one block per sigma, one column per radius
            for sigma, values in table["values"].items():
                for method, numbers in values.items():
                    rows.append(Row(paper, name, f"sigma {sigma}", method, "certified accuracy",
                                    dict(zip(map(str, table["columns"]), numbers)),
                                    model=(table["dataset"], table["model"], float(sigma))))
            continue
        if "attacks" in table:  # accuracy under EOT attacks: a row per method and attack, a column per radius
            for block in table["blocks"]:
                for method, by_attack in block["values"].items():
                    setting = cell_setting(block, method)
                    for attack, numbers in by_attack.items():
                        rows.append(Row(paper, name, attack, method, "accuracy under attack",
                                        dict(zip(table["eval_eps"], numbers)),
                                        model=(block["dataset"], setting["model"], parse_eps(setting["eps_train"]),
                                               setting["protocol"], attack)))
            continue
        for block in table.get("blocks", []):
            for method, numbers in block["values"].items():
                setting = cell_setting(block, method)
                rows.append(Row(paper, name, f"{block['dataset']} eps {block['eps']}", method, table["metric"],
                                dict(zip(table["columns"], numbers or [None] * len(table["columns"]))),
                                model=(block["dataset"], setting["model"], parse_eps(setting["eps_train"]),
                                       setting["protocol"]),
                                eps=parse_eps(block["eps"])))
    return rows


def audit(rows: list[Row], paper: str | None = None) -> list[Finding]:
    """Every rule's findings on ``rows`` (and the text claims of ``paper``, when given)."""
    findings = [finding for rule in RULES.values() for finding in rule(rows)]
    return findings + (claims(paper, rows) if paper else [])


def table_keys(paper: str, target: str) -> list[str]:
    """The reference tables printed in ``target`` (a table, or the parts it is printed as)."""
    tables = load_paper(paper)["tables"]
    key = next(name for name, spec in tables.items() if spec.get("target") == target)
    return list(tables[key].get("parts", [key]))


def audit_section(paper: str, target: str, reproduced: list[Row], measured: list[Finding] = ()) -> list[str]:
    """The "Audit" section of a built table: the findings on the paper's numbers that involve its cells, and
    those on the reproduced numbers (``reproduced`` rows, plus ``measured`` findings only results can show)."""
    keys = set(table_keys(paper, target))
    on_paper = [f for f in audit(reference_rows(paper), paper) if keys & set(f.tables)]
    on_ours = audit(reproduced) + list(measured)
    return ["## Audit", "",
            "Consistency checks of `bench.audit` (`python -m bench.audit` lists them for every paper): accuracy "
            "ordering, monotonicity in the radius and in eps, a model repeated across tables, identical rows, the "
            "paper's text against its tables; for the reproduction also collapsed models and unsound bounds.", "",
            "Paper's numbers:", *([f"- {f}" for f in on_paper] or ["- none"]), "",
            "Reproduction:", *([f"- {f}" for f in on_ours] or ["- none"]), ""]


def main() -> int:
    for paper in PAPERS:
        findings = audit(reference_rows(paper), paper)
        print(f"{paper}: {len(findings)} finding(s) on the paper's numbers")
        for finding in findings:
            print(f"  {finding}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
