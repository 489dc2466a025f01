"""Randomized networks (thesis ch. 2): RSE's noise layers, Adv-BNN's Bayesian layers, their KL and their seeds."""
import math

import pytest
import torch
from torch import nn

from bench.bounds import margin_bounds
from bench.data import dataset_spec
from bench.methods import TrainContext, get_method
from bench.models import build_model
from bench.models.randomized import (Bayesian, GaussianNoise, bayesian, is_randomized, kl_divergence, sampling,
                                     with_rse_noise)


def small():
    torch.manual_seed(0)
    return build_model("small", dataset_spec("digits"))


def test_rse_puts_sigma_init_before_the_first_convolution_and_sigma_inner_before_the_others():
    model = with_rse_noise(small(), 0.2, 0.1)
    sigmas = [m.sigma for m in model.modules() if isinstance(m, GaussianNoise)]
    assert sigmas == [0.2, 0.1]  # Small has two convolutions
    with pytest.raises(ValueError, match="has none"):
        with_rse_noise(nn.Sequential(nn.Flatten(), nn.Linear(64, 10)))


def test_a_sample_model_is_drawn_per_pass_and_the_same_generator_seed_draws_the_same_ones():
    model, x = bayesian(small(), 0.1).eval(), torch.rand(4, 1, 8, 8)
    with sampling(model, torch.Generator().manual_seed(1)):
        first, second = model(x), model(x)
    with sampling(model, torch.Generator().manual_seed(1)):
        again = model(x)
    assert not torch.equal(first, second) and torch.equal(first, again)
    assert all(m.generator is None for m in model.modules() if isinstance(m, Bayesian))  # restored after the block


def test_bayesian_layers_start_at_the_plain_weights_and_their_kl_is_the_closed_form():
    plain = small()
    model = bayesian(small(), 0.1)
    conv = next(m for m in model.modules() if isinstance(m, Bayesian))
    assert torch.equal(conv.layer.weight, next(m for m in plain.modules() if isinstance(m, nn.Conv2d)).weight)
    expected = 0.0
    for layer in (m for m in model.modules() if isinstance(m, Bayesian)):
        for mu, s in [(layer.layer.weight, layer.log_sigma_weight), (layer.layer.bias, layer.log_sigma_bias)]:
            q, prior = torch.distributions.Normal(mu, s.exp()), torch.distributions.Normal(0.0, 0.05)
            expected += torch.distributions.kl_divergence(q, prior).sum()
    assert torch.allclose(kl_divergence(model, 0.05), expected, rtol=1e-5)
    assert math.isclose(conv.log_sigma_weight.exp().mean().item(), 0.1, rel_tol=1e-6)
    with pytest.raises(ValueError, match="no Bayesian layers"):
        kl_divergence(small(), 0.05)


def test_weight_samples_have_the_posterior_std():
    layer = Bayesian(nn.Linear(1, 1, bias=False), 0.3)
    with sampling(layer, torch.Generator().manual_seed(0)):
        outputs = torch.stack([layer(torch.ones(1, 1)) for _ in range(4000)]).flatten()
    assert abs(outputs.std().item() - 0.3) < 0.02 and abs(outputs.mean().item() - layer.layer.weight.item()) < 0.02


@pytest.mark.parametrize("method", ["rse", "adv_bnn", "adv_bnn_graddiv", "rse_graddiv"])
def test_each_randomized_method_trains_its_noise_parameters_and_refuses_bound_propagation(method):
    chosen = get_method(method)
    model = chosen.transform_model(small())
    assert is_randomized(model) and chosen.family == "eot"
    x, y = torch.rand(8, 1, 8, 8), torch.arange(8)
    ctx = TrainContext(0, 1, torch.Generator().manual_seed(0), eps=0.1, ramp=1.0, train_size=1000)
    chosen.loss(model, x, y, ctx).backward()
    grads = [p.grad for name, p in model.named_parameters() if "log_sigma" in name or "weight" in name]
    assert grads and all(g is not None and torch.isfinite(g).all() and g.abs().sum() > 0 for g in grads)
    with pytest.raises((TypeError, ValueError, NotImplementedError), match="GaussianNoise|Bayesian"):
        margin_bounds(model.eval(), x, y, 0.1, "ibp")


