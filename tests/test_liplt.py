"""LipLT and the naive bound (bench.bounds.liplt; crm sec. 3, Table 2): ordered as crm proves, above the exact
constant of a one-hidden-layer net and above every gradient norm gradient ascent finds, and refusing layers they
cannot bound by name."""
import itertools
import math

import pytest
import torch
from torch import nn

from bench.bounds.layers import UnsupportedLayer
from bench.bounds.liplt import linear_maps, liplt_bound, naive_bound, pair_rows
from test_bcp import small_net

PAIRS = [(i, j) for i in range(5) for j in range(i + 1, 5)]


def bounds(model, shape, norm="exact"):
    maps, last = linear_maps(model, shape), [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    rows = {"pair": pair_rows(last, PAIRS), "class": pair_rows(last, [(i, None) for i in range(5)])}
    with torch.no_grad():
        return {(kind, name): bound(maps, norm, rows=rows.get(name)).detach()
                for kind, bound in (("naive", naive_bound), ("liplt", liplt_bound)) for name in ("net", "pair", "class")}


@pytest.mark.parametrize("seed", [0, 1])
def test_liplt_is_below_naive_and_pairwise_constants_below_their_proxies(seed):
    b = bounds(small_net(seed), (1, 6, 6))
    for name in ("net", "pair", "class"):
        assert (b["liplt", name] <= b["naive", name] + 1e-9).all()
    assert (b["liplt", "net"] < 0.9 * b["naive", "net"]).all()
    for kind in ("naive", "liplt"):
        per_class = b[kind, "class"]
        assert all(b[kind, "pair"][k] <= per_class[i] + per_class[j] + 1e-9 for k, (i, j) in enumerate(PAIRS))
        assert (b[kind, "pair"] <= math.sqrt(2) * b[kind, "net"] + 1e-9).all()


def test_liplt_bounds_the_exact_constant_of_a_one_hidden_layer_net():
    """Every activation pattern D (ReLU's slopes on some region): ||W1 D W0|| <= L, and row by row for the pairs."""
    torch.manual_seed(3)
    model = nn.Sequential(nn.Linear(4, 7), nn.ReLU(), nn.Linear(7, 5)).double()
    b = bounds(model, (4,))
    w0, w1 = model[0].weight.detach(), model[2].weight.detach()
    for pattern in itertools.product([0.0, 1.0], repeat=7):
        jacobian = w1 @ torch.diag(torch.tensor(pattern, dtype=torch.float64)) @ w0
        assert torch.linalg.matrix_norm(jacobian, ord=2) <= b["liplt", "net"] + 1e-12
        for k, (i, j) in enumerate(PAIRS):
            assert (jacobian[i] - jacobian[j]).norm() <= b["liplt", "pair"][k] + 1e-12


def test_no_input_has_a_logit_difference_steeper_than_its_bound():
    """A ReLU net's input gradient is piecewise constant (gradient ascent on its norm does not move), so many
    inputs are searched instead: the steepest gradient of each z_i - z_j stays below L_ij, and not far below."""
    model = small_net(4)
    b = bounds(model, (1, 6, 6))
    x = torch.rand(2048, 1, 6, 6, generator=torch.Generator().manual_seed(0), requires_grad=True)
    logits = model(x)
    steepest = torch.stack([torch.autograd.grad((logits[:, i] - logits[:, j]).sum(), x, retain_graph=True)[0]
                            .flatten(1).norm(dim=1).max() for i, j in PAIRS])
    assert (steepest <= b["liplt", "pair"].float() + 1e-5).all()
    assert (steepest > 0.15 * b["liplt", "pair"].float()).all()


def test_power_iteration_approaches_the_exact_bound_from_below():
    model = small_net(5)
    exact = liplt_bound(linear_maps(model, (1, 6, 6)))
    power = liplt_bound(linear_maps(model, (1, 6, 6)), "power", iterations=300).detach()
    assert float(power) <= float(exact) + 1e-5 and float(power) == pytest.approx(float(exact), rel=1e-3)


@pytest.mark.parametrize("layer, name", [(nn.MaxPool2d(2), "MaxPool2d"), (nn.BatchNorm2d(4), "BatchNorm2d in training")])
def test_a_layer_liplt_cannot_bound_is_refused_by_name(layer, name):
    model = nn.Sequential(nn.Conv2d(1, 4, 3), layer, nn.ReLU(), nn.Flatten(), nn.LazyLinear(3))
    with pytest.raises(UnsupportedLayer, match=name):
        linear_maps(model, (1, 6, 6))


def test_the_liplt_certificate_holds_for_ten_thousand_sampled_points_and_beats_lmts():
    from bench.bounds import margin_bounds
    from test_bcp import sample_ball

    model, eps = small_net(6), 0.5
    x = torch.rand(3, 1, 6, 6, generator=torch.Generator().manual_seed(1))
    y = model(x).argmax(1)
    liplt = margin_bounds(model, x, y, eps, "liplt", "l2").detach()
    lmt = margin_bounds(model, x, y, eps, "lipschitz_l2", "l2").detach()
    assert (liplt >= lmt - 1e-6).all() and (liplt > lmt + 1e-3).any()
    generator = torch.Generator().manual_seed(2)
    for k in range(len(x)):
        with torch.no_grad():
            logits = model(sample_ball(x[k], eps, 10_000, "l2", generator))
        assert (logits[:, y[k]:y[k] + 1] - logits >= liplt[k] - 1e-5).all()


def test_no_sampled_point_inside_a_certified_radius_changes_the_prediction():
    from bench.analysis.radii import certified_radii
    from bench.bounds.liplt import pairwise_constants
    from test_bcp import sample_ball

    model = small_net(8)
    x = torch.rand(6, 1, 6, 6, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        logits = model(x)
        y = logits.argmax(1)
        y[0] = (y[0] + 1) % 5  # a misclassified point is certified at radius 0
        radii = certified_radii(logits, y, pairwise_constants(model, (1, 6, 6)).float())
        assert radii[0] == 0 and (radii[1:] > 0).all()
        generator = torch.Generator().manual_seed(4)
        for k in range(1, len(x)):
            points = sample_ball(x[k], float(radii[k]) * 0.999, 10_000, "l2", generator)
            assert (model(points).argmax(1) == y[k]).all()


@pytest.mark.parametrize("widen", [False, True])
def test_dense_products_from_either_side_in_chunks_are_the_maps_matrix(widen, monkeypatch):
    """dense_product builds from the narrower side (adjoint rows when outputs are fewer) in memory-sized chunks."""
    from bench.bounds import liplt
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.Flatten(), nn.Linear(4 * 36, 50 if widen else 7)).double()
    [linear] = linear_maps(model, (1, 6, 6))
    with torch.no_grad():
        expected = model(torch.eye(36, dtype=torch.float64).reshape(36, 1, 6, 6)).T - model[2].bias[:, None] - \
            model[2].weight @ model[0].bias.repeat_interleave(36)[:, None]   # the affine map less its offset
        monkeypatch.setattr(liplt, "ROWS_MEMORY", 1)  # one basis vector per pass
        assert torch.allclose(liplt.dense_product([linear]), expected, atol=1e-12)
