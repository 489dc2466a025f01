"""Sac fig. 1's data (bench.analysis.alpha_sweep) from per-epoch Lipschitz logs and verification files, and its
figure."""
import pandas as pd
import pytest

from bench.analysis.alpha_sweep import alpha_table, layer_labels
from bench.io import write_rows

LAYERS = [("net.0", "conv"), ("net.2", "conv"), ("net.5", "linear")]


def write_run(directory, alpha, epochs=3, correct=(True, True, False, True), own=(True, False, False, False)):
    directory.mkdir(parents=True)
    norms = [{"epoch": e, "name": name, "kind": kind, "norm": alpha * 10 + i + e / 10}
             for e in range(1, epochs + 1) for i, (name, kind) in enumerate(LAYERS)]
    pd.DataFrame(norms).to_csv(directory / "lipschitz.csv", index=False)
    write_rows(pd.DataFrame({"idx": range(4), "correct": correct, "verified_own": own}), directory / "eps.tsv", {})
    return directory / "lipschitz.csv", directory / "eps.tsv"


def test_layers_are_named_as_sac_fig1_names_them():
    assert layer_labels(["conv"] * 4 + ["linear"] * 3) == ["C1", "C2", "C3", "C4", "L5", "L6", "L7"]


def test_the_table_holds_every_epochs_bounds_and_the_final_accuracies_of_every_alpha(tmp_path):
    runs = {0.1: write_run(tmp_path / "a", 0.1), 0.2: write_run(tmp_path / "b", 0.2, correct=(True,) * 4)}
    table = alpha_table(list(runs), [r[0] for r in runs.values()], [r[1] for r in runs.values()], chosen=0.2,
                        paper={"alpha": 0.2, "clean": 0.8, "certified": 0.6})
    paper, table = table[table["source"] == "paper"], table[table["source"] == "measured"]
    assert paper.set_index("quantity")["value"].to_dict() == {"clean": 0.8, "certified": 0.6}
    bounds = table[table["quantity"] == "lipschitz"]
    assert len(bounds) == 2 * 3 * 3 and list(bounds["layer"].unique()) == ["C1", "C2", "L3"]
    last = bounds[(bounds["alpha"] == 0.2) & (bounds["epoch"] == 3)].set_index("layer")["value"]
    assert last.to_dict() == pytest.approx({"C1": 2.3, "C2": 3.3, "L3": 4.3})
    accuracy = table[table["quantity"] != "lipschitz"].set_index(["alpha", "quantity"])["value"]
    assert accuracy.to_dict() == {(0.1, "clean"): 0.75, (0.1, "certified"): 0.25,
                                  (0.2, "clean"): 1.0, (0.2, "certified"): 0.25}
    assert set(table.loc[table["chosen"], "alpha"]) == {0.2}


def test_the_configured_grid_is_the_papers_alpha_search_and_its_caption_point_the_alpha_kept(repo):
    import yaml

    from bench.reference import load_paper

    figure = yaml.safe_load((repo / "config/config.yaml").read_text())["figures"]["sac_fig1_alpha"]
    sac = load_paper("sac")
    search = sac["alpha_search"]["4c3f_cifar10"]
    assert figure["alphas"] == sorted(search["order"]) and figure["chosen_alpha"] == search["best"]
    assert sac["figure1"]["alpha"] == search["best"]


def test_a_run_trained_without_lipschitz_logging_is_named(tmp_path):
    norms, rows = write_run(tmp_path / "a", 0.1)
    norms.write_text("epoch,name,kind,norm\n")
    with pytest.raises(ValueError, match="log_lipschitz"):
        alpha_table([0.1], [norms], [rows], chosen=0.1)


def test_the_figure_draws_both_panels_from_the_table(tmp_path):
    from bench.figures.sac_fig1_alpha import draw

    runs = {alpha: write_run(tmp_path / str(alpha), alpha, epochs=5) for alpha in (0.05, 0.2, 0.9)}
    table = alpha_table(list(runs), [r[0] for r in runs.values()], [r[1] for r in runs.values()], chosen=0.2,
                        paper={"alpha": 0.2, "clean": 0.8, "certified": 0.6})
    table.to_csv(tmp_path / "fig.tsv", sep="\t", index=False)
    draw(tmp_path / "fig.tsv", tmp_path / "fig.png", eps_label="2/255")
    assert (tmp_path / "fig.png").stat().st_size > 10_000 and (tmp_path / "fig.pdf").stat().st_size > 1_000


def test_a_figure_built_below_paper_scale_says_so_and_a_paper_one_does_not(tmp_path):
    import matplotlib.pyplot as plt

    from bench.figures import style

    stamps = {}
    for scale in ("smoke", "paper"):
        style.mark_scale(scale)
        figure = plt.figure()
        style.save(figure, tmp_path / f"{scale}.png")
        stamps[scale] = [text.get_text() for text in figure.texts]
    style.mark_scale("paper")
    assert stamps == {"smoke": ["SMOKE SCALE: offline stand-in data and model, not comparable to the paper"],
                      "paper": []}
