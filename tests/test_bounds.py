"""Soundness of every bound against brute-force sampling, exactness of the per-layer rules, and the
looser-tighter orders that theory guarantees."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from bench.bounds import BOUNDS, Ball, BoundedNet, interval_bounds, margin_bounds, margin_spec, worst_margin
from bench.bounds.layers import UnsupportedLayer, backward, interval
from bench.bounds.linear import backward_lower, backward_pre_bounds, rule_slopes
from bench.models import Normalize

CLASSES = 4


def random_net(seed: int, batchnorm: bool = True) -> nn.Sequential:
    """A small conv net touching every supported layer type, with random (eval-mode) BN statistics."""
    torch.manual_seed(seed)
    layers = [Normalize((0.4,), (0.3,)), nn.Conv2d(1, 4, 3, stride=2, padding=1), nn.ReLU()]
    if batchnorm:
        layers.append(nn.BatchNorm2d(4))
    layers += [nn.Conv2d(4, 6, 3, stride=1, padding=1), nn.ReLU(), nn.AvgPool2d(2), nn.Flatten(),
               nn.Linear(24, 12), nn.ReLU(), nn.Linear(12, CLASSES)]
    net = nn.Sequential(*layers).double()
    for module in net.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(-1.5, 1.5)  # negative scales exercise the |scale| rule
            module.bias.data.uniform_(-0.5, 0.5)
    return net.eval()


def sample_ball(x, eps, norm, count, generator):
    """``count`` points of the ball around one input x (1, ...), a quarter of them corners (l_inf) or
    on the sphere (l2), all inside [0, 1] for l_inf."""
    shape = (count, *x.shape[1:])
    if norm == "linf":
        delta = (torch.rand(shape, generator=generator, dtype=x.dtype) * 2 - 1) * eps
        delta[: count // 4] = delta[: count // 4].sign() * eps
        return (x + delta).clamp(0, 1)
    direction = torch.randn(shape, generator=generator, dtype=x.dtype)
    direction /= direction.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
    radius = torch.rand(count, generator=generator, dtype=x.dtype) ** (1 / x.numel())
    radius[: count // 4] = 1.0
    return x + direction * (eps * radius).view(-1, 1, 1, 1)


@pytest.mark.parametrize("norm, eps", [("linf", 0.03), ("linf", 0.1), ("l2", 0.3)])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_bound_contains_sampled_margins(seed, norm, eps):
    net, gen = random_net(seed), torch.Generator().manual_seed(seed)
    x = torch.rand(3, 1, 8, 8, generator=gen, dtype=torch.float64)
    y = torch.tensor([0, 1, 3])
    bounds = {name: margin_bounds(net, x, y, eps, name, norm=norm, generator=gen).detach() for name in BOUNDS}
    for k in range(len(x)):
        points = sample_ball(x[k:k + 1], eps, norm, 10_000, gen)
        with torch.no_grad():
            logits = net(points)
        true_margins = logits[:, y[k]:y[k] + 1] - logits  # (points, classes)
        sampled_min = true_margins.min(0).values
        for name, margins in bounds.items():
            assert torch.all(margins[k] <= sampled_min + 1e-9), (name, margins[k], sampled_min)


@pytest.mark.parametrize("seed", [0, 3])
def test_intermediate_bounds_contain_sampled_activations(seed):
    net, gen = random_net(seed), torch.Generator().manual_seed(seed)
    x = torch.rand(1, 1, 8, 8, generator=gen, dtype=torch.float64)
    ball, bnet = Ball(x, 0.08), BoundedNet(net)
    bnet.record(x)
    points = sample_ball(x, 0.08, "linf", 10_000, gen)
    activations, h = {}, points
    with torch.no_grad():
        for i, layer in enumerate(bnet.layers):
            activations[i] = h
            h = layer(h)
    ibp_pre, _ = interval_bounds(bnet, ball)
    for pre in (ibp_pre, backward_pre_bounds(bnet, ball, "crown"), backward_pre_bounds(bnet, ball, "chord")):
        for i, (lower, upper) in pre.items():
            assert torch.all(activations[i] >= lower - 1e-9) and torch.all(activations[i] <= upper + 1e-9)


@pytest.mark.parametrize("layer, shape", [
    (nn.Conv2d(3, 5, 4, stride=2, padding=1), (3, 9, 9)),
    (nn.Conv2d(3, 5, 3, stride=1, padding=0), (3, 7, 7)),
    (nn.Linear(7, 5), (7,)),
    (nn.Flatten(), (2, 3, 3)),
    (nn.AvgPool2d(2), (2, 6, 6)),
    (nn.BatchNorm2d(3).eval(), (3, 4, 4)),
    (Normalize((0.1, 0.2, 0.3), (0.5, 0.4, 0.3)), (3, 4, 4)),
])
@pytest.mark.parametrize("dense_limit", [0, 1 << 22], ids=["conv_transpose", "dense"])
def test_layer_rules_are_exact_for_affine_layers(layer, shape, dense_limit, monkeypatch):
    monkeypatch.setattr("bench.bounds.layers.DENSE_LIMIT", dense_limit)
    torch.manual_seed(0)
    layer = layer.double()
    z = torch.randn(2, *shape, dtype=torch.float64)
    out = layer(z)
    A = torch.randn(2, 3, *out.shape[1:], dtype=torch.float64)
    A_in, bias = backward(layer, A, shape)
    expected = (A.flatten(2) @ out.flatten(1).unsqueeze(-1)).squeeze(-1)
    assert torch.allclose((A_in.flatten(2) @ z.flatten(1).unsqueeze(-1)).squeeze(-1) + bias, expected)
    lower, upper = interval(layer, z - 0.1, z + 0.1)
    box_points = z[:1] + 0.1 * torch.randn(2000, *shape, dtype=torch.float64).sign()  # corners of the box
    box_points[1000:] = z[:1] + 0.1 * (torch.rand(1000, *shape, dtype=torch.float64) * 2 - 1)
    with torch.no_grad():
        outputs = layer(box_points)
    assert torch.all(lower[:1] <= outputs + 1e-12) and torch.all(outputs <= upper[:1] + 1e-12)


@pytest.mark.parametrize("seed", range(6))
def test_zero_slope_linear_relaxation_is_never_looser_than_ibp(seed):
    """With IBP intermediates and lower slope 0, each backward step is at least as tight as the interval
    step (induction over layers), so zero_ibp >= ibp elementwise."""
    net, gen = random_net(seed), torch.Generator().manual_seed(seed)
    x, y = torch.rand(8, 1, 8, 8, generator=gen, dtype=torch.float64), torch.arange(8) % CLASSES
    for eps in (0.01, 0.05, 0.2):
        ibp = margin_bounds(net, x, y, eps, "ibp")
        zero = margin_bounds(net, x, y, eps, "zero_ibp")
        assert torch.all(zero >= ibp - 1e-9)


@pytest.mark.parametrize("bound", ["crown_ibp", "ours", "crown"])
def test_leaving_the_own_class_row_out_of_the_backward_pass_changes_no_margin(bound):
    """margin_bounds passes only the rows m != y of C(y) backward; the full C(y) gives the same margins."""
    net, gen = random_net(3), torch.Generator().manual_seed(3)
    x, y = torch.rand(5, 1, 8, 8, generator=gen, dtype=torch.float64), torch.tensor([3, 0, 1, 2, 0])
    bnet, ball = BoundedNet(net), Ball(x, 0.05)
    pre = interval_bounds(bnet, ball)[0]
    if BOUNDS[bound].intermediate == "backward":
        pre = backward_pre_bounds(bnet, ball, "crown")
    slopes = rule_slopes(bnet, pre, "crown" if bound != "ours" else "uniform", torch.Generator().manual_seed(0))
    spec = margin_spec(y, CLASSES, x.dtype)
    if bound == "ours":  # eq. 3.3.24's one step, on the margins of the full C(y)
        slopes = {i: a.requires_grad_() for i, a in slopes.items()}
        margins = backward_lower(bnet, spec, len(bnet.layers), pre, slopes, ball)
        grads = torch.autograd.grad(F.cross_entropy(-margins, y, reduction="sum"), list(slopes.values()))
        slopes = {i: (a - g.sign()).clamp(0, 1).detach() for (i, a), g in zip(slopes.items(), grads)}
    full = backward_lower(bnet, spec, len(bnet.layers), pre, slopes, ball)
    margins = margin_bounds(net, x, y, 0.05, bound, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(margins, full, rtol=0, atol=1e-12) and torch.all(margins.gather(1, y[:, None]) == 0)


def test_one_hidden_layer_makes_crown_and_crown_ibp_agree():
    """With a single ReLU layer the intermediate bounds are exact in both, so the two bounds coincide."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(16, 10), nn.ReLU(), nn.Linear(10, CLASSES)).double()
    x, y = torch.rand(6, 1, 4, 4, dtype=torch.float64), torch.arange(6) % CLASSES
    assert torch.allclose(margin_bounds(net, x, y, 0.1, "crown"), margin_bounds(net, x, y, 0.1, "crown_ibp"))
    assert torch.allclose(margin_bounds(net, x, y, 0.1, "cap"), margin_bounds(net, x, y, 0.1, "cap_ibp"))


