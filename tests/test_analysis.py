"""Measures of bench.analysis on tiny nets with known answers."""
import itertools

import torch
from torch import nn

from bench.analysis import RELAXATIONS
from bench.analysis.tightness import tightness_and_loss
from bench.bounds import BOUNDS, margin_bounds


def two_neuron_net(bias: float) -> nn.Sequential:
    net = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 3))
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[1.0, -0.5], [0.3, 0.8]]))
        net[0].bias.fill_(bias)
        net[2].weight.copy_(torch.tensor([[1.0, -1.0], [-0.4, 0.9], [0.2, 0.1]]))
        net[2].bias.copy_(torch.tensor([0.1, -0.2, 0.0]))
    return net


def brute_force_tightness(net, x, y, eps, steps=41) -> float:
    """sum_m max over the ball of (z_m - z_y), on a grid that contains every corner."""
    grid = torch.linspace(-eps, eps, steps)
    points = torch.stack([x[0] + torch.tensor([a, b]) for a, b in itertools.product(grid, grid)])
    with torch.no_grad():
        logits = net(points)
    return float((logits - logits[:, y:y + 1]).amax(dim=0).sum())


def test_relaxation_names_are_bounds():
    assert set(RELAXATIONS) <= set(BOUNDS)


def test_tightness_is_the_exact_worst_case_margin_sum_when_no_relu_is_unstable():
    net, x, y, eps = two_neuron_net(bias=2.0), torch.tensor([[0.4, 0.6]]), torch.tensor([1]), 0.1  # both active
    for relaxation in RELAXATIONS:
        with torch.no_grad():  # as the analysis runs; OURS re-enables grad for its slope step
            margins = margin_bounds(net, x, y, eps, relaxation, generator=torch.Generator().manual_seed(0))
        tightness, loss = tightness_and_loss(margins, y)
        assert abs(float(tightness) - brute_force_tightness(net, x, y[0], eps)) < 1e-5, relaxation
        assert float(loss) > 0


def test_tightness_bounds_the_worst_case_from_above_when_relus_are_unstable():
    net, x, y, eps = two_neuron_net(bias=-0.1), torch.tensor([[0.4, 0.6]]), torch.tensor([1]), 0.3
    exact = brute_force_tightness(net, x, y[0], eps)
    for relaxation in RELAXATIONS:
        with torch.no_grad():
            margins = margin_bounds(net, x, y, eps, relaxation, generator=torch.Generator().manual_seed(0))
        assert float(tightness_and_loss(margins, y)[0]) >= exact - 1e-6, relaxation
