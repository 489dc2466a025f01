"""The l2 ball's first layer (bench.bounds.ibp.l2_first_layer): the dual-norm rule w.x +/- eps ||w||_2 is the
exact range of each output over the ball, on random rows, on padded and strided convs (checked against the
layer's explicit matrix) and through input normalisation; interval bounds use it and are never looser."""
import pytest
import torch
from torch import nn

from bench.bounds import margin_bounds
from bench.bounds.ibp import interval_bounds, l2_first_layer
from bench.bounds.network import Ball, BoundedNet
from bench.models import Normalize
from test_lipschitz import explicit_matrix


def test_a_linear_rows_range_is_its_dual_norm_and_is_attained():
    torch.manual_seed(0)
    net = BoundedNet(nn.Sequential(nn.Flatten(), nn.Linear(12, 5)))
    x, eps = torch.rand(3, 1, 3, 4), 0.3
    lower, upper = l2_first_layer(net, Ball(x, eps, "l2"), 1)
    weight, bias = net.layers[1].weight, net.layers[1].bias
    center = x.flatten(1) @ weight.T + bias
    assert torch.allclose(upper - center, eps * weight.norm(dim=1).expand(3, -1), atol=1e-6)
    attained = x.flatten(1)[:, None, :] + eps * weight / weight.norm(dim=1, keepdim=True)  # x + eps w / ||w||
    assert torch.allclose((attained * weight).sum(-1) + bias, upper, atol=1e-5)


@pytest.mark.parametrize("stride, padding", [(1, 1), (2, 1), (1, 2), (2, 0)])
def test_a_padded_convs_range_uses_only_the_taps_inside_the_image(stride, padding):
    torch.manual_seed(stride + padding)
    conv = nn.Conv2d(2, 3, 3, stride=stride, padding=padding)
    net = BoundedNet(nn.Sequential(Normalize((0.4, 0.5), (0.2, 0.3)), conv))
    x, eps = torch.rand(2, 2, 6, 6), 0.1
    lower, upper = l2_first_layer(net, Ball(x, eps, "l2"), 1)
    matrix = explicit_matrix(conv, (2, 6, 6)) / torch.tensor([0.2, 0.3]).repeat_interleave(36)  # normalisation
    radius = eps * matrix.norm(dim=1).reshape(upper.shape[1:])
    center = conv((x - torch.tensor([0.4, 0.5]).view(1, 2, 1, 1)) / torch.tensor([0.2, 0.3]).view(1, 2, 1, 1))
    assert torch.allclose(upper, center + radius, atol=1e-5) and torch.allclose(lower, center - radius, atol=1e-5)
    kernel_only = eps * (conv.weight / torch.tensor([0.2, 0.3]).view(1, 2, 1, 1)).flatten(1).norm(dim=1)
    if padding:  # the border positions see fewer taps than the whole kernel
        assert (radius[:, 0, 0] < kernel_only - 1e-6).all()


def test_interval_bounds_are_tighter_than_the_box_and_still_sound():
    torch.manual_seed(3)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(64, 10))
    x, eps = torch.rand(4, 1, 4, 4), 0.5
    ball, box = Ball(x, eps, "l2"), Ball(x, eps, "linf", domain=(-10.0, 10.0))   # the l2 ball's enclosing box
    _, (l2_lower, l2_upper) = interval_bounds(BoundedNet(model), ball)
    _, (box_lower, box_upper) = interval_bounds(BoundedNet(model), box)
    assert ((l2_upper - l2_lower) <= (box_upper - box_lower) + 1e-6).all()
    ratio = ((box_upper - box_lower).mean() / (l2_upper - l2_lower).mean()).item()
    assert ratio > 1.5  # the box start is far looser (issue 13 measured 2.6-3.9x on small nets)
    delta = torch.randn(2000, 1, 4, 4)
    delta = delta / delta.flatten(1).norm(dim=1).view(-1, 1, 1, 1) * eps * torch.rand(2000, 1, 1, 1) ** 0.25
    with torch.no_grad():
        outputs = model(x[0] + delta)
    assert (outputs >= l2_lower[0] - 1e-5).all() and (outputs <= l2_upper[0] + 1e-5).all()
    y = model(x).argmax(1)
    sampled = outputs[:, y[0]:y[0] + 1] - outputs  # z_y - z_m at every sampled point of x[0]'s ball
    for bound in ("ibp", "crown_ibp"):  # the margins built on these bounds stay below every sampled margin
        margins = margin_bounds(model, x, y, eps, bound, norm="l2")
        assert (sampled >= margins[0] - 1e-5).all(), bound
