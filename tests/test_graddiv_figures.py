"""The GradDiv figures' measures (thesis figs. 2.4-2.9): gradient samples per test image, their projection and
cosines, the transfer matrix among fixed sample models, and the tidy tables the figures draw."""
import math

import pandas as pd
import pytest
import torch

from bench.analysis.gradient_samples import (GradientSampleSettings, analyse_gradient_samples, cosine_rows,
                                             projected)
from bench.analysis.graddiv_figures import eot_accuracy, loss_increase
from bench.analysis.transfer import SampleModel, TransferSettings, transfer_matrix
from bench.io import read_rows, write_rows
from bench.methods.graddiv import kappa_hat


@pytest.fixture(scope="module")
def adv_bnn(tmp_path_factory):
    from bench.train import RunSpec, TrainSettings, train

    run = RunSpec("digits", "small", "adv_bnn", seed=0, eps=0.0)  # the ELBO alone: seconds
    settings = TrainSettings(epochs=1, batch_size=128, lr=1e-3, momentum=0.0, weight_decay=0.0, optimizer="adam",
                             lr_step_epochs=10, lr_gamma=1.0, normalize=False, options={"prior_sigma": 0.05})
    return train(run, settings, tmp_path_factory.mktemp("adv_bnn"), progress=False)


def test_each_test_point_gets_its_concentration_and_the_first_keeps_its_gradients(adv_bnn, tmp_path):
    settings = GradientSampleSettings(samples=12, batch_size=8, skip=3, max_points=20)
    frame = analyse_gradient_samples(adv_bnn, settings, tmp_path / "s.tsv", tmp_path / "first.pt", progress=False)
    assert list(frame["idx"]) == list(range(0, 60, 3)) and read_rows(tmp_path / "s.tsv")[0].equals(frame)
    assert frame["rho"].between(0, 1).all() and (frame["kappa"] > 0).all()
    assert frame["mean_cosine"].between(-1, 1).all() and frame["correct"].dtype == bool
    first = torch.load(tmp_path / "first.pt", weights_only=True)
    assert first["idx"] == 0 and first["gradients"].shape == (12, 64)
    assert math.isclose(float(kappa_hat(first["gradients"].unsqueeze(0))), frame["kappa"][0], rel_tol=1e-5)


def test_the_projection_keeps_the_means_in_the_plane_with_their_mrl_as_length():
    torch.manual_seed(0)
    base = torch.randn(50)
    gradients = {"a": base + 0.5 * torch.randn(30, 50), "b": torch.randn(30, 50)}
    frame = projected(gradients)
    means = frame[frame["kind"] == "mean"].set_index("model")
    assert means.loc["a", "y"] == pytest.approx(0, abs=1e-12) and means.loc["a", "x"] > 0
    assert (means["x"] ** 2 + means["y"] ** 2).to_numpy() == pytest.approx((means["rho"] ** 2).to_numpy())
    assert means.loc["a", "rho"] > 2 * means.loc["b", "rho"]   # the concentrated set has the longer mean
    samples = frame[frame["kind"] == "sample"]
    assert ((samples["x"] ** 2 + samples["y"] ** 2) <= 1 + 1e-9).all() and len(samples) == 60


def test_the_cosine_matrix_is_symmetric_with_a_unit_diagonal():
    matrix = cosine_rows(torch.randn(6, 20)).pivot(index="i", columns="j", values="cosine").to_numpy()
    assert matrix.shape == (6, 6) and matrix.diagonal() == pytest.approx(1)
    assert matrix == pytest.approx(matrix.T) and (abs(matrix) <= 1 + 1e-9).all()


def test_a_sample_model_is_one_fixed_network_and_unattacked_images_give_each_target_its_clean_accuracy(adv_bnn,
                                                                                                      tmp_path):
    from bench.data import load_dataset
    from bench.data.registry import stack
    from bench.train import load_trained

    network, _ = load_trained(adv_bnn)
    network.eval()
    x, y = stack(load_dataset("digits", "test", "data"), list(range(0, 40, 2)))
    first, again, other = SampleModel(network, 3), SampleModel(network, 3), SampleModel(network, 4)
    assert torch.equal(first(x), first(x)) and torch.equal(first(x), again(x))
    assert not torch.equal(first(x), other(x))
    settings = TransferSettings(eps=1e-9, steps=1, members=3, batch_size=7, skip=2, max_points=20)
    matrix = transfer_matrix(adv_bnn, settings, tmp_path / "m.tsv", seed=1, progress=False)
    assert len(matrix) == 9 and (matrix["points"] == 20).all()
    clean = [float((SampleModel(network, 1_000 + t)(x).argmax(1) == y).float().mean()) for t in range(3)]
    for t in range(3):
        assert matrix[matrix["target"] == t]["accuracy"].to_numpy() == pytest.approx([clean[t]] * 3)
        assert matrix[matrix["target"] == t]["target_clean"].to_numpy() == pytest.approx([clean[t]] * 3)


def _attack_file(path, eps_values, robust, loss):
    rows = [{"idx": i, "eps": eps, "label": 0, "predict": 0, "robust": r, "loss": l}
            for eps, rs, ls in zip(eps_values, robust, loss) for i, (r, l) in enumerate(zip(rs, ls))]
    write_rows(pd.DataFrame(rows), path, {})
    return str(path)


def test_the_loss_increase_is_per_point_and_accuracy_curves_read_eps_or_samples(tmp_path):
    path = _attack_file(tmp_path / "a.tsv", [0.0, 0.4], [[True, True], [True, False]], [[0.1, 0.2], [0.3, 1.2]])
    increase = loss_increase([["", "adv_bnn", "Adv-BNN", path]], {"eval_eps": ["0.4"]}, {}, {})
    assert increase["loss_increase"].to_numpy() == pytest.approx([0.2, 1.0])
    assert (increase["clean_accuracy"] == 100).all()
    n5 = _attack_file(tmp_path / "n5.tsv", [0.0, 0.38], [[True, True], [False, True]], [[0, 0], [0, 0]])
    spec = {"panels": [{"title": "eps", "attack": "pgd_n5"}, {"title": "n", "samples": [5], "eval_eps": ["0.38"]}]}
    cells = [["eps", "adv_bnn", "Adv-BNN", n5, "pgd_n5"], ["n", "adv_bnn", "Adv-BNN", n5, "pgd_n5"]]
    curves = eot_accuracy(cells, spec, {}, {})
    assert curves[["panel", "x_name", "x", "accuracy"]].values.tolist() == [
        ["eps", "eps", 0.0, 100.0], ["eps", "eps", 0.38, 50.0], ["n", "n", 5, 50.0]]
