"""Mode connectivity (thesis app. C.5): the Bezier curve, gradients through the bounds to the control point, a
tiny end-to-end run whose curve starts and ends at the trained models, the barrier test and figs. C.3-C.5."""
import copy
from dataclasses import asdict, replace

import pandas as pd
import pytest
import torch

from bench.analysis import modeconn
from bench.analysis.modeconn import analyse_mode_connectivity, bezier, curve_loss_at, has_barrier
from bench.data import dataset_spec, load_dataset
from bench.data.registry import stack
from bench.io import atomic_torch_save, evaluated_indices, load_checkpoint, read_rows
from bench.methods import TrainContext, get_method
from bench.models import build_model
from bench.selection import verified_error
from bench.train import RunSpec, TrainSettings, load_trained, train

EPS, SKIP = 0.02, 5  # after one epoch of ramp-up, CROWN-IBP verifies about 60% of the points there, IBP none
TINY = TrainSettings(epochs=1, batch_size=128, lr=1e-2, momentum=0.0, weight_decay=0.0, lr_step_epochs=10,
                     lr_gamma=0.5, optimizer="adam", rampup_epochs=1)


def weights(model) -> dict:
    return {name: p.detach().clone() for name, p in model.named_parameters()}


def test_bezier_passes_through_the_end_points_and_weights_the_control_point_at_the_middle():
    g = torch.Generator().manual_seed(0)
    w0, c, w1 = ({"a": torch.randn(3, 4, generator=g), "b": torch.randn(5, generator=g)} for _ in range(3))
    for t in (0.0, torch.tensor(0.0)):
        assert all(torch.equal(bezier(w0, c, w1, t)[k], w0[k]) for k in w0)
    assert all(torch.equal(bezier(w0, c, w1, 1.0)[k], w1[k]) for k in w0)
    assert all(torch.allclose(bezier(w0, c, w1, 0.5)[k], 0.25 * w0[k] + 0.5 * c[k] + 0.25 * w1[k]) for k in w0)
    assert torch.allclose(bezier(w0, c, w1, 0.2)["b"], 0.64 * w0["b"] + 0.32 * c["b"] + 0.04 * w1["b"])


@pytest.mark.parametrize("name", ["ibp", "crown_ibp", "ours"])
def test_the_loss_along_the_curve_reaches_theta_c_through_the_bounds_and_nothing_else(name):
    spec, method = dataset_spec("digits"), get_method(name)
    models = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        models.append(build_model("small", spec))
    w0, w1 = weights(models[0]), weights(models[1])
    theta = {k: torch.nn.Parameter((w0[k] + w1[k]) / 2 + 0.01 * torch.randn_like(w0[k])) for k in w0}
    x, y = stack(load_dataset("digits", "test"), range(16))
    ctx = TrainContext(0, 1, torch.Generator().manual_seed(0), eps=EPS, ramp=1.0)
    shell = models[0]  # its own parameters require grad: had the bounds read them, they would get gradients
    loss = curve_loss_at(shell, method, bezier(w0, theta, w1, 0.3), x, y, ctx)
    loss.backward()
    assert all(p.grad is None for p in shell.parameters())
    assert all(theta[k].grad is not None and theta[k].grad.abs().sum() > 0 for k in theta)
    loaded = copy.deepcopy(shell)  # every weight the bounds read was swapped: same loss as phi(0.3) loaded
    loaded.load_state_dict({**loaded.state_dict(), **bezier(w0, theta, w1, 0.3)})
    direct = method.loss(loaded, x, y, replace(ctx, generator=torch.Generator().manual_seed(0)))
    assert loss.item() == pytest.approx(direct.item(), rel=1e-6)


