"""Tables of accuracy under EOT attacks (thesis Tables 2.1, A.2, A.3, A.5): one group of rows per attack as the
thesis prints them (EOT-FGSM with n = 20, then EOT-PGD with n = 1 ("-", the deterministic networks), 5, 10, 20),
one column per radius, each cell the paper's accuracy beside the one measured by ``bench.eot``.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from tabulate import tabulate

from bench.audit import Row, audit_section
from bench.protocols import randomized_method
from bench.reference import cell_setting
from bench.report.cells import Measured, format_cell, missing_text, ran


@dataclass(frozen=True)
class AttackedRun:
    """The per-point rows of one trained network under one attack (``bench.eot``), and their provenance."""
    method: str
    dataset: str          # the paper's
    attack: str           # as the table prints it (e.g. pgd_n20); the file may hold its one-sample version
    frame: pd.DataFrame
    provenance: dict

    def measured(self, eps: float) -> Measured | None:
        hits = self.frame.loc[(self.frame["eps"] - eps).abs() < 1e-12, "robust"]
        return Measured.of(hits) if len(hits) else None


def attack_label(attack: str, method: str) -> tuple[str, str]:
    """(attack, n) as the thesis prints them: n is "-" for a deterministic network's one-sample group."""
    kind, samples = attack.split("_n")
    deterministic = samples == "1" and not randomized_method(method)
    return ("EOT-FGSM" if kind == "fgsm" else "EOT-PGD"), ("-" if deterministic else samples)


def build_eot_table(reference: dict, runs: list[AttackedRun], scale: str, scale_note: str, commit: str,
                    paper_key: str, used: dict[str, str]) -> str:
    by_cell = {(r.method, r.dataset, r.attack): r for r in runs}
    eps_values, rows, reproduced = reference["eval_eps"], [], []
    for attack in reference["attacks"]:
        for block in reference["blocks"]:
            for method, label in reference["rows"].items():
                paper = block["values"].get(method, {}).get(attack)
                if paper is None:
                    continue
                kind, samples = attack_label(attack, method)
                run, setting = by_cell.get((method, block["dataset"], attack)), cell_setting(block, method)
                model = run.provenance["run"]["model"] if run else setting["model"]
                dataset = used.get(block["dataset"], block["dataset"]) if run else block["dataset"]
                comparable = run is not None and (dataset, model) == (block["dataset"], setting["model"])
                measured = [run.measured(float(e)) if run else None for e in eps_values]
                rows.append([kind, samples, ran(block["dataset"], dataset), ran(setting["model"], model), label,
                             *(format_cell(p, m, "accuracy_percent", comparable, missing_text(method, block))
                               for p, m in zip(paper, measured))])
                if run:
                    reproduced.append(Row("reproduction", reference["target"], attack, method, "accuracy under attack",
                                          {e: round(100 * m.value, 2) for e, m in zip(eps_values, measured) if m},
                                          model=(dataset, model, attack)))
    steps = sorted({r.provenance["settings"]["steps"] for r in runs})
    members = sorted({r.provenance["members"] for r in runs if r.provenance["members"] > 1})
    headers = ["attack", "n", "dataset", "model", "method", *(f"eps {e}" for e in eps_values)]
    lines = [
        f"# {reference['title']}", "",
        f"Rebuilt by certbench from paper `{paper_key}`; reference numbers as printed in the paper.", "",
        f"- Scale: **{scale}**. {scale_note}",
        "- Attacks (thesis sec. 2.2.4, `bench.eot`): EOT-FGSM, one step of eps along the sign of the mean of n "
        "gradient samples; EOT-PGD, m steps of eps / 4 from a random start in the l_inf ball, each along the mean of "
        "n samples. A randomized network predicts the class of the mean softmax of its sample models; a "
        "deterministic one (n \"-\") is attacked with one gradient and predicts as itself, so its rows do not "
        "depend on n.",
        *([f"- Measured with: m = {' / '.join(map(str, steps))} EOT-PGD steps"
           + (f", randomized networks predicting with {' / '.join(map(str, members))} sample models" if members
              else "") + "."] if steps else []),
        f"- Commit: `{commit}`.",
        "- Cell: paper / reproduced accuracy (%) [95% Clopper-Pearson interval over the test points used] "
        "(reproduced - paper, where the paper's dataset and model were run).", "",
        tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True), "",
        *audit_section(paper_key, reference["target"], reproduced),
    ]
    return "\n".join(lines)
