"""crm Table 2 (bench.analysis.pairwise_lipschitz, bench.report.pairwise_table): the mean pairwise constants of a
model, ordered as crm proves, and the table that puts them beside the paper's."""
import pandas as pd
import torch

from bench.analysis.pairwise_lipschitz import pairwise_statistics
from bench.reference import reference_table
from bench.report.pairwise_table import build_pairwise_table
from test_bcp import small_net
from test_linf_report import cells, table_lines


def test_the_means_are_ordered_and_the_table_shows_them_beside_the_papers():
    rows = pd.DataFrame(pairwise_statistics(small_net(2), (1, 6, 6)))
    value = {(r.bound, r.statistic): r.value for r in rows.itertuples()}
    for bound in ("naive", "liplt"):
        assert value[bound, "pair"] <= value[bound, "class_sum"] and value[bound, "pair"] <= value[bound, "global"]
    assert all(value["liplt", s] <= value["naive", s] + 1e-9 for s in ("pair", "class_sum", "global"))

    frame = rows.assign(method="crm", dataset="cifar10", paper_model="6c2f", model="small_star",
                        used_dataset="digits_rgb8")
    markdown = build_pairwise_table(reference_table("crm", "table2"), frame, "smoke", "note", "abc", "crm")
    cifar = cells(table_lines(markdown, "| cifar10")[0])
    assert cifar[3] == f"93.52 / {value['naive', 'pair']:.2f}" and cifar[6] == f"11.26 / {value['liplt', 'pair']:.2f}"
    assert cells(table_lines(markdown, "| mnist")[0])[3] == "266.08 / not run yet"
    assert cells(table_lines(markdown, "| tinyimagenet")[0])[3] == "313.62 / not run yet"


def test_fig1_draws_the_certified_fraction_of_each_radius(tmp_path):
    from bench.figures.crm_fig1_radii import draw

    generator = torch.Generator().manual_seed(0)
    frame = pd.concat([pd.DataFrame({"method": method, "idx": range(50), "label": 0, "correct": True,
                                     "radius_liplt": torch.rand(50, generator=generator).numpy() * scale,
                                     "radius_naive": torch.rand(50, generator=generator).numpy() * scale / 2})
                       for method, scale in (("crm", 1.0), ("standard", 0.5))])
    frame.to_csv(tmp_path / "data.tsv", sep="\t", index=False)
    draw(tmp_path / "data.tsv", tmp_path / "fig.png", "1.58")
    assert (tmp_path / "fig.png").stat().st_size > 10_000 and (tmp_path / "fig.pdf").exists()