def test_backward_intermediate_bounds_are_tighter_than_intervals_on_average():
    net, gen = random_net(5), torch.Generator().manual_seed(5)
    x = torch.rand(4, 1, 8, 8, generator=gen, dtype=torch.float64)
    bnet = BoundedNet(net)
    bnet.record(x)
    ibp_pre, _ = interval_bounds(bnet, Ball(x, 0.05))
    crown_pre = backward_pre_bounds(bnet, Ball(x, 0.05), "crown")
    last = bnet.relus[-1]
    width = lambda pre: (pre[last][1] - pre[last][0]).mean()
    assert width(crown_pre) < width(ibp_pre)


def test_bounds_are_differentiable_in_the_weights():
    net = random_net(0).train()
    x, y = torch.rand(4, 1, 8, 8, dtype=torch.float64), torch.arange(4)
    for name in BOUNDS:
        net.zero_grad()
        net.train(name not in ("liplt", "pairwise_naive"))  # global constants refuse BatchNorm in training mode
        worst_margin(margin_bounds(net, x, y, 0.05, name, generator=torch.Generator().manual_seed(0)), y).sum().backward()
        assert net[-1].weight.grad.abs().sum() > 0, name


def test_unsupported_layers_are_refused_by_name():
    with pytest.raises(UnsupportedLayer, match="MaxPool2d"):
        BoundedNet(nn.Sequential(nn.Conv2d(1, 2, 3), nn.MaxPool2d(2)))
