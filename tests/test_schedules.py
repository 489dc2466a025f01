"""The eps / kappa / beta schedules and the mixed objective of thesis eq. C.1.1 (bench.methods.schedules), at
their boundaries and in the engine."""
from dataclasses import replace

import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from bench.bounds import margin_bounds, robust_logits
from bench.data import dataset_spec
from bench.methods import TrainContext, get_method
from bench.methods.schedules import interpolate, ramp_fraction
from bench.models import build_model
from bench.train import METRICS, RunSpec, TrainSettings, train

SPEC = dataset_spec("digits_rgb8")


def batch():
    generator = torch.Generator().manual_seed(0)
    return torch.rand(16, *SPEC.shape, generator=generator), torch.arange(16) % SPEC.num_classes


def context():
    return TrainContext(0, 1, torch.Generator().manual_seed(0), eps=8 / 255, ramp=1.0)


def test_at_kappa_zero_the_loss_is_the_robust_term_alone():
    torch.manual_seed(0)
    model, (x, y) = build_model("small", SPEC).train(), batch()
    margins = margin_bounds(model, x, y, 8 / 255, "ibp")
    expected = F.cross_entropy(robust_logits(margins), y)
    assert torch.equal(get_method("ibp").loss(model, x, y, context()), expected)


def test_at_kappa_zero_batchnorm_running_statistics_still_follow_the_clean_batch():
    torch.manual_seed(0)
    model, (x, y) = build_model("small_bn", SPEC).train(), batch()
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    before = [m.running_mean.clone() for m in norms]
    get_method("ibp").loss(model, x, y, context())
    assert norms and all(not torch.equal(m.running_mean, old) for m, old in zip(norms, before))


# Thesis app. C.1: `warmup` epochs at eps = 0, then eps_t grows linearly per iteration over `rampup` epochs.
@pytest.mark.parametrize("warmup, rampup, steps", [(1, 4, 10), (10, 120, 7), (0, 3, 5)])
def test_ramp_fraction_at_the_schedule_boundaries(warmup, rampup, steps):
    start = warmup * steps
    assert all(ramp_fraction(step, steps, warmup, rampup) == 0.0 for step in range(start + 1))  # warm-up, ramp start
    assert ramp_fraction(start + 1, steps, warmup, rampup) == pytest.approx(1 / (rampup * steps))
    assert ramp_fraction(start + steps, steps, warmup, rampup) == pytest.approx(1 / rampup)  # eps / r after epoch 1
    assert ramp_fraction(start + rampup * steps - 1, steps, warmup, rampup) < 1.0
    assert ramp_fraction(start + rampup * steps, steps, warmup, rampup) == 1.0  # eps at the ramp's end
    assert ramp_fraction(start + (rampup + 5) * steps, steps, warmup, rampup) == 1.0


def test_without_a_ramp_eps_jumps_to_its_target_after_the_warm_up():
    assert [ramp_fraction(step, 4, 2, 0) for step in (0, 7, 8, 100)] == [0.0, 0.0, 1.0, 1.0]


def test_kappa_and_beta_move_linearly_over_the_same_ramp():
    assert [interpolate((1.0, 0.0), r) for r in (0.0, 0.25, 1.0)] == [1.0, 0.75, 0.0]
    assert [interpolate((0.0, 0.0), r) for r in (0.0, 1.0)] == [0.0, 0.0]


def test_mid_ramp_loss_mixes_clean_and_robust_terms_with_kappa_t_and_beta_t():
    """Eq. C.1.1 half-way through the ramp of CROWN-IBP 1->0 with kappa 1->0: kappa_t = beta_t = 1/2, eps_t =
    eps / 2."""
    torch.manual_seed(0)
    model, (x, y) = build_model("small", SPEC).eval(), batch()
    ctx = TrainContext(0, 1, torch.Generator().manual_seed(0), eps=8 / 255, ramp=0.5)
    crown, ibp = margin_bounds(model, x, y, 4 / 255, "crown_ibp", with_ibp=True)
    expected = 0.5 * F.cross_entropy(model(x), y) + 0.5 * F.cross_entropy(robust_logits(0.5 * ibp + 0.5 * crown), y)
    assert torch.allclose(get_method("crown_ibp_1to0").loss(model, x, y, ctx), expected, atol=1e-6)
    warm = TrainContext(0, 1, torch.Generator().manual_seed(0), eps=8 / 255, ramp=0.0)
    assert torch.equal(get_method("crown_ibp_1to0").loss(model, x, y, warm), F.cross_entropy(model(x), y))


