"""The tidy tables of the GradDiv figures (thesis figs. 2.3-2.9, A.1-A.5), one function per figure, from the files
its networks' jobs wrote. ``cells``: [panel title, method, label, file(, attack)] per network (the workflow's
``graddiv_figure_cells``); ``spec`` the figure's config entry; ``marks`` the schedule's epochs per panel; ``paper``
the numbers the thesis states for the figure (graddiv.yaml ``figures``), carried as columns for the plot to quote.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from bench.io import read_rows


def _panels(spec: dict) -> dict[str, dict]:
    return {panel["title"]: panel for panel in spec["panels"]} if "panels" in spec else {"": spec}


def concentration(cells, spec, marks, paper) -> pd.DataFrame:
    """Figs. 2.3, A.1, A.3, A.4: each panel's measures per epoch; ``marks``: its warm-up and ramp-up ends, lr drops."""
    frames = []
    for title, method, label, path in cells:
        measures = _panels(spec)[title]["measures"]
        logged = pd.read_csv(path).melt(id_vars="epoch", value_vars=measures, var_name="measure")
        frames.append(logged.assign(panel=title, method=method, label=label,
                                    marks=";".join(str(mark) for mark in marks[title])))
    return pd.concat(frames, ignore_index=True)[["panel", "method", "label", "measure", "epoch", "value", "marks"]]


def scatter(cells, spec, marks, paper) -> pd.DataFrame:
    """Fig. 2.4: the two networks' 100 gradient samples at the first test image, on the plane of their means."""
    import torch

    from bench.analysis.gradient_samples import projected

    saved = {method: torch.load(path, weights_only=True) for _, method, _, path in cells}
    if len({first["idx"] for first in saved.values()}) != 1:
        raise ValueError("fig. 2.4 compares gradients at one test image; the networks' files differ")
    frame = projected({method: first["gradients"] for method, first in saved.items()})
    labels = {method: label for _, method, label, _ in cells}
    paper_rho = paper.get("fig2_4", {}).get("rho", {})
    return frame.rename(columns={"model": "method"}).assign(
        label=lambda f: f["method"].map(labels), paper_rho=lambda f: f["method"].map(paper_rho),
        clean_accuracy=lambda f: f["method"].map(_clean_accuracy(cells)))


def _clean_accuracy(cells) -> dict[str, float]:
    """Each network's ensemble accuracy (%) on the analysed test points, from the gradient samples' rows beside
    the kept gradients (the same job writes both)."""
    return {method: 100 * read_rows(Path(path).with_name("samples.tsv"))[0]["correct"].mean()
            for _, method, _, path in cells}


def loss_increase(cells, spec, marks, paper) -> pd.DataFrame:
    """Fig. 2.5: per test point, the expected loss at the EOT attack's image minus that at the clean image."""
    eps, frames = float(spec["eval_eps"][0]), []
    for _, method, label, path in cells:
        rows, _ = read_rows(path)
        clean, attacked = (rows[rows["eps"] == value].set_index("idx") for value in (0.0, eps))
        if clean.empty or attacked.empty:
            raise ValueError(f"{path} holds no rows at eps 0 and {eps}")
        frames.append(pd.DataFrame({"method": method, "label": label, "idx": attacked.index,
                                    "loss_increase": attacked["loss"] - clean["loss"].reindex(attacked.index),
                                    "clean_accuracy": 100 * clean["robust"].mean()}))
    return pd.concat(frames, ignore_index=True)


def kappa(cells, spec, marks, paper) -> pd.DataFrame:
    """Fig. 2.6: every test point's kappa_hat from 100 gradient samples, per dataset panel and network."""
    frames = [read_rows(path)[0].assign(panel=title, method=method, label=label)
              for title, method, label, path in cells]
    return pd.concat(frames, ignore_index=True)


def eot_accuracy(cells, spec, marks, paper) -> pd.DataFrame:
    """Figs. 2.7, A.2: accuracy under EOT-PGD against eps; fig. A.5: against the gradient samples n at one eps."""
    panels, rows = _panels(spec), []
    for title, method, label, path, attack in cells:
        panel = panels[title]
        accuracy = read_rows(path)[0].groupby("eps")["robust"].agg(["mean", "size"])
        if "samples" in panel:   # one point: this attack's n at the panel's radius
            eps = float(panel["eval_eps"][0])
            points = [("n", int(attack.rsplit("_n", 1)[1]), eps, *accuracy.loc[eps])]
        else:
            points = [("eps", eps, eps, value, size) for eps, (value, size) in accuracy.iterrows()]
        rows += [{"panel": title, "method": method, "label": label, "attack": attack, "x_name": x_name, "x": x,
                  "eps": eps, "accuracy": 100 * value, "points": int(size)} for x_name, x, eps, value, size in points]
    return pd.DataFrame(rows)[["panel", "method", "label", "attack", "x_name", "x", "eps", "accuracy", "points"]]


def transfer(cells, spec, marks, paper) -> pd.DataFrame:
    """Fig. 2.8: each network's 50 x 50 matrix of target accuracy on source adversarial images."""
    stated = paper.get("fig2_8", {})
    frames = [read_rows(path)[0].assign(method=method, label=label, **{
        f"paper_{key}": stated.get(method, {}).get(key) for key in ("mean", "min", "max")})
              for _, method, label, path in cells]
    return pd.concat(frames, ignore_index=True)


def cosine(cells, spec, marks, paper) -> pd.DataFrame:
    """Fig. 2.9: the cosine matrix of each network's 100 gradient samples at the first test image."""
    import torch

    from bench.analysis.gradient_samples import cosine_rows

    accuracy = _clean_accuracy(cells)
    return pd.concat([cosine_rows(torch.load(path, weights_only=True)["gradients"]).assign(
        method=method, label=label, clean_accuracy=accuracy[method]) for _, method, label, path in cells],
        ignore_index=True)


TIDY = {"graddiv_fig2_3_concentration": concentration, "graddiv_fig2_4_scatter": scatter,
        "graddiv_fig2_5_loss_increase": loss_increase, "graddiv_fig2_6_kappa": kappa,
        "graddiv_fig2_7_eot_accuracy": eot_accuracy, "graddiv_fig2_8_transfer": transfer,
        "graddiv_fig2_9_cosine": cosine}


def tidy_table(figure: str, cells: list, spec: dict, marks: dict, paper: dict) -> pd.DataFrame:
    return TIDY[figure](cells, spec, marks, paper)
