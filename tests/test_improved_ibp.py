"""Improved IBP (Shi et al. 2021): IBP initialization, warm-up regularizers, and the engine hooks they use
(``initialize``, gradient clipping)."""
import math
from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from bench.bounds import Ball, BoundedNet, interval_bounds, margin_bounds, robust_logits
from bench.bounds.ibp import ibp_margins
from bench.bounds.network import margin_spec
from bench.data import dataset_spec, load_dataset
from bench.methods import METHODS, TrainContext
from bench.methods.improved_ibp import (MIN_EPS, ibp_initialize, relu_balance_loss, tightness_loss,
                                        warmup_regularizer)
from bench.models import build_model
from bench.train import RunSpec, TrainSettings, load_trained, train


def deep_net(width: int = 64, depth: int = 6) -> nn.Sequential:
    layers, inputs = [nn.Flatten()], 64
    for _ in range(depth):
        layers += [nn.Linear(inputs, width), nn.ReLU()]
        inputs = width
    return nn.Sequential(*layers, nn.Linear(inputs, 10))


def output_width(model, x, eps) -> float:
    with torch.no_grad():
        _, (lower, upper) = interval_bounds(BoundedNet(model), Ball(x, eps))
    return float((upper - lower).mean())


def test_ibp_initialization_draws_the_stated_variance_and_spares_the_output_layer():
    torch.manual_seed(0)
    model = build_model("medium", dataset_spec("digits_rgb8"))
    last = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    last_before = last.weight.clone()
    ibp_initialize(model)
    affine = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    for layer in affine[:-1]:
        expected = math.sqrt(2 * math.pi) / layer.weight[0].numel()
        assert layer.weight.std().item() == pytest.approx(expected, rel=0.1)
    assert torch.equal(last.weight, last_before)