def test_has_barrier_compares_with_the_higher_end_point():
    def curve(losses, ts=(0.0, 0.5, 1.0)):
        return pd.DataFrame({"t": ts, "robust_loss": losses, "verified_error": [50.0] * len(ts)})

    assert has_barrier(curve([1.0, 2.5, 1.2]))
    assert has_barrier(curve([1.2, 1.0, 1.3], ts=(1.0, 0.0, 0.5)))  # rows in any order: 1.3 at t = 0.5 > 1.2
    assert not has_barrier(curve([1.0, 1.5, 2.0]))  # above w0, below w1: no barrier
    assert not has_barrier(curve([2.0, 1.0, 2.0]))
    assert not has_barrier(curve([1.0, 2.5, 1.2]), column="verified_error")


def untrained(path, architecture: str):
    """A model file as ``train`` writes it, without the training."""
    run = RunSpec("digits", architecture, "ibp", seed=0, eps=EPS)
    atomic_torch_save({"state_dict": build_model(architecture, dataset_spec("digits")).state_dict(),
                       "meta": {"run": asdict(run), "settings": asdict(TINY)}}, path)
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    runs = {"w0": RunSpec("digits", "small", "crown_ibp", seed=0, eps=EPS),
            "w1": RunSpec("digits", "small", "ibp", seed=1, eps=EPS)}
    return {**{key: train(run, TINY, root / key, progress=False, device="cpu") for key, run in runs.items()},
            "cnn": untrained(root / "cnn.pt", "cnn_small"), "bn": untrained(root / "bn.pt", "small_bn")}


def direct_measures(model, method, indices):
    test_set = load_dataset("digits", "test")
    x, y = stack(test_set, indices)
    ctx = TrainContext(0, 1, torch.Generator().manual_seed(0), eps=EPS, ramp=1.0)
    with torch.no_grad():
        loss, wrong = float(method.loss(model, x, y, ctx)), int((model(x).argmax(1) != y).sum())
    return loss, verified_error(model, test_set, EPS, tuple(method.certifiers), SKIP), 100.0 * wrong / len(y)


