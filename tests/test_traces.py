"""Training traces (bench.traces): known answers on tiny cases, and tracing never changes what is trained."""
from dataclasses import replace

import pandas as pd
import pytest
import torch
from torch import nn

from bench.bounds import relu_input_bounds
from bench.io import load_checkpoint
from bench.traces import SLOPE_BINS, SLOPES, STEP_LENGTHS, TRACE, gradient_distance, loss_range, relu_status
from bench.train import CHECKPOINT, RunSpec, TrainSettings, train


def test_step_lengths_are_ten_points_on_a_log_scale_up_to_five():  # thesis eq. C.1.2
    assert len(STEP_LENGTHS) == 10 and STEP_LENGTHS[-1] == pytest.approx(5.0)
    ratios = [b / a for a, b in zip(STEP_LENGTHS, STEP_LENGTHS[1:])]
    assert ratios == pytest.approx([ratios[0]] * 9) and ratios[0] > 1


def test_a_linear_loss_has_a_known_loss_range_and_no_gradient_change():
    theta, c = torch.nn.Parameter(torch.tensor([1.0, -2.0, 0.5])), torch.tensor([0.3, 0.1, -0.4])
    loss_fn = lambda: (c * theta).sum()  # noqa: E731
    grad = [c.clone()]
    low, high = loss_range(loss_fn, [theta], grad, scale=0.1)
    start, drop = float((c * theta.detach()).sum()), float(c @ c) * 0.1
    assert low == pytest.approx(start - STEP_LENGTHS[-1] * drop) and high == pytest.approx(start - STEP_LENGTHS[0] * drop)
    assert theta.tolist() == [1.0, -2.0, 0.5]  # restored
    theta2 = theta.detach() - 0.1 * c  # one gradient step: a linear loss has the same gradient there
    distance, cosine = gradient_distance(grad, [torch.autograd.functional.jacobian(lambda t: (c * t).sum(), theta2)])
    assert distance == 0 and cosine == pytest.approx(0, abs=1e-6)


def test_a_constant_loss_varies_by_nothing_along_any_direction():
    theta = torch.nn.Parameter(torch.ones(2))
    assert loss_range(lambda: theta.sum() * 0 + 2.0, [theta], [torch.ones(2)], scale=1.0) == (2.0, 2.0)


def test_gradient_distance_of_opposite_and_orthogonal_gradients():
    g = [torch.tensor([3.0, 0.0]), torch.tensor([[0.0, 4.0]])]
    assert gradient_distance(g, [-t for t in g]) == pytest.approx((10.0, 2.0))
    assert gradient_distance([torch.tensor([1.0, 0.0])], [torch.tensor([0.0, 2.0])]) == pytest.approx((5 ** 0.5, 1.0))


def test_relu_status_counts_and_slope_histogram_on_hand_made_bounds():
    lower = torch.tensor([[0.5, -1.0, -0.2, -3.0, 0.0], [1.0, -1.0, -0.9, -0.1, -2.0]])
    upper = torch.tensor([[1.0, -0.5, 0.8, 1.0, 0.0], [2.0, 3.0, 0.1, 0.1, -1.0]])
    counts, histogram = relu_status([(lower[:, :2], upper[:, :2]), (lower[:, 2:], upper[:, 2:])])
    # row 0: active 0.5; dead -0.5, 0 (u <= 0); unstable slopes 0.8, 0.25. row 1: active 1; dead u=-1;
    # unstable slopes 0.75, 0.1, 0.5
    assert counts == {"relu_active": 1.0, "relu_unstable": 2.5, "relu_dead": 1.5}
    expected = [0] * SLOPE_BINS
    for slope in (0.8, 0.25, 0.75, 0.1, 0.5):
        expected[min(int(slope * SLOPE_BINS), SLOPE_BINS - 1)] += 1
    assert histogram == expected and sum(histogram) == 5


