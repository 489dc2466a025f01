"""CROWN-IBP + lambda * ReLU stability loss (thesis app. C.13, fig. C.11; Xiao et al. 2019): the regulariser on known bounds,
and the method adds exactly lambda times it to CROWN-IBP's loss."""
import math

import pytest
import torch

from bench.bounds import relu_input_bounds
from bench.methods import METHODS, TrainContext
from bench.methods.relu_stability import relu_stability_loss
from bench.models import build_model
from bench.data import dataset_spec


def test_relu_stability_loss_of_hand_made_bounds():
    lower = torch.tensor([[-1.0, 0.5], [0.0, -2.0]])
    upper = torch.tensor([[1.0, 2.0], [3.0, -1.0]])  # u * l: -1 (unstable), 1, 0, 2 (dead)
    expected = -(math.tanh(0.0) + math.tanh(2.0) + math.tanh(1.0) + math.tanh(3.0)) / 4
    assert float(relu_stability_loss([(lower[:, :1], upper[:, :1]), (lower[:, 1:], upper[:, 1:])])) == \
        pytest.approx(expected)


def test_the_method_adds_lambda_times_the_regulariser_to_crown_ibp_and_nothing_at_eps_zero():
    torch.manual_seed(0)
    model = build_model("small", dataset_spec("digits"))
    x, y = torch.rand(8, *dataset_spec("digits").shape), torch.randint(0, 10, (8,))
    ctx = TrainContext(0, 1, torch.Generator().manual_seed(0), eps=0.1, ramp=0.5)
    def loss(name, context):
        return float(METHODS[name].loss(model, x, y, context).detach())

    crown = loss("crown_ibp", ctx)
    regulariser = float(relu_stability_loss(relu_input_bounds(model, x, 0.05, "ibp")).detach())
    for lam in (0.01, 10):
        assert loss(f"crown_ibp_rs_{lam:g}", ctx) == pytest.approx(crown + lam * regulariser)
    warmup = TrainContext(0, 1, torch.Generator().manual_seed(0), eps=0.1, ramp=0.0)
    assert loss("crown_ibp_rs_10", warmup) == loss("crown_ibp", warmup)
