"""Per-layer operator norms (bench.bounds.lipschitz) against the spectral norm of the explicit matrix."""
import pytest
import torch
from torch import nn

from bench.bounds import margin_bounds, worst_margin
from bench.bounds.lipschitz import layer_norms, linf_operator_norm, operator_norm


def explicit_matrix(layer: nn.Module, input_shape) -> torch.Tensor:
    """The layer (without bias) as a matrix: its response to every basis vector of the input."""
    size = int(torch.tensor(input_shape).prod())
    basis = torch.eye(size).reshape(size, *input_shape)
    with torch.no_grad():
        if isinstance(layer, nn.Conv2d):
            out = nn.functional.conv2d(basis, layer.weight, None, layer.stride, layer.padding, layer.dilation,
                                       layer.groups)
        else:
            out = basis @ layer.weight.T
    return out.reshape(size, -1).T


CONVS = [  # (in, out, kernel, stride, padding, input height/width)
    (2, 3, 3, 1, 1, 6), (3, 4, 4, 2, 1, 8), (2, 2, 3, 2, 0, 7), (1, 5, 5, 1, 2, 5), (3, 2, 1, 2, 0, 5),
]


@pytest.mark.parametrize("cin,cout,kernel,stride,padding,size", CONVS)
def test_conv_norm_is_the_operator_norm_not_the_reshaped_kernel(cin, cout, kernel, stride, padding, size):
    torch.manual_seed(cin * 100 + kernel)
    conv = nn.Conv2d(cin, cout, kernel, stride, padding)
    shape = (cin, size, size)
    exact = float(torch.linalg.matrix_norm(explicit_matrix(conv, shape), ord=2))
    estimate = operator_norm(conv, shape, iterations=2000, tol=1e-10)
    assert estimate == pytest.approx(exact, rel=1e-4)
    assert estimate <= exact * (1 + 1e-5)  # ||W v|| for unit v never exceeds the norm
    reshaped = float(torch.linalg.matrix_norm(conv.weight.detach().reshape(cout, -1), ord=2))
    if kernel > 1:  # overlapping windows: the reshaped kernel's norm is not the layer's
        assert abs(reshaped - exact) > 1e-3 * exact


def test_linear_norm_and_substituted_weight():
    torch.manual_seed(1)
    layer = nn.Linear(7, 5)
    exact = float(torch.linalg.matrix_norm(layer.weight.detach(), ord=2))
    assert operator_norm(layer, (7,), iterations=2000, tol=1e-10) == pytest.approx(exact, rel=1e-5)
    half = operator_norm(layer, (7,), weight=0.5 * layer.weight, iterations=2000, tol=1e-10)
    assert half == pytest.approx(exact / 2, rel=1e-5)


def test_adjoint_is_exact_for_padded_strided_convs():
    torch.manual_seed(2)
    conv = nn.Conv2d(2, 3, 3, stride=2, padding=1)
    from bench.bounds.lipschitz import _adjoint, _forward
    v, u = torch.randn(1, 2, 8, 8), torch.randn(1, 3, 4, 4)
    weight = conv.weight.detach()
    lhs = (_forward(conv, weight, v) * u).sum()
    rhs = (v * _adjoint(conv, weight, u, v.shape)).sum()
    assert float(lhs) == pytest.approx(float(rhs), rel=1e-5)


def test_layer_norms_in_forward_order_and_reproducible():
    torch.manual_seed(3)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 4, 4, stride=2, padding=1),
                          nn.ReLU(), nn.Flatten(), nn.Linear(64, 10), nn.ReLU(), nn.Linear(10, 3))
    norms = layer_norms(model, (1, 8, 8))
    assert [n.name for n in norms] == ["0", "2", "5", "7"]
    assert [n.kind for n in norms] == ["conv", "conv", "linear", "linear"]
    assert norms == layer_norms(model, (1, 8, 8))
    exact = float(torch.linalg.matrix_norm(explicit_matrix(model[2], (4, 8, 8)), ord=2))
    assert norms[1].norm == pytest.approx(exact, rel=1e-3)


@pytest.mark.parametrize("cin,cout,kernel,stride,padding,size", CONVS)
def test_linf_norm_of_a_conv_bounds_its_explicit_matrix_and_is_exact_without_padding(cin, cout, kernel, stride,
                                                                                     padding, size):
    torch.manual_seed(cout)
    conv = nn.Conv2d(cin, cout, kernel, stride, padding)
    exact = float(explicit_matrix(conv, (cin, size, size)).abs().sum(dim=1).max())
    bound = float(linf_operator_norm(conv).detach())
    assert bound >= exact - 1e-6
    if padding == 0:
        assert bound == pytest.approx(exact, rel=1e-6)


def test_lipschitz_margins_are_the_clean_margins_minus_two_l_eps_and_certify_a_flat_net():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3))
    x, y = torch.rand(5, 1, 2, 2), torch.tensor([0, 1, 2, 0, 1])
    margins = margin_bounds(model, x, y, 0.1, "lipschitz")
    logits = model(x).detach()
    clean = logits.gather(1, y[:, None]) - logits
    lipschitz = float(model[1].weight.detach().abs().sum(dim=1).max())
    expected = clean - 2 * lipschitz * 0.1 * (torch.arange(3)[None] != y[:, None])
    assert torch.allclose(margins.detach(), expected, atol=1e-6)
    with torch.no_grad():
        model[1].weight.mul_(1e-3)
        model[1].bias.copy_(torch.tensor([1.0, 0.0, -1.0]))
    assert (worst_margin(margin_bounds(model, x, torch.zeros(5, dtype=torch.long), 0.1, "lipschitz"),
                         torch.zeros(5, dtype=torch.long)) > 0).all()