def test_the_curve_starts_and_ends_at_the_trained_models_and_its_control_point_reloads(trained, tmp_path,
                                                                                       monkeypatch):
    ts = []

    def recording(w0, c, w1, t):
        ts.append(t)
        return bezier(w0, c, w1, t)

    monkeypatch.setattr(modeconn, "bezier", recording)
    frame = analyse_mode_connectivity(trained["w0"], trained["w1"], "crown_ibp", EPS, tmp_path / "curve.tsv",
                                      tmp_path / "curve.pt", points=3, batch_size=64, skip=SKIP, device="cpu",
                                      progress=False)
    assert list(frame.columns) == ["t", "robust_loss", "verified_error", "clean_error"]
    assert frame["t"].tolist() == [0.0, 0.5, 1.0] == ts[-3:]
    steps = -(-len(load_dataset("digits", "train")) // 64)  # one t ~ U[0, 1] per training batch
    assert len(ts) == steps + 3 and len(set(ts[:steps])) == steps and min(ts[:steps]) < 0.2 < 0.8 < max(ts[:steps])
    assert read_rows(tmp_path / "curve.tsv")[0].equals(frame)
    method, indices = get_method("crown_ibp"), evaluated_indices(len(load_dataset("digits", "test")), SKIP, None)
    for row, key in ((0, "w0"), (2, "w1")):
        loss, verified, clean = direct_measures(load_trained(trained[key])[0], method, indices)
        assert frame.loc[row, "robust_loss"] == pytest.approx(loss, rel=1e-5)
        assert (frame.loc[row, "verified_error"], frame.loc[row, "clean_error"]) == (verified, clean)

    saved = load_checkpoint(tmp_path / "curve.pt")
    assert saved["meta"]["curve_loss"] == "crown_ibp" and saved["meta"]["runs"]["w1"]["method"] == "ibp"
    model = load_trained(trained["w0"])[0]
    w0, w1 = weights(model), weights(load_trained(trained["w1"])[0])
    control = saved["control_point"]
    assert control.keys() == w0.keys()
    assert any(not torch.allclose(control[k], (w0[k] + w1[k]) / 2) for k in w0)  # trained away from the midpoint
    model.load_state_dict({**model.state_dict(), **bezier(w0, control, w1, 0.5)})
    assert frame.loc[1, "robust_loss"] == pytest.approx(direct_measures(model, method, indices)[0], rel=1e-5)


def test_same_seed_same_bytes(trained, tmp_path):
    for name in ("a", "b"):  # OURS draws its slopes from the run's generators
        analyse_mode_connectivity(trained["w0"], trained["w1"], "ours", EPS, tmp_path / name / "curve.tsv",
                                  tmp_path / name / "curve.pt", points=3, batch_size=256, max_points=10,
                                  device="cpu", progress=False)
    assert (tmp_path / "a/curve.tsv").read_bytes() == (tmp_path / "b/curve.tsv").read_bytes()
    a, b = (load_checkpoint(tmp_path / f"{name}/curve.pt")["control_point"] for name in ("a", "b"))
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_end_points_of_another_architecture_or_a_smoothing_loss_are_refused(trained, tmp_path):
    out = (tmp_path / "x.tsv", tmp_path / "x.pt")
    with pytest.raises(ValueError, match="one architecture"):
        analyse_mode_connectivity(trained["w0"], trained["cnn"], "ibp", EPS, *out, device="cpu", progress=False)
    state = load_checkpoint(trained["w1"])
    state["meta"]["settings"]["normalize"] = False
    atomic_torch_save(state, tmp_path / "unnormalised.pt")
    with pytest.raises(ValueError, match="normalize"):
        analyse_mode_connectivity(trained["w0"], tmp_path / "unnormalised.pt", "ibp", EPS, *out, device="cpu",
                                  progress=False)
    with pytest.raises(ValueError, match="BatchNorm"):
        analyse_mode_connectivity(trained["bn"], trained["bn"], "ibp", EPS, *out, device="cpu", progress=False)
    with pytest.raises(ValueError, match="smoothing"):
        analyse_mode_connectivity(trained["w0"], trained["w1"], "cohen", EPS, *out, device="cpu", progress=False)
    assert not out[0].exists() and not out[1].exists()


def test_figure_draws_one_column_per_pair_and_one_line_per_curve_loss(tmp_path, monkeypatch):
    from matplotlib.image import imread

    from bench.figures import landscape_figC3_C5_modeconn as fig
    from bench.figures import style

    rows = [{"w0": w0, "w1": w1, "curve_loss": loss, "t": t / 4, "robust_loss": 2 + t * (4 - t) / 8,
             "verified_error": 60 + t, "clean_error": 40 + t}
            for w0, w1 in [("crown_ibp", "ibp"), ("ibp", "ours"), ("crown_ibp", "ours")]
            for loss in (w0, w1) for t in range(5)]
    pd.DataFrame(rows).to_csv(tmp_path / "modeconn.tsv", sep="\t", index=False)
    figures, save = [], style.save
    monkeypatch.setattr(style, "save", lambda figure, out: (figures.append(figure), save(figure, out)))
    fig.draw(tmp_path / "modeconn.tsv", tmp_path / "fig.png", eps_label="0.05")
    assert imread(tmp_path / "fig.png").shape[0] > 100 and (tmp_path / "fig.pdf").stat().st_size > 1000
    axes = figures[0].axes
    assert len(axes) == 6 and [ax.get_title() for ax in axes[:3]] == [
        "$w_0$ = CROWN-IBP, $w_1$ = IBP", "$w_0$ = IBP, $w_1$ = OURS", "$w_0$ = CROWN-IBP, $w_1$ = OURS"]
    assert all(len([line for line in ax.get_lines() if not line.get_label().startswith("_")]) == 2 for ax in axes)
    legend = [text.get_text() for text in figures[0].legends[0].get_texts()]
    assert legend[:3] == [f"$\\theta_c$ trained with {name} loss" for name in ("CROWN-IBP", "IBP", "OURS")]
    assert "0.05" in figures[0].get_suptitle()