def test_a_randomized_run_trains_to_the_same_weights_when_it_logs_its_concentration_and_reloads(tmp_path):
    from dataclasses import replace

    import pandas as pd

    from bench.train import RunSpec, TrainSettings, load_trained, train

    run = RunSpec("digits", "small", "adv_bnn", seed=0, eps=0.0)  # the ELBO alone (no PGD at eps 0): seconds
    settings = TrainSettings(epochs=1, batch_size=128, lr=1e-3, momentum=0.0, weight_decay=0.0, optimizer="adam",
                             lr_step_epochs=10, lr_gamma=1.0, augment="none", normalize=False,
                             options={"prior_sigma": 0.05})
    first = train(run, settings, tmp_path / "a", progress=False)
    logged = train(run, replace(settings, log_concentration=True), tmp_path / "b", progress=False)
    weights = [torch.load(path, weights_only=True)["state_dict"] for path in (first, logged)]
    assert weights[0].keys() == weights[1].keys()
    assert all(torch.equal(weights[0][name], weights[1][name]) for name in weights[0])
    assert not (tmp_path / "a/concentration.csv").exists()
    measures = pd.read_csv(tmp_path / "b/concentration.csv")
    assert list(measures.columns) == ["epoch", "kappa", "mean", "max", "smoothmax", "dpp"] and len(measures) == 1
    assert -1 <= measures["mean"][0] <= measures["max"][0] <= 1 and 0 < measures["kappa"][0] < 1
    model, loaded_run = load_trained(first)
    assert loaded_run == run and is_randomized(model)
    assert any(isinstance(m, Bayesian) for m in model.modules())


def test_a_bayesian_batchnorm_samples_its_affine_part_and_normalises_as_batchnorm():
    torch.manual_seed(0)
    norm = nn.BatchNorm2d(3)
    norm.running_mean.uniform_(-1, 1), norm.running_var.uniform_(0.5, 2)
    x = torch.randn(5, 3, 4, 4)
    layer = Bayesian(norm, 1e-8).eval()
    assert torch.allclose(layer(x), norm.eval()(x), atol=1e-6)   # eval: the running statistics
    wide = Bayesian(nn.BatchNorm2d(3), 0.5).train()
    with sampling(wide, torch.Generator().manual_seed(0)):
        first, second = wide(x), wide(x)
    assert not torch.allclose(first, second)  # a new affine draw per pass
    assert not torch.equal(wide.layer.running_mean, torch.zeros(3))  # training updates the running statistics
    model = bayesian(nn.Sequential(nn.Conv2d(3, 3, 3), nn.BatchNorm2d(3), nn.BatchNorm2d(3, affine=False)), 0.1)
    assert [type(m).__name__ for m in model] == ["Bayesian", "Bayesian", "BatchNorm2d"]


def test_adv_bnn_attacks_at_eps_train_from_the_start_unless_its_eps_ramps():
    model = get_method("adv_bnn").transform_model(small())
    x, y = torch.rand(8, 1, 8, 8), torch.arange(8)

    def loss(eps, ramp, **options):
        ctx = TrainContext(0, 1, torch.Generator().manual_seed(0), eps=eps, ramp=ramp, train_size=1000)
        return get_method("adv_bnn", options).loss(model, x, y, ctx).item()

    assert loss(0.3, 0.0, ramp_eps=True) == loss(0.0, 1.0)   # warm-up: no attack yet
    assert loss(0.3, 0.0) != loss(0.0, 1.0)                   # the thesis' schedule: eps_train at once
    assert loss(0.3, 0.5, ramp_eps=True) == loss(0.15, 1.0)   # halfway: half of eps_train