def test_the_engine_trains_at_eps_above_zero_in_the_first_ramp_epoch(tmp_path):
    """metrics.csv's eps (at each epoch's last step) is 0 in the warm-up, > 0 from the first ramp-up epoch (the
    epoch thesis table 3.3 reads) and eps_train once the ramp is over."""
    settings = TrainSettings(epochs=5, batch_size=512, lr=1e-3, momentum=0.0, weight_decay=0.0, lr_step_epochs=10,
                             lr_gamma=0.5, optimizer="adam", warmup_epochs=1, rampup_epochs=2)
    train(RunSpec("digits", "small", "ibp", seed=0, eps=0.1), settings, tmp_path, progress=False)
    eps = pd.read_csv(tmp_path / METRICS)["eps"].tolist()  # 1397 images: 3 steps per epoch
    assert eps == pytest.approx([0.0, 0.1 * 2 / 6, 0.1 * 5 / 6, 0.1, 0.1])


def test_logging_the_target_loss_never_changes_training(tmp_path):
    """log_target_loss adds the method's loss at eps_train per epoch (table 3.3, fig. 3.8 top) without moving a
    weight or a BatchNorm statistic: its bounds draw from their own stream and buffers are restored."""
    settings = TrainSettings(epochs=3, batch_size=512, lr=1e-3, momentum=0.0, weight_decay=0.0, lr_step_epochs=10,
                             lr_gamma=0.5, optimizer="adam", warmup_epochs=1, rampup_epochs=20)
    run = RunSpec("digits", "small_bn", "crown_ibp_pq_0_0.5", seed=0, eps=0.1)  # random slopes, BatchNorm
    plain = train(run, settings, tmp_path / "plain", progress=False)
    traced = train(run, replace(settings, log_target_loss=True), tmp_path / "traced", progress=False)
    weights = [torch.load(path, weights_only=True)["state_dict"] for path in (plain, traced)]
    assert weights[0].keys() == weights[1].keys()
    assert all(torch.equal(weights[0][key], weights[1][key]) for key in weights[0])
    history = pd.read_csv(tmp_path / "traced" / METRICS)
    assert "target_loss" not in pd.read_csv(tmp_path / "plain" / METRICS)
    # first ramp epoch: eps_t <= 0.1 * 3/60, kappa ~ 1, so the objective is nearly clean; at eps_train it is not
    ramp = history[history["epoch"] == 2].iloc[0]
    assert ramp["target_loss"] > ramp["loss"] + 0.1


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_at_beta_one_the_robust_term_is_the_methods_own_bound_in_the_runs_norm(norm):
    """CROWN-IBP (beta 1 -> 1, kappa 0) trains on CROWN-IBP margins alone, in the ball of the run's norm; IBP on
    IBP margins."""
    torch.manual_seed(0)
    model, (x, y) = build_model("small", SPEC).eval(), batch()
    ctx = TrainContext(0, 1, torch.Generator().manual_seed(0), eps=0.5, ramp=1.0, norm=norm)
    for method, bound in (("crown_ibp_kappa0", "crown_ibp"), ("ibp_kappa0", "ibp")):
        expected = F.cross_entropy(robust_logits(margin_bounds(model, x, y, 0.5, bound, norm)), y)
        assert torch.allclose(get_method(method).loss(model, x, y, ctx), expected, atol=1e-6), (method, norm)
    other = "l2" if norm == "linf" else "linf"
    assert not torch.allclose(get_method("crown_ibp_kappa0").loss(model, x, y, ctx),
                              F.cross_entropy(robust_logits(margin_bounds(model, x, y, 0.5, "crown_ibp", other)), y))
    assert not torch.allclose(get_method("crown_ibp_kappa0").loss(model, x, y, ctx),
                              get_method("ibp_kappa0").loss(model, x, y, ctx))


def test_random_slopes_in_the_training_loss_come_from_the_contexts_generator():
    torch.manual_seed(0)
    model, (x, y) = build_model("small", SPEC).eval(), batch()
    method = get_method("crown_ibp_pq_0_0.5")
    losses = []
    for global_seed in (1, 2):
        torch.manual_seed(global_seed)  # the global generator must not matter
        ctx = TrainContext(0, 1, torch.Generator().manual_seed(5), eps=0.3, ramp=1.0)
        losses.append(method.loss(model, x, y, ctx))
    assert torch.equal(losses[0], losses[1])


def test_a_certified_method_without_eps_says_what_is_missing():
    model, (x, y) = build_model("small", SPEC).eval(), batch()
    with pytest.raises(ValueError, match="method 'crown_ibp' needs a training radius eps"):
        get_method("crown_ibp").loss(model, x, y, TrainContext(0, 1, torch.Generator()))
