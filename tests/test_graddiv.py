"""GradDiv's concentration measures (thesis eqs. 2.2.10, 2.2.16, 2.2.17, 2.2.19, app. A.2) and regularisers."""
import numpy as np
import pytest
import torch
from scipy.stats import vonmises_fisher
from torch import nn

from bench.methods import TrainContext, get_method
from bench.methods.graddiv import (REGULARIZERS, kappa_hat, mean_resultant_length, r_dpp, r_mean,
                                   sample_gradients)
from bench.models.randomized import sampling


def test_the_mean_resultant_length_is_one_for_identical_gradients_and_zero_for_antipodal_pairs():
    g = torch.randn(5, 1, 30)
    assert torch.allclose(mean_resultant_length(g.expand(5, 4, 30) * torch.tensor([1.0, 2, 3, 4]).view(1, 4, 1)),
                          torch.ones(5))
    assert torch.allclose(mean_resultant_length(torch.cat([g, -3 * g], dim=1)), torch.zeros(5), atol=1e-6)


@pytest.mark.parametrize("kappa", [5.0, 20.0, 100.0])
def test_kappa_hat_of_von_mises_fisher_samples_is_close_to_their_concentration(kappa):
    p, n = 10, 4000
    mu = np.eye(p)[0]
    samples = vonmises_fisher(mu, kappa).rvs(n, random_state=np.random.default_rng(0))
    estimate = kappa_hat(torch.tensor(samples, dtype=torch.float64).unsqueeze(0)).item()
    assert abs(estimate - kappa) / kappa < 0.05, estimate


def test_mean_cosine_and_dpp_reach_their_extremes_on_coinciding_and_orthogonal_gradients():
    same, orthogonal = torch.ones(2, 3, 6), torch.eye(6)[:3].expand(2, 3, 6)
    assert torch.allclose(r_mean(same), torch.ones(2)) and torch.allclose(r_mean(orthogonal), torch.zeros(2))
    assert torch.allclose(r_dpp(orthogonal), torch.zeros(2), atol=1e-4)  # det(I) = 1: the optimum
    assert (r_dpp(same) > 10).all()  # a collapsed parallelotope; finite thanks to the jitter
    for name, regularizer in REGULARIZERS.items():  # more concentrated, more penalised
        assert (regularizer(same) > regularizer(orthogonal)).all(), name


def tiny(randomized: bool):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(144, 10))
    return get_method("rse").transform_model(net) if randomized else net


@pytest.mark.parametrize("name", sorted(REGULARIZERS))
def test_each_regulariser_trains_the_parameters_of_a_randomized_net(name):
    model, x, y = tiny(randomized=True), torch.rand(6, 1, 8, 8), torch.arange(6)
    grads = sample_gradients(model, x, y, 3, create_graph=True)
    assert grads.shape == (6, 3, 64) and not torch.equal(grads[:, 0], grads[:, 1])
    REGULARIZERS[name](grads).mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0
               for p in model.parameters())


@pytest.mark.parametrize("name", ["mean", "max", "smoothmax"])
def test_the_cosine_regularisers_have_no_gradient_when_all_sample_gradients_coincide(name):
    """A deterministic net gives n equal gradients: every cosine is at its maximum 1, so its derivative vanishes."""
    model, x, y = tiny(randomized=False), torch.rand(6, 1, 8, 8), torch.arange(6)
    grads = sample_gradients(model, x, y, 3, create_graph=True)
    assert torch.allclose(r_mean(grads), torch.ones(6))
    REGULARIZERS[name](grads).mean().backward()
    assert max(p.grad.abs().max().item() for p in model.parameters() if p.grad is not None) < 1e-3


def test_graddiv_adds_lambda_times_the_ramp_to_the_base_loss():
    model, x, y = tiny(randomized=True), torch.rand(6, 1, 8, 8), torch.arange(6)
    method = get_method("rse_graddiv", {"regularizer": "mean", "weight": 2.0})
    losses = {}
    for ramp in (0.0, 0.5):
        ctx = TrainContext(0, 1, torch.Generator().manual_seed(0), ramp=ramp)
        losses[ramp] = method.loss(model, x, y, ctx).item()
    generator = torch.Generator().manual_seed(0)  # the same draws, by hand: the base pass, then 3 gradient samples
    with sampling(model, generator):
        base = nn.functional.cross_entropy(model(x), y)
        expected = base + 2.0 * 0.5 * r_mean(sample_gradients(model, x, y, 3)).mean()
    assert losses[0.0] == pytest.approx(base.item()) and losses[0.5] == pytest.approx(expected.item(), rel=1e-6)
    with pytest.raises(ValueError, match="no regulariser 'volume'"):
        get_method("rse_graddiv", {"regularizer": "volume"})