def test_relu_input_bounds_are_the_intervals_of_a_hand_built_net():
    net = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 2))
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[1.0, -1.0], [2.0, 0.0]]))
        net[0].bias.copy_(torch.tensor([0.0, -1.0]))
    (lower, upper), = relu_input_bounds(net, torch.tensor([[0.5, 0.5]]), 0.1, "ibp")
    assert lower[0].tolist() == pytest.approx([-0.2, -0.2]) and upper[0].tolist() == pytest.approx([0.2, 0.2])
    (lo_cap, up_cap), = relu_input_bounds(net, torch.tensor([[0.5, 0.5]]), 0.1, "cap")  # first layer: exact too
    assert torch.allclose(lo_cap, lower) and torch.allclose(up_cap, upper)


RUN = RunSpec("digits", "small", "crown_ibp", seed=0, eps=0.1)
SETTINGS = TrainSettings(epochs=3, batch_size=256, lr=1e-3, momentum=0.0, weight_decay=0.0, lr_step_epochs=10,
                         lr_gamma=0.5, optimizer="adam", warmup_epochs=1, rampup_epochs=1)


def test_tracing_never_changes_the_trained_bytes_and_writes_one_row_per_traced_step(tmp_path):
    plain = train(RUN, SETTINGS, tmp_path / "plain", progress=False)
    traced = train(RUN, replace(SETTINGS, trace_every=2), tmp_path / "traced", progress=False)
    assert load_checkpoint(plain)["state_dict"].keys() == load_checkpoint(traced)["state_dict"].keys()
    for name, value in load_checkpoint(plain)["state_dict"].items():
        assert torch.equal(value, load_checkpoint(traced)["state_dict"][name]), name
    assert not (tmp_path / "plain" / TRACE).exists()
    trace = pd.read_csv(tmp_path / "traced" / TRACE)
    assert list(trace["step"]) == list(range(0, int(trace["step"].max()) + 1, 2)) and len(trace) >= 6
    assert (trace["loss_min"] <= trace["loss"]).all() and (trace["loss"] <= trace["loss_max"]).all()
    warmup = trace[trace["ramp"] == 0]
    assert len(warmup) and (warmup["relu_unstable"] == 0).all() and (warmup["eps"] == 0).all()
    assert (trace[trace["ramp"] > 0]["relu_unstable"] > 0).any()
    neurons = trace[["relu_active", "relu_unstable", "relu_dead"]].sum(axis=1)
    assert neurons.nunique() == 1  # every ReLU is in exactly one state
    slopes = pd.read_csv(tmp_path / "traced" / SLOPES)
    assert len(slopes) == SLOPE_BINS * len(trace) and set(slopes["step"]) == set(trace["step"])


def test_a_resumed_traced_run_ends_with_the_same_trace(tmp_path):
    settings = replace(SETTINGS, trace_every=3)
    train(RUN, settings, tmp_path / "full", progress=False)
    killed = tmp_path / "killed"
    train(RUN, replace(settings, epochs=2), killed, progress=False)  # stands in for a run killed after epoch 2
    state = load_checkpoint(killed / CHECKPOINT)
    state["identity"]["settings"]["epochs"] = settings.epochs
    torch.save(state, killed / CHECKPOINT)
    train(RUN, settings, killed, progress=False)
    for name in (TRACE, SLOPES):
        assert (killed / name).read_bytes() == (tmp_path / "full" / name).read_bytes()


def test_the_curves_figure_marks_the_ramp_end_where_eps_reaches_eps_train():
    from bench.figures.landscape_fig3_6_curves import ramp_end

    epochs = [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0]  # warm-up 1 epoch, ramp over the next 1.6 epochs
    ramp = [min(max((e - 1.0) / 1.6, 0.0), 1.0) for e in epochs]
    assert ramp_end(pd.DataFrame({"epoch": epochs, "ramp": ramp})) == pytest.approx(2.6)
    assert ramp_end(pd.DataFrame({"epoch": [0.0, 1.0], "ramp": [0.0, 0.0]})) is None
