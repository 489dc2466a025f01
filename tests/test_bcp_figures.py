"""The BCP figures: fig. 3.4's data (bench.analysis.verified_vs_eps) from per-point verification files and figs.
B.1-B.2's (bench.analysis.lipschitz_curves) from per-epoch Lipschitz logs, their drawings, and their config."""
import pandas as pd
import pytest
import yaml

from bench.analysis.lipschitz_curves import lipschitz_curves
from bench.analysis.verified_vs_eps import verified_vs_eps
from bench.io import parse_eps, write_rows


def write_cell(path, eps, verified, points=4):
    frame = pd.DataFrame({"idx": range(points), "correct": [True] * points,
                          "pgd_correct": [i < 3 for i in range(points)],
                          "verified_own": [i < verified for i in range(points)],
                          "verified_tightest": [i <= verified for i in range(points)]})
    write_rows(frame, path, {"eps": parse_eps(eps)})
    return path


def test_one_row_per_model_and_radius_with_the_fractions_of_its_points(tmp_path):
    cells = [("b", "bcp", "36/255", "0"), ("b", "bcp", "36/255", "36/255"), ("b", "lmt", "36/255", "36/255")]
    paths = [write_cell(tmp_path / f"{i}.tsv", cell[3], verified) for i, (cell, verified) in
             enumerate(zip(cells, (4, 2, 1)))]
    table = verified_vs_eps(cells, paths)
    assert list(table["eps_eval"]) == pytest.approx([0.0, 36 / 255, 36 / 255])
    assert list(table["verified"]) == [1.0, 0.5, 0.25] and list(table["verified_tightest"]) == [1.0, 0.75, 0.5]
    assert list(table["pgd"]) == [0.75] * 3 and list(table["eps_target"]) == pytest.approx([36 / 255] * 3)


def test_a_file_verified_at_another_radius_is_refused(tmp_path):
    path = write_cell(tmp_path / "a.tsv", "18/255", 2)
    with pytest.raises(ValueError, match="not at 36/255"):
        verified_vs_eps([("b", "bcp", "36/255", "36/255")], [path])


def test_the_figure_draws_one_panel_per_setting_three_to_a_row(tmp_path):
    import matplotlib.pyplot as plt

    from bench.figures import bcp_fig3_4_verified_vs_eps as figure

    cells, paths = [], []
    for panel, target in (("a", "1.58"), ("b", "36/255"), ("c", "72/255"), ("d", "2")):
        for method in ("cap", "lmt", "ibp", "bcp"):
            for k, eps in enumerate(("0", target, "2")):
                cells.append((panel, method, target, eps))
                paths.append(write_cell(tmp_path / f"{panel}{method}{k}.tsv", eps, 3 - k))
    verified_vs_eps(cells, paths).to_csv(tmp_path / "fig.tsv", sep="\t", index=False)
    drawn = []
    original = figure.style.save
    figure.style.save = lambda fig, out: (drawn.append(fig), original(fig, out))
    try:
        figure.draw(tmp_path / "fig.tsv", tmp_path / "fig.png")
    finally:
        figure.style.save = original
    assert [ax.get_title() for ax in drawn[0].axes if ax.get_visible()] == ["a", "b", "c", "d"]
    assert len(drawn[0].axes) == 6  # two rows of three, the last two left empty
    assert len(drawn[0].axes[0].get_lines()) == 4 * 2 + 1  # own and tightest per method, the eps_target line
    assert (tmp_path / "fig.png").stat().st_size > 10_000 and (tmp_path / "fig.pdf").stat().st_size > 1_000
    plt.close("all")


def test_every_panel_is_verified_at_its_own_training_radius(repo):
    spec = yaml.safe_load((repo / "config/config.yaml").read_text())["figures"]["bcp_fig3_4_verified_vs_eps"]
    assert spec["norm"] == "l2"
    for panel in spec["panels"]:
        assert panel["eps"] in panel["eval_eps"] and "0" in panel["eval_eps"]
        assert [parse_eps(e) for e in panel["eval_eps"]] == sorted(parse_eps(e) for e in panel["eval_eps"])


