"""Rotation-similarity tables (duet Table 1): per model, the mean similarity of its layers' rank-r rotations to
the vanilla guide's (percent) and the product bound on its l2 Lipschitz constant, from the tidy file of
``bench.analysis.rotation`` (one row per model and layer).
"""
from __future__ import annotations

import pandas as pd
from tabulate import tabulate

from bench.audit import audit_section
from bench.reference import cell_setting
from bench.report.cells import format_cell, missing_text, ran


def measured_cells(frame: pd.DataFrame) -> dict[tuple, tuple[float, float, str, str]]:
    """(method, paper dataset, paper model) -> (similarity %, Lipschitz bound, dataset used, model used)."""
    cells = {}
    for (method, dataset, paper_model), rows in frame.groupby(["method", "dataset", "paper_model"], sort=False):
        cells[(method, dataset, paper_model)] = (100.0 * rows["similarity"].mean(), float(rows["lipschitz"].prod()),
                                                 rows["used_dataset"].iloc[0], rows["model"].iloc[0])
    return cells


def build_rotation_table(reference: dict, frame: pd.DataFrame, provenance: dict, scale: str, scale_note: str,
                         commit: str, paper_key: str) -> str:
    measured, rows = measured_cells(frame), []
    for block in reference["blocks"]:
        for method, label in reference["rows"].items():
            if method not in block["values"]:
                continue
            setting = cell_setting(block, method)
            cell = measured.get((method, block["dataset"], setting["model"]))
            dataset, model = (cell[2], cell[3]) if cell else (block["dataset"], setting["model"])
            comparable = cell is not None and (dataset, model) == (block["dataset"], setting["model"])
            missing = missing_text(method)
            paper = block["values"][method]
            rows.append([ran(block["dataset"], dataset), ran(setting["model"], model), block["eps"], label,
                         *(format_cell(p, cell[k] if cell else None, comparable=comparable, missing=missing)
                           for k, p in enumerate(paper))])
    points = sorted(set(frame["points"])) if len(frame) else []
    lines = [
        f"# {reference['title']}", "",
        f"Rebuilt by certbench from paper `{paper_key}`; reference numbers as printed in the paper.", "",
        f"- Scale: **{scale}**. {scale_note}",
        f"- Guide (the vanilla model every row is compared with): `{provenance.get('guide', 'none')}`; rotations "
        f"of rank r = {provenance.get('rank')}.",
        "- Similarity: per linear and convolutional layer, the cosine between U_r V_r^T h of the guide and of the "
        "model (each from its own weight's SVD), h the layer's input in the model, averaged over "
        f"{', '.join(map(str, points)) or 'no'} test points and then over the layers, in percent. The paper gives no "
        "formula for its percentage: this is the suite's reading of its eq. 10.",
        "- Lipschitz: the product of guaranteed bounds on every layer's l2 Lipschitz constant (exact SVD for linear "
        "layers, the circular-convolution bound for convolutions).",
        f"- Commit: `{commit}`.",
        "- Cell: paper / reproduced (reproduced - paper) where the paper's dataset and model were run.", "",
        tabulate(rows, headers=["dataset", "model", f"eps ({reference.get('norm', 'l_inf')})", "method",
                                "similarity %", "Lipschitz constant"], tablefmt="github", disable_numparse=True),
        "",
        *audit_section(paper_key, reference["target"], []),  # no accuracy rule applies to these numbers
    ]
    return "\n".join(lines)
