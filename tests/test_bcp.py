"""BCP and the l2 Lipschitz certificates (bench.bounds.bcp, bench.bounds.lipschitz): the ball-box solver against a
generic convex solver, guaranteed spectral norms against explicit matrices, and soundness on sampled balls."""
import numpy as np
import pytest
import torch
from scipy.optimize import minimize
from torch import nn

from bench.bounds import margin_bounds, margin_spec
from bench.bounds.bcp import ball_and_box, ball_box_lower_bound, bcp_margins, solve_ball_box, sound_norm
from bench.bounds.lipschitz import (POWER_VECTOR, l2_lipschitz_bound, operator_norm, power_iteration_norm,
                                    spectral_upper_bound)
from bench.bounds.network import Ball, BoundedNet
from bench.models import Normalize
from test_lipschitz import CONVS, explicit_matrix


def random_instance(seed: int, n: int):
    """A ball around z and a box containing z whose sides cut the ball (both contain the true image)."""
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(1, 1, n, generator=g, dtype=torch.float64)
    rho = torch.tensor([[[1.0]]], dtype=torch.float64)
    lower = z - torch.rand(1, 1, n, generator=g, dtype=torch.float64) * 0.8
    upper = z + torch.rand(1, 1, n, generator=g, dtype=torch.float64) * 0.8
    c = torch.randn(1, 3, n, generator=g, dtype=torch.float64)
    return c, z, rho, lower, upper


def scipy_minimum(c, z, rho, lower, upper) -> float:
    constraint = {"type": "ineq", "fun": lambda p: rho ** 2 - np.sum((p - z) ** 2), "jac": lambda p: -2 * (p - z)}
    result = minimize(lambda p: c @ p, z, jac=lambda p: c, bounds=list(zip(lower, upper)), constraints=[constraint],
                      method="SLSQP", options={"ftol": 1e-12, "maxiter": 1000})
    assert result.success, result.message
    return float(result.fun)


@pytest.mark.parametrize("seed", range(8))
def test_the_ball_box_solver_finds_the_convex_optimum_in_at_most_n_steps(seed):
    n = 4 + seed
    c, z, rho, lower, upper = random_instance(seed, n)
    p = solve_ball_box(c, z, rho, lower, upper)
    assert ((p >= lower - 1e-12) & (p <= upper + 1e-12)).all()  # feasible: the loop ended inside the box
    assert ((p - z).norm(dim=-1) <= rho.squeeze(-1) + 1e-9).all()
    bound = ball_box_lower_bound(c, z, rho, lower, upper)
    for s in range(3):
        reference = scipy_minimum(*(t[0, min(s, t.shape[1] - 1)].numpy() for t in (c, z)), 1.0,
                                  lower[0, 0].numpy(), upper[0, 0].numpy())
        assert float((c[0, s] * p[0, s]).sum()) == pytest.approx(reference, abs=1e-6)
        assert float(bound[0, s]) == pytest.approx(reference, abs=1e-6)  # the dual bound is tight at the end


@pytest.mark.parametrize("iterations", [0, 1, 2])
def test_a_truncated_solve_still_gives_a_lower_bound(iterations):
    for seed in range(6):
        c, z, rho, lower, upper = random_instance(100 + seed, 12)
        exact = ball_box_lower_bound(c, z, rho, lower, upper)
        early = ball_box_lower_bound(c, z, rho, lower, upper, iterations)
        assert (early <= exact + 1e-9).all()
        ball_only = (c * z).sum(-1) - c.norm(dim=-1)
        assert (early >= ball_only - 1e-9).all()  # never looser than the ball alone


@pytest.mark.parametrize("cin,cout,kernel,stride,padding,size", CONVS)
def test_the_spectral_bound_of_a_conv_is_never_below_its_explicit_matrix(cin, cout, kernel, stride, padding, size):
    torch.manual_seed(cin * 10 + size)
    conv = nn.Conv2d(cin, cout, kernel, stride, padding)
    exact = float(torch.linalg.matrix_norm(explicit_matrix(conv, (cin, size, size)).double(), ord=2))
    bound = float(spectral_upper_bound(conv, (cin, size, size)))
    assert exact <= bound * (1 + 1e-9)
    assert bound <= 1.4 * exact  # worst here: a 5 x 5 kernel on a 5 x 5 image; 1.01 on 4C3F-sized layers


def test_the_spectral_bound_is_exact_for_linear_layers_and_one_by_one_convs():
    torch.manual_seed(4)
    linear = nn.Linear(9, 6)
    assert float(spectral_upper_bound(linear, (9,))) == pytest.approx(
        float(torch.linalg.matrix_norm(linear.weight.detach().double(), ord=2)), rel=1e-12)
    pointwise = nn.Conv2d(3, 5, 1)  # no spatial coupling: the norm of the channel matrix
    assert float(spectral_upper_bound(pointwise, (3, 4, 4))) == pytest.approx(
        float(torch.linalg.matrix_norm(pointwise.weight.detach().double().flatten(1), ord=2)), rel=1e-9)


def test_power_iteration_converges_from_below_and_its_vector_is_training_state_only():
    torch.manual_seed(5)
    model = nn.Sequential(nn.Conv2d(2, 4, 3, stride=2, padding=1))
    conv, shape = model[0], (2, 7, 7)
    exact = float(torch.linalg.matrix_norm(explicit_matrix(conv, shape), ord=2))
    estimates = [float(power_iteration_norm(conv, shape).detach()) for _ in range(300)]
    assert all(e <= exact * (1 + 1e-5) for e in estimates)
    assert estimates[-1] == pytest.approx(exact, rel=1e-4) and estimates[0] < estimates[-1]
    assert POWER_VECTOR not in model.state_dict()  # the exported model never holds it
    sigma = power_iteration_norm(conv, shape)
    sigma.backward()
    assert conv.weight.grad is not None and conv.weight.grad.abs().sum() > 0
    assert float(operator_norm(conv, shape, iterations=2000, tol=1e-10)) == pytest.approx(exact, rel=1e-4)


