"""Pairwise Lipschitz tables (crm Table 2): per dataset, the mean pairwise constants of its trained model by the
naive bound and by LipLT, from the tidy file of ``bench.analysis.pairwise_lipschitz``.
"""
from __future__ import annotations

import pandas as pd
from tabulate import tabulate

from bench.audit import audit_section
from bench.reference import cell_setting
from bench.report.cells import format_cell, missing_text, ran

STATISTICS = ("pair", "class_sum", "global")


def build_pairwise_table(reference: dict, frame: pd.DataFrame, scale: str, scale_note: str, commit: str,
                         paper_key: str) -> str:
    rows = []
    for block in reference["blocks"]:
        for method, label in reference["rows"].items():
            if method not in block["values"]:
                continue
            setting = cell_setting(block, method)
            cell = frame[(frame["method"] == method) & (frame["dataset"] == block["dataset"])]
            measured = {(r.bound, r.statistic): r.value for r in cell.itertuples()}
            dataset, model = (cell["used_dataset"].iloc[0], cell["model"].iloc[0]) if len(cell) else \
                (block["dataset"], setting["model"])
            comparable = len(cell) > 0 and (dataset, model) == (block["dataset"], setting["model"])
            keys = [(bound, statistic) for bound in ("naive", "liplt") for statistic in STATISTICS]
            rows.append([ran(block["dataset"], dataset), ran(setting["model"], model), label,
                         *(format_cell(paper, measured.get(key), comparable=comparable,
                                       missing=missing_text(method, block))
                           for paper, key in zip(block["values"][method], keys))])
    headers = ["dataset", "model", "trained by", *(f"{bound} {name}" for bound in ("naive", "LipLT")
                                                   for name in ("L_ij", "L_i + L_j", "sqrt(2) L"))]
    lines = [
        f"# {reference['title']}", "",
        f"Rebuilt by certbench from paper `{paper_key}`; reference numbers as printed in the paper.", "",
        f"- Scale: **{scale}**. {scale_note}",
        "- Each value is the mean over all unique class pairs (i, j) of the trained model's bound on z_i - z_j: "
        "L_ij directly, L_i + L_j from the per-class bounds, or sqrt(2) L from the whole net's; naive: products of "
        "the layers' norms, LipLT: crm eq. 19. Guaranteed constants (exact SVDs of the layers' products where they "
        "fit in memory, else products of the layers' guaranteed bounds).",
        f"- Commit: `{commit}`.",
        "- Cell: paper / reproduced (reproduced - paper) where the paper's dataset and model were run.", "",
        tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True), "",
        *audit_section(paper_key, reference["target"], []),
    ]
    return "\n".join(lines)
