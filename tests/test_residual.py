"""Residual blocks (bench.models.residual; thesis app. B.2.4): the WRN's shape, BCP / LMT / IBP bounds through
residual blocks checked on sampled points of the l2 ball, and the CROWN family refusing them by name."""
import pytest
import torch
from torch import nn

from bench.bounds import UnsupportedLayer, applies, margin_bounds
from bench.bounds.bcp import ball_and_box, power_norm, sound_norm
from bench.bounds.network import Ball, BoundedNet
from bench.models.residual import Residual, wide_resnet
from test_bcp import assert_sampled_points_inside


def residual_net(seed: int) -> nn.Sequential:
    torch.manual_seed(seed)
    return wide_resnet((1, 8, 8), 5, hidden=16).eval()


def test_the_wrn_adds_a_convolution_shortcut_to_every_block():
    model = wide_resnet((3, 32, 32), 10)
    blocks = [layer for layer in model if isinstance(layer, Residual)]
    assert len(blocks) == 4 and all(isinstance(block.shortcut, nn.Conv2d) for block in blocks)
    assert [block.shortcut.stride for block in blocks] == [(1, 1), (1, 1), (2, 2), (2, 2)]
    assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 10)


def test_bcp_lmt_and_ibp_through_residual_blocks_hold_for_ten_thousand_sampled_points():
    model, eps = residual_net(4), 0.5
    x = torch.rand(2, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    y = model(x).argmax(1)
    net = BoundedNet(model)
    ball_box = ball_and_box(net, Ball(x, eps, "l2"), sound_norm(net))
    margins = {name: margin_bounds(model, x, y, eps, name, "l2").detach()
               for name in ("bcp", "local_bcp", "lipschitz_l2", "ibp")}
    assert (margins["bcp"] >= margins["lipschitz_l2"] - 1e-5).all()
    assert_sampled_points_inside(model, x, y, eps, "l2", ball_box, margins, torch.Generator().manual_seed(2))


def test_a_residual_blocks_constant_is_the_branch_product_plus_the_shortcut_and_bounds_its_power_estimate():
    model = residual_net(5)
    block, shape = model[2], (16, 8, 8)
    estimate = power_norm(BoundedNet(model), 300)(2, block, shape).detach()
    bound = sound_norm(BoundedNet(model))(2, block, shape)
    assert float(estimate) <= float(bound) + 1e-4 and float(estimate) == pytest.approx(float(bound), rel=0.05)
    jacobian = torch.autograd.functional.jacobian(lambda v: block.shortcut(v.view(1, *shape)) +
                                                  block.branch[2](block.branch[0](v.view(1, *shape))),
                                                  torch.zeros(16 * 8 * 8)).reshape(-1, 16 * 8 * 8)
    assert float(torch.linalg.matrix_norm(jacobian.double(), ord=2)) <= float(bound) + 1e-6


def test_linear_bounds_refuse_residual_blocks_by_name_and_say_so_before_running():
    model = residual_net(6)
    x, y = torch.rand(2, 1, 8, 8), torch.tensor([0, 1])
    assert applies(model, "bcp") and applies(model, "ibp") and not applies(model, "crown_ibp")
    with pytest.raises(UnsupportedLayer, match="residual blocks"):
        margin_bounds(model, x, y, 0.1, "crown_ibp", "l2")
