"""CAP's intermediate bounds from random projections (bench.bounds.projection; Wong et al. 2018): the estimates
approach the exact dual's as the number of projections grows, and CAP trains on them when asked."""
import pytest
import torch

from bench.bounds import BoundSpec, margin_bounds
from bench.bounds.ibp import interval_bounds
from bench.bounds.linear import backward_pre_bounds
from bench.bounds.network import Ball, BoundedNet
from bench.bounds.projection import projected_pre_bounds
from bench.methods import TrainContext, get_method
from test_bcp import small_net


def largest_error(net, ball, exact, projections):
    estimate = projected_pre_bounds(net, ball, projections, torch.Generator().manual_seed(0))
    assert estimate.keys() == exact.keys()
    return max(float((estimate[i][side] - exact[i][side]).abs().max().detach()) for i in exact for side in (0, 1))


@pytest.mark.parametrize("norm, eps", [("linf", 0.05), ("l2", 0.3)])
def test_projected_bounds_approach_the_exact_dual_as_projections_grow(norm, eps):
    model = small_net(7)
    x = 0.1 + 0.8 * torch.rand(4, 1, 6, 6, generator=torch.Generator().manual_seed(1))  # inside the pixel domain
    net, ball = BoundedNet(model), Ball(x, eps, norm)
    interval_bounds(net, ball)
    exact = backward_pre_bounds(net, ball, "chord")
    scale = max(float((upper - lower).max().detach()) for lower, upper in exact.values())
    errors = [largest_error(net, ball, exact, k) for k in (10, 100, 10_000)]
    assert errors[0] > errors[1] > errors[2] and errors[2] < 0.02 * scale
    y = model(x).argmax(1)
    projected = margin_bounds(model, x, y, eps, BoundSpec("projection", "chord", projections=10_000), norm,
                              generator=torch.Generator().manual_seed(0))
    assert torch.allclose(projected, margin_bounds(model, x, y, eps, "cap", norm), atol=0.02 * scale)


def test_cap_trains_on_projected_bounds_when_asked_and_on_the_exact_dual_by_default():
    model = small_net(3)
    x, y = torch.rand(5, 1, 6, 6), torch.tensor([0, 1, 2, 3, 4])
    ctx = TrainContext(epoch=0, epochs=1, generator=torch.Generator().manual_seed(0), eps=0.05, ramp=1.0)
    assert get_method("cap").projections == 0
    exact = get_method("cap").loss(model, x, y, ctx)
    projected = get_method("cap", {"projections": 50}).loss(model, x, y, ctx)
    assert projected.item() != exact.item() and projected.item() == pytest.approx(exact.item(), rel=0.2)
    projected.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())