def write_norms(path, growth, epochs=4):
    """A 4C3F-like log: three layers whose norms grow by ``growth`` per epoch."""
    rows = [{"epoch": e, "name": name, "kind": kind, "norm": base * growth ** e}
            for e in range(1, epochs + 1) for name, kind, base in (("1", "conv", 2.0), ("3", "conv", 3.0),
                                                                     ("6", "linear", 5.0))]
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_lipschitz_curves_hold_each_layer_and_the_products_of_all_and_all_but_the_last(tmp_path):
    table = lipschitz_curves(["standard", "bcp"], [write_norms(tmp_path / "s.csv", 1.1),
                                                   write_norms(tmp_path / "b.csv", 0.9)], 1, 2)
    bcp = table[table["method"] == "bcp"].set_index(["quantity", "epoch", "layer"])["value"]
    assert bcp[("network", 2, "")] == pytest.approx(30 * 0.9 ** 6)
    assert bcp[("penultimate", 2, "")] == pytest.approx(6 * 0.9 ** 4)
    assert bcp[("layer", 3, "L3")] == pytest.approx(5 * 0.9 ** 3)
    assert set(table["warmup_end"]) == {1} and set(table["rampup_end"]) == {3}


def test_the_lipschitz_figure_draws_the_bounds_and_their_ratio(tmp_path):
    from bench.figures.bcp_figB1_lipschitz import draw

    lipschitz_curves(["standard", "bcp"], [write_norms(tmp_path / "s.csv", 1.1), write_norms(tmp_path / "b.csv", 0.9)],
                     1, 2).to_csv(tmp_path / "fig.tsv", sep="\t", index=False)
    draw(tmp_path / "fig.tsv", tmp_path / "fig.png")
    assert (tmp_path / "fig.png").stat().st_size > 10_000 and (tmp_path / "fig.pdf").stat().st_size > 1_000


def test_the_box_only_tightens_the_translation_and_sampled_points_never_exceed_it():
    import torch

    from bench.analysis.outer_bound import all_pairs, translation_tightness
    from test_bcp import sample_ball, small_net

    assert all_pairs(3).tolist() == [[1, -1, 0], [1, 0, -1], [-1, 1, 0], [0, 1, -1], [-1, 0, 1], [0, -1, 1]]
    model = small_net(9)
    x = torch.rand(4, 1, 6, 6, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        tight, loose = translation_tightness(model, x, 0.5)
        assert (tight <= loose + 1e-6).all() and (tight < loose - 1e-4).any()
        pairs = all_pairs(5)
        for k in range(len(x)):
            points = sample_ball(x[k], 0.5, 5000, "l2", torch.Generator().manual_seed(k))
            drop = (model(x[k:k + 1]) @ pairs.T) - (model(points) @ pairs.T)  # (z_j - z_i)(x) - (z_j - z_i)(x')
            assert drop.max(0).values.mean() <= tight[k] + 1e-5  # every sampled translation is inside the bound


def test_the_tightness_figure_draws_a_violin_and_the_constant_per_dataset(tmp_path):
    from bench.figures.bcp_fig3_3_tightness import draw

    rows = [{"panel": panel, "idx": i, "tightness_bcp": 0.5 + 0.01 * i, "tightness_lipschitz": 1.0}
            for panel in ("MNIST", "CIFAR-10") for i in range(20)]
    pd.DataFrame(rows).to_csv(tmp_path / "fig.tsv", sep="\t", index=False)
    draw(tmp_path / "fig.tsv", tmp_path / "fig.png")
    assert (tmp_path / "fig.png").stat().st_size > 10_000 and (tmp_path / "fig.pdf").stat().st_size > 1_000
