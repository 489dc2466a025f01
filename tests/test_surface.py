"""The robust-loss surface of bench.analysis.surface (Li et al. 2018) on a tiny IBP model, and its figure."""
import numpy as np
import pandas as pd
import pytest
import torch

from bench.analysis import surface
from bench.data import dataset_spec, load_dataset
from bench.data.registry import stack
from bench.methods import METHODS, TrainContext
from bench.models import build_model
from bench.train import RunSpec, TrainSettings, load_trained, train

EPS, POINTS = 0.05, dict(skip=40, max_points=10, batch_size=4)  # 10 points in batches of 4, 4 and 2


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    settings = TrainSettings(epochs=1, batch_size=64, lr=1e-3, momentum=0.0, weight_decay=0.0, lr_step_epochs=10,
                             lr_gamma=0.5, optimizer="adam", rampup_epochs=1)
    return train(RunSpec("digits", "small", "ibp", seed=0, eps=EPS), settings, tmp_path_factory.mktemp("ibp"),
                 progress=False)


def analyse(model_path, out, **kwargs):
    return surface.analyse_surface(model_path, EPS, out, **{"steps": 3, "device": "cpu", "progress": False,
                                                            **POINTS, **kwargs})


def test_every_filter_of_the_direction_has_the_norm_of_the_weights_filter_and_biases_get_zero():
    torch.manual_seed(0)
    model = build_model("small_bn", dataset_spec("digits"))  # convs, linears, biases and BatchNorm
    direction = surface.filter_normalized_direction(model, torch.Generator().manual_seed(1))
    again = surface.filter_normalized_direction(model, torch.Generator().manual_seed(1))
    other = surface.filter_normalized_direction(model, torch.Generator().manual_seed(2))
    assert direction.keys() == dict(model.named_parameters()).keys()
    for name, theta in model.named_parameters():
        d = direction[name]
        assert d.shape == theta.shape and torch.equal(d, again[name])
        if theta.dim() == 1:
            assert not d.any(), name
            continue
        torch.testing.assert_close(d.flatten(1).norm(dim=1), theta.detach().flatten(1).norm(dim=1))
        assert not torch.allclose(d, other[name]), name  # random, not theta itself
        assert not torch.allclose(d, theta.detach()), name


def test_the_centre_is_the_robust_loss_of_the_trained_model_and_its_weights_are_restored(model_path, tmp_path,
                                                                                            monkeypatch):
    loaded = []

    def keep(path, device):
        model, run = load_trained(path, device)
        loaded.append(model)
        return model, run

    monkeypatch.setattr(surface, "load_trained", keep)
    frame = analyse(model_path, tmp_path / "surface.tsv", span=0.5)
    assert list(frame.columns) == ["alpha", "beta", "robust_loss", "clean_loss"]
    assert sorted(set(frame["alpha"])) == sorted(set(frame["beta"])) == [-0.5, 0.0, 0.5] and len(frame) == 9

    model, run = load_trained(model_path)
    for (name, after), before in zip(loaded[0].state_dict().items(), model.state_dict().values()):
        assert torch.equal(after, before), name
    test_set = load_dataset("digits", "test")
    x, y = stack(test_set, range(0, len(test_set), POINTS["skip"])[:POINTS["max_points"]])
    with torch.no_grad():  # all 10 points in one batch: the surface must weight its 4 + 4 + 2 by batch size
        robust = float(METHODS[run.method].loss(model, x, y, TrainContext(0, 1, torch.Generator(), eps=EPS)))
        clean = float(torch.nn.functional.cross_entropy(model(x), y))
    centre = frame[(frame["alpha"] == 0) & (frame["beta"] == 0)].iloc[0]
    assert centre["robust_loss"] == pytest.approx(robust, rel=1e-5)
    assert centre["clean_loss"] == pytest.approx(clean, rel=1e-5)
    assert robust > clean  # the robust loss is an upper bound at eps > 0
    assert frame["robust_loss"].nunique() == 9  # the weights move between grid points


def test_same_seed_gives_the_same_file_and_another_seed_another_surface_through_the_same_centre(model_path, tmp_path):
    first, again, other = (analyse(model_path, tmp_path / f"{name}.tsv", seed=seed)
                           for name, seed in [("first", 0), ("again", 0), ("other", 1)])
    assert (tmp_path / "first.tsv").read_bytes() == (tmp_path / "again.tsv").read_bytes()
    assert not np.allclose(first["robust_loss"], other["robust_loss"])
    assert first.loc[4, "robust_loss"] == other.loc[4, "robust_loss"]  # (0, 0): no direction involved


def test_a_random_loss_draws_the_same_noise_at_every_grid_point(model_path, tmp_path, monkeypatch):
    class Noisy:  # the trained method plus noise from ctx.generator, like the sampled slopes of some bounds
        def loss(self, model, x, y, ctx):
            return METHODS["ibp"].loss(model, x, y, ctx) + torch.rand((), generator=ctx.generator)

    monkeypatch.setattr(surface, "get_method", lambda name: Noisy())
    frame = analyse(model_path, tmp_path / "noisy.tsv", span=0.0)  # every grid point at theta
    assert frame["robust_loss"].nunique() == 1


def test_the_figure_draws_one_panel_per_model(tmp_path):
    from bench.figures.landscape_surface import draw

    grid = np.linspace(-1, 1, 5)
    rows = [{"trained": method, "alpha": a, "beta": b, "robust_loss": np.exp(scale * (a * a + b * b)) + 0.1,
             "clean_loss": 0.1 + a * a}
            for method, scale in [("ours", 1.0), ("ibp", 3.0)] for a in grid for b in grid]
    pd.DataFrame(rows).to_csv(tmp_path / "surface.tsv", sep="\t", index=False)
    draw(tmp_path / "surface.tsv", tmp_path / "fig.png", eps_label="8/255")
    assert (tmp_path / "fig.png").stat().st_size > 10_000 and (tmp_path / "fig.pdf").stat().st_size > 1_000