def test_ibp_initialization_keeps_interval_bounds_from_exploding_with_depth():
    """The point of the initialization: with default (Kaiming-uniform) init the interval width grows
    layer by layer; with IBP init it stays of the input's order."""
    x = torch.rand(32, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    torch.manual_seed(0)
    default = deep_net()
    torch.manual_seed(0)
    shi = deep_net()
    ibp_initialize(shi)
    assert output_width(shi, x, 0.01) < 0.2 * output_width(default, x, 0.01)


def test_tightness_loss_is_zero_for_tight_bounds_and_grows_with_loose_ones():
    torch.manual_seed(0)
    model = deep_net(depth=3)
    ibp_initialize(model)
    x, eps = torch.rand(16, 1, 8, 8), 0.01
    with torch.no_grad():
        pre, _ = interval_bounds(BoundedNet(model), Ball(x, eps))
        assert float(tightness_loss(torch.tensor(eps), pre, tau=0.01)) == 0.0
        for layer in model.modules():
            if isinstance(layer, nn.Linear):
                layer.weight.mul_(20)
        pre, _ = interval_bounds(BoundedNet(model), Ball(x, eps))
        assert float(tightness_loss(torch.tensor(eps), pre, tau=0.01)) > 0.5


def test_relu_balance_loss_is_zero_when_balanced_and_positive_when_most_neurons_are_dead():
    width = 0.01
    balanced = torch.cat([torch.full((50,), 1.0), torch.full((50,), -1.0)]).view(1, -1)
    skewed = torch.cat([torch.full((5,), 0.1), torch.full((95,), -1.0)]).view(1, -1)
    for centre, expected_zero in ((balanced, True), (skewed, False)):
        loss = float(relu_balance_loss({0: (centre - width, centre + width)}, tau=0.5))
        assert (loss == 0.0) == expected_zero
    all_active = torch.linspace(0.5, 1.5, 10).view(1, -1).requires_grad_()  # the worst imbalance: 1 + 1
    loss = relu_balance_loss({0: (all_active - width, all_active + width)}, tau=0.5)
    loss.backward()
    assert float(loss.detach()) == 2.0 and torch.isfinite(all_active.grad).all()
    unstable = torch.zeros(1, 10)  # every ReLU unstable: no ratio at all, the layer adds 0
    assert float(relu_balance_loss({0: (unstable - width, unstable + width)}, tau=0.5)) == 0.0
    # ... but still counts in the mean over layers, as in Shi et al.'s code (their loss_relu /= cnt)
    two_layers = {0: (unstable - width, unstable + width), 1: (all_active - width, all_active + width)}
    assert float(relu_balance_loss(two_layers, tau=0.5).detach()) == pytest.approx(1.0)


def test_regularizer_weight_decays_over_the_ramp_and_vanishes_after_it():
    torch.manual_seed(0)
    model = build_model("small_bn", dataset_spec("digits")).train()
    x, y = torch.rand(32, 1, 8, 8), torch.randint(0, 10, (32,))
    method, gen = METHODS["improved_ibp"], torch.Generator().manual_seed(0)
    ctx = TrainContext(0, 1, gen, eps=0.1, ramp=1.0)
    net = BoundedNet(model)
    net.record(x)
    margins, _ = ibp_margins(net, Ball(x, 0.1), margin_spec(y, 10))
    assert torch.allclose(method.loss(model, x, y, ctx), F.cross_entropy(robust_logits(margins), y))
    mid = replace(ctx, ramp=0.5)
    plain = F.cross_entropy(robust_logits(margin_bounds(model, x, y, 0.05, "ibp")), y)
    assert method.loss(model, x, y, mid) >= plain
    # warm-up (eps_t = 0): IBP at Shi et al.'s min_eps 1e-6 plus the regularizers at full lambda
    warmup = method.loss(model, x, y, replace(ctx, ramp=0.0))
    net = BoundedNet(model)
    net.record(x)
    ball = Ball(x, MIN_EPS)
    margins, pre = ibp_margins(net, ball, margin_spec(y, 10))
    regularizer = warmup_regularizer(net, ball, pre, method.tau)
    assert float(regularizer.detach()) > 0.1
    assert torch.allclose(warmup, F.cross_entropy(robust_logits(margins), y) + method.reg_weight * regularizer)
    assert F.cross_entropy(robust_logits(margins), y).item() == pytest.approx(F.cross_entropy(model(x), y).item(),
                                                                             rel=0.01)


def test_improved_ibp_trains_and_initializes_through_the_engine(tmp_path):
    settings = TrainSettings(epochs=2, batch_size=128, lr=1e-3, momentum=0.0, weight_decay=0.0, lr_step_epochs=10,
                             lr_gamma=0.5, optimizer="adam", warmup_epochs=0, rampup_epochs=2, grad_clip=10.0)
    run = RunSpec("digits", "small_bn", "improved_ibp", seed=0, eps=0.05)
    model, _ = load_trained(train(run, replace(settings, epochs=0), tmp_path / "init", progress=False))
    first = [m for m in model.modules() if isinstance(m, nn.Conv2d)][0]
    assert first.weight.std().item() == pytest.approx(math.sqrt(2 * math.pi) / first.weight[0].numel(), rel=0.15)
    trained = train(run, settings, tmp_path / "run", progress=False)
    assert trained.read_bytes() == train(run, settings, tmp_path / "again", progress=False).read_bytes()


def test_gradient_clipping_limits_each_update(tmp_path):
    settings = TrainSettings(epochs=1, batch_size=64, lr=0.5, momentum=0.0, weight_decay=0.0, lr_step_epochs=10,
                             lr_gamma=0.5)
    run = RunSpec("digits", "small", "standard", seed=0)

    start, _ = load_trained(train(run, replace(settings, epochs=0), tmp_path / "start", progress=False))

    def moved(grad_clip):
        end, _ = load_trained(train(run, replace(settings, grad_clip=grad_clip), tmp_path / f"{grad_clip}",
                                    progress=False))
        return sum((a - b).norm() ** 2 for a, b in zip(start.parameters(), end.parameters())) ** 0.5

    steps = math.ceil(len(load_dataset("digits", "train")) / settings.batch_size)
    clipped = moved(1e-3)
    assert clipped <= settings.lr * 1e-3 * steps + 1e-6  # each SGD step moves at most lr * clip norm
    assert moved(None) > 10 * clipped
