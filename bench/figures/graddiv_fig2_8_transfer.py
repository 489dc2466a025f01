"""Thesis fig. 2.8: transfer among 50 sample models of each randomized network: the accuracy of the target model
(column) on PGD images of the source model (row); darker is lower accuracy, i.e. more transfer. The thesis states
the off-diagonal means: 75 % (Adv-BNN + GradDiv-DPP) and 24 % (Adv-BNN) on MNIST."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from bench.figures import style


def title(label: str, rows: pd.DataFrame) -> str:
    off = 100 * rows[rows["source"] != rows["target"]]["accuracy"]
    paper = rows["paper_mean"].iloc[0]
    stated = f"; paper {100 * paper:.0f} %" if pd.notna(paper) else ""
    clean = 100 * rows.drop_duplicates("target")["target_clean"].mean()
    return (f"{label}, sample models {clean:.0f} % clean\n"
            f"off-diagonal {off.mean():.1f} % (min {off.min():.1f}, max {off.max():.1f}){stated}")


def draw(data: str | Path, out_png: str | Path, eps_label: str = "") -> None:
    """``data``: tidy TSV (method, label, source, target, accuracy, paper_mean, ...) of ``graddiv_figures.transfer``."""
    style.apply()
    frame = pd.read_csv(data, sep="\t").assign(percent=lambda f: 100 * f["accuracy"])
    figure = style.matrix_panels(frame, "source", "target", "percent", title, "source sample model",
                                 "target accuracy (%)", (0, 100))
    style.save(figure, out_png)
