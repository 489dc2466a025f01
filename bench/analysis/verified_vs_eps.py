"""Thesis fig. 3.4 and B.3: verified accuracy against the evaluation radius, from the cached per-point
verification files of each trained model at every eps_eval of its panel (torch-free)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from bench.io import parse_eps, read_rows

COLUMNS = ["panel", "method", "eps_target", "eps_eval", "clean", "pgd", "verified", "verified_tightest", "points"]


def verified_vs_eps(cells: list[tuple[str, str, str, str]], paths: list[str | Path]) -> pd.DataFrame:
    """One row per (panel, trained method, eps_eval): ``cells`` holds (panel title, method, eps_target,
    eps_eval) with the radii as the config writes them ("36/255", "1.58"), ``paths`` the verification file of
    each cell. Accuracies are fractions of the verified points: clean, PGD, verified by the method's own bound
    and by the tightest bound the suite computed (each a sound bound, so their best is too)."""
    rows = []
    for (panel, method, eps_target, eps_eval), path in zip(cells, paths, strict=True):
        frame, provenance = read_rows(path)
        if abs(provenance["eps"] - parse_eps(eps_eval)) > 1e-9:
            raise ValueError(f"{path} was verified at eps {provenance['eps']:.6g}, not at {eps_eval}")
        rows.append({"panel": panel, "method": method, "eps_target": parse_eps(eps_target),
                     "eps_eval": parse_eps(eps_eval), "clean": frame["correct"].mean(),
                     "pgd": frame["pgd_correct"].mean(), "verified": frame["verified_own"].mean(),
                     "verified_tightest": frame["verified_tightest"].mean(), "points": len(frame)})
    return pd.DataFrame(rows, columns=COLUMNS)