def small_net(seed: int, normalize: bool = False):
    torch.manual_seed(seed)
    layers = [Normalize((0.3,), (0.4,))] if normalize else []
    return nn.Sequential(*layers, nn.Conv2d(1, 4, 3, stride=2, padding=1), nn.ReLU(), nn.Conv2d(4, 6, 3, padding=1),
                         nn.ReLU(), nn.Flatten(), nn.Linear(6 * 3 * 3, 12), nn.ReLU(), nn.Linear(12, 5)).eval()


def sample_ball(x: torch.Tensor, eps: float, count: int, norm: str, generator) -> torch.Tensor:
    """``count`` points of the ball around one input: half on its surface, half inside."""
    if norm == "linf":
        delta = (torch.rand((count, *x.shape), generator=generator) * 2 - 1) * eps
        delta[: count // 2] = delta[: count // 2].sign() * eps
        return (x + delta).clamp(0, 1)
    delta = torch.randn((count, *x.shape), generator=generator)
    delta = delta / delta.flatten(1).norm(dim=1).view(-1, *[1] * x.dim())
    radius = torch.ones(count)
    radius[count // 2:] = torch.rand(count - count // 2, generator=generator) ** (1 / x.numel())
    return x + eps * delta * radius.view(-1, *[1] * x.dim())


@pytest.mark.parametrize("norm,eps", [("l2", 0.3), ("l2", 1.0), ("linf", 0.05)])
@pytest.mark.parametrize("normalize", [False, True])
def test_bcp_and_lipschitz_bounds_hold_for_ten_thousand_sampled_points_per_input(norm, eps, normalize):
    model = small_net(7, normalize)
    x = torch.rand(3, 1, 6, 6, generator=torch.Generator().manual_seed(1))
    y = model(x).argmax(1)
    generator = torch.Generator().manual_seed(2)
    net = BoundedNet(model)
    z, rho, lower, upper = ball_and_box(net, Ball(x, eps, norm), sound_norm(net))
    margins = {name: margin_bounds(model, x, y, eps, name, norm).detach() for name in ("bcp", "lipschitz_l2", "ibp")}
    assert (margins["bcp"] >= margins["ibp"] - 1e-5).all()  # its box is inside IBP's
    assert_sampled_points_inside(model, x, y, eps, norm, (z, rho, lower, upper), margins, generator)


def assert_sampled_points_inside(model, x, y, eps, norm, ball_box, margins, generator):
    """10^4 points of each input's ball: their penultimate activations inside BCP's box and ball, their margins
    above every bound of ``margins``."""
    z, rho, lower, upper = ball_box
    penultimate = nn.Sequential(*list(model.children())[:-1])
    for k in range(len(x)):
        points = sample_ball(x[k], eps, 10_000, norm, generator)
        with torch.no_grad():
            hidden, logits = penultimate(points), model(points)
        assert (hidden >= lower[k] - 1e-5).all() and (hidden <= upper[k] + 1e-5).all()
        assert ((hidden - z[k]).norm(dim=1) <= rho[k] + 1e-5).all()
        sampled = logits[:, y[k]:y[k] + 1] - logits
        for name, bound in margins.items():
            assert (sampled >= bound[k] - 1e-5).all(), name


def test_bcp_is_tighter_than_the_lipschitz_ellipsoid_and_its_own_ball():
    model = small_net(8)
    x = torch.rand(16, 1, 6, 6, generator=torch.Generator().manual_seed(3))
    y = model(x).argmax(1)
    net = BoundedNet(model)
    spec = margin_spec(y, 5)
    bcp = bcp_margins(net, Ball(x, 0.5, "l2"), spec)
    z, rho, _, _ = ball_and_box(net, Ball(x, 0.5, "l2"), sound_norm(net))
    c = spec @ model[-1].weight
    ellipsoid = torch.einsum("bsn,bn->bs", c, z) - rho[:, None] * c.norm(dim=-1) + spec @ model[-1].bias
    others = spec.abs().sum(-1) > 0
    assert (bcp[others] >= ellipsoid[others] - 1e-6).all() and (bcp[others] > ellipsoid[others] + 1e-4).any()
    lmt = margin_bounds(model, x, y, 0.5, "lipschitz_l2", "l2")
    assert (ellipsoid[others] >= lmt[others] - 1e-5).all()  # ||c|| rho <= sqrt(2) L eps


def test_per_layer_l2_bounds_of_the_other_layers():
    normalize = Normalize((0.5, 0.5), (0.25, 0.5))
    assert float(l2_lipschitz_bound(normalize, (2, 4, 4))) == pytest.approx(4.0)
    assert float(l2_lipschitz_bound(nn.AvgPool2d(2), (1, 4, 4))) == pytest.approx(0.5)
    pool = explicit_matrix(nn.Conv2d(1, 1, 2, stride=1, bias=False), (1, 4, 4))
    assert float(l2_lipschitz_bound(nn.AvgPool2d(2, stride=1), (1, 4, 4))) >= float(
        torch.linalg.matrix_norm(torch.ones_like(pool) * (pool != 0) / 4, ord=2)) - 1e-6
    with pytest.raises(TypeError, match="MaxPool2d"):
        l2_lipschitz_bound(nn.MaxPool2d(2), (1, 4, 4))
