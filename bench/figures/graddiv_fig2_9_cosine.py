"""Thesis fig. 2.9: cosine similarities among 100 gradient samples of each randomized network at the first test
image (darker is lower): GradDiv's samples should be less aligned than Adv-BNN's."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from bench.figures import style


def title(label: str, rows: pd.DataFrame) -> str:
    return (f"{label} (clean {rows['clean_accuracy'].iloc[0]:.0f} %)\n"
            f"mean off-diagonal cosine {rows[rows['i'] != rows['j']]['cosine'].mean():.3f}")


def draw(data: str | Path, out_png: str | Path, eps_label: str = "") -> None:
    """``data``: tidy TSV (method, label, i, j, cosine) of ``graddiv_figures.cosine``."""
    style.apply()
    figure = style.matrix_panels(pd.read_csv(data, sep="\t"), "i", "j", "cosine", title, "gradient sample",
                                 "cosine similarity", (-1, 1))
    style.save(figure, out_png)
