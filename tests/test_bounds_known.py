"""Known answers for the bounds: every lower-slope rule on hand-picked (l, u) pairs, and the margins of a tiny
one-hidden-layer net computed here by an independent scalar closed form (thesis sec. 3.3.1, app. C.3), to 1e-9.

Soundness tests cannot tell one sound slope from another (every slope in [0, 1] is sound); these can.
"""
import pytest
import torch
from torch import nn

from bench.bounds import Ball, BoundSpec, margin_bounds
from bench.bounds.linear import SLOPE_RULES, bernoulli_rule, concretize

# (l, u): crown's 1[u + l > 0], the chord slope u / (u - l)
PAIRS = [(-1.0, 3.0, 1.0, 0.75), (-3.0, 1.0, 0.0, 0.25), (-2.0, 2.0, 0.0, 0.5), (-0.5, 0.6, 1.0, 0.6 / 1.1)]


@pytest.mark.parametrize("lower, upper, crown, chord", PAIRS)
def test_slope_rules_on_hand_picked_bounds(lower, upper, crown, chord):
    l, u = torch.tensor([lower], dtype=torch.float64), torch.tensor([upper], dtype=torch.float64)
    rules = [*SLOPE_RULES.values(), bernoulli_rule(0.3, 0.6)]
    assert all(rule(l, u, torch.Generator()).dtype == torch.float64 for rule in rules)  # slopes in the bounds' dtype
    assert SLOPE_RULES["crown"](l, u, None).item() == crown
    assert SLOPE_RULES["chord"](l, u, None).item() == pytest.approx(chord, abs=1e-12)
    assert SLOPE_RULES["zero"](l, u, None).item() == 0.0
    assert bernoulli_rule(0.0, 1.0)(l, u, torch.Generator().manual_seed(0)).item() == float(abs(lower) <= abs(upper))
    assert bernoulli_rule(1.0, 0.0)(l, u, torch.Generator().manual_seed(0)).item() == float(abs(lower) > abs(upper))


@pytest.mark.parametrize("pq, mean", [(None, 0.5), ((0.5, 0.5), 0.5), ((0.2, 0.9), 0.55)])
def test_random_slopes_are_draws_from_the_callers_generator(pq, mean):
    rule = SLOPE_RULES["uniform"] if pq is None else bernoulli_rule(*pq)  # built here, where mutants are live
    l = torch.tensor([-1.0, -3.0] * 1000, dtype=torch.float64)  # |l| <= |u| and |l| > |u| in turn
    u = torch.tensor([2.0, 1.0] * 1000, dtype=torch.float64)
    torch.manual_seed(1)  # the global generator must not matter
    draw = rule(l, u, torch.Generator().manual_seed(3))
    torch.manual_seed(2)
    assert torch.equal(draw, rule(l, u, torch.Generator().manual_seed(3)))
    assert 0 <= draw.min() and draw.max() <= 1 and abs(draw.mean() - mean) < 0.05


def test_bernoulli_slopes_fire_with_probability_exactly_p(monkeypatch):
    """a = 1[U < p] with U uniform on [0, 1): P(a = 1) = p, so p = 0 never fires, even on a draw of exactly 0."""
    l, u = torch.tensor([-1.0, -3.0], dtype=torch.float64), torch.tensor([2.0, 1.0], dtype=torch.float64)
    monkeypatch.setattr(torch.Tensor, "uniform_", lambda self, generator=None: self.zero_())
    assert bernoulli_rule(0.0, 0.0)(l, u, None).tolist() == [0.0, 0.0]
    assert bernoulli_rule(1.0, 0.0)(l, u, None).tolist() == [0.0, 1.0]


# A 2-input, 4-hidden, 3-class net around x0 = (0.5, 0.4), eps = 0.2 (the ball stays inside [0, 1]).
# Hidden pre-activation bounds: [-0.7, 0.5], [-0.45, 0.35], [-0.3, 0.5], [0.05, 0.45]: three unstable ReLUs,
# two with u + l < 0 and one with u + l > 0, and one active.
W1 = [[1.0, -2.0], [0.5, 1.5], [-1.0, 1.0], [0.5, 0.5]]
B1 = [0.2, -0.9, 0.2, -0.2]
W2 = [[1.0, -1.0, 2.0, 0.5], [-0.5, 2.0, -1.0, 1.0], [0.3, 0.3, 0.3, -2.0]]
B2 = [0.1, -0.2, 0.0]
X0, EPS = [0.5, 0.4], 0.2


def hidden_bounds() -> list[tuple[float, float]]:
    bounds = []
    for w, b in zip(W1, B1):
        centre, radius = sum(wi * xi for wi, xi in zip(w, X0)) + b, EPS * sum(abs(wi) for wi in w)
        bounds.append((centre - radius, centre + radius))
    return bounds


def hand_margin(y: int, m: int, slopes) -> tuple[float, list[float]]:
    """(min over the box of z_y - z_m with the ReLU relaxation, the minimising corner), by scalar arithmetic:
    the chord above an unstable ReLU where the margin's coefficient is negative, ``slopes[j] * z`` below it
    elsewhere."""
    coef, const = [0.0] * len(X0), B2[y] - B2[m]
    for j, ((l, u), w, b) in enumerate(zip(hidden_bounds(), W1, B1)):
        a = W2[y][j] - W2[m][j]
        if l >= 0:
            g = a
        elif u <= 0:
            g = 0.0
        elif a >= 0:
            g = a * slopes[j]
        else:
            k = u / (u - l)
            g, const = a * k, const - a * k * l
        const += g * b
        coef = [c + g * wi for c, wi in zip(coef, w)]
    corner = [xi - EPS * (c > 0) + EPS * (c < 0) for c, xi in zip(coef, X0)]
    return const + sum(c * xi for c, xi in zip(coef, corner)), corner


def rule_slopes(rule) -> list[float]:
    return [rule(l, u) for l, u in hidden_bounds()]


def tiny_net() -> nn.Sequential:
    net = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 3)).double()
    with torch.no_grad():
        for layer, (w, b) in zip((net[0], net[2]), ((W1, B1), (W2, B2))):
            layer.weight.copy_(torch.tensor(w, dtype=torch.float64))
            layer.bias.copy_(torch.tensor(b, dtype=torch.float64))
    return net


RULES = {"crown_ibp": lambda l, u: float(u + l > 0), "crown": lambda l, u: float(u + l > 0),
         "cap_ibp": lambda l, u: u / (u - l), "cap": lambda l, u: u / (u - l), "zero_ibp": lambda l, u: 0.0}
PAIRS_YM = [(y, m) for y in range(3) for m in range(3) if m != y]


def test_the_net_has_the_neurons_the_rules_disagree_on():
    assert [(round(l, 9), round(u, 9)) for l, u in hidden_bounds()] == [(-0.7, 0.5), (-0.45, 0.35), (-0.3, 0.5),
                                                                         (0.05, 0.45)]
    answers = {name: tuple(round(hand_margin(y, m, rule_slopes(rule))[0], 9) for y, m in PAIRS_YM)
               for name, rule in RULES.items() if name != "crown" and name != "cap"}
    flipped = tuple(round(hand_margin(y, m, rule_slopes(lambda l, u: float(u + l < 0)))[0], 9) for y, m in PAIRS_YM)
    assert len(set(answers.values()) | {flipped}) == len(answers) + 1  # a flipped crown rule changes a margin


@pytest.mark.parametrize("bound", RULES)
@pytest.mark.parametrize("y", [0, 1, 2])
def test_margins_of_a_one_hidden_layer_net_match_the_closed_form(bound, y):
    """One affine layer from a box is exact under IBP, so the backward-intermediate bounds (crown, cap) equal
    their IBP-intermediate twins here and share the closed form."""
    margins = margin_bounds(tiny_net(), torch.tensor([X0], dtype=torch.float64), torch.tensor([y]), EPS, bound)
    expected = [0.0 if m == y else hand_margin(y, m, rule_slopes(RULES[bound]))[0] for m in range(3)]
    assert margins[0].tolist() == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("p, q", [(0.0, 1.0), (1.0, 0.0)])
def test_bernoulli_slope_variants_of_table_c1_match_the_closed_form(p, q):
    """Thesis sec. 3.3.3 with p, q in {0, 1}: the slope is 1 where |l| > |u| (p) or where |l| <= |u| (q)."""
    margins = margin_bounds(tiny_net(), torch.tensor([X0], dtype=torch.float64), torch.tensor([0]), EPS,
                            BoundSpec(slope=("pq", p, q)), generator=torch.Generator().manual_seed(0))
    slopes = rule_slopes(lambda l, u: p if abs(l) > abs(u) else q)  # at y = 0, (p, q), (q, p), (q, q) all differ
    assert margins[0].tolist() == pytest.approx([0.0] + [hand_margin(0, m, slopes)[0] for m in (1, 2)], abs=1e-9)


@pytest.mark.parametrize("y", [0, 1, 2])
def test_ours_is_one_projected_sign_step_from_uniform_slopes(y):
    """OURS (thesis eq. 3.3.24, step 1): a <- clip(a - sign(d CE(-margins) / d a), 0, 1) from a ~ U[0, 1], then
    the margins with the new slopes. The gradient is taken here by hand: margin m moves with a_j by
    A_mj * z_j(x*_m) (A_mj >= 0, neuron j unstable, x*_m the minimising corner) and CE(-margins) moves with
    margin m by -softmax(-margins)_m."""
    start = torch.rand((1, 4), generator=torch.Generator().manual_seed(0), dtype=torch.float64)[0].tolist()
    others = [m for m in range(3) if m != y]
    margins = {m: hand_margin(y, m, start) for m in others}
    weights = torch.softmax(torch.tensor([0.0] + [-margins[m][0] for m in others]), 0)[1:].tolist()
    slopes = []
    for j, ((l, u), w, b) in enumerate(zip(hidden_bounds(), W1, B1)):
        grad = 0.0
        for p, m in zip(weights, others):
            a = W2[y][j] - W2[m][j]
            if l < 0 < u and a >= 0:
                grad -= p * a * (sum(wi * xi for wi, xi in zip(w, margins[m][1])) + b)
        slopes.append(min(max(start[j] - (grad > 0) + (grad < 0), 0.0), 1.0))
    got = margin_bounds(tiny_net(), torch.tensor([X0], dtype=torch.float64), torch.tensor([y]), EPS, "ours",
                        generator=torch.Generator().manual_seed(0))
    expected = [0.0 if m == y else hand_margin(y, m, slopes)[0] for m in range(3)]
    assert got[0].tolist() == pytest.approx(expected, abs=1e-9)


def test_concretize_is_the_closed_form_minimum_over_each_ball():
    """min over ||x' - x||_inf <= eps (inside [0, 1]) of a.x' puts each coordinate at the box end its sign picks;
    over ||x' - x||_2 <= eps it is a.x - eps ||a||_2 (Cauchy-Schwarz)."""
    generator = torch.Generator().manual_seed(0)
    A = torch.randn(2, 3, 5, generator=generator, dtype=torch.float64) * 3
    x = torch.tensor([[0.05, 0.5, 0.5, 0.97, 0.3], [0.5] * 5], dtype=torch.float64)
    lower, upper = (x - 0.1).clamp(0, 1), (x + 0.1).clamp(0, 1)
    linf = torch.where(A > 0, lower.unsqueeze(1), upper.unsqueeze(1)).mul(A).sum(-1)
    assert torch.allclose(concretize(A, Ball(x, 0.1, "linf")), linf, atol=1e-12)
    l2 = (A * x.unsqueeze(1)).sum(-1) - 0.1 * A.pow(2).sum(-1).sqrt()
    assert torch.allclose(concretize(A, Ball(x, 0.1, "l2")), l2, atol=1e-12)


def test_neurons_on_the_boundary_are_stable():
    """l = 0 is an active neuron (slope 1), u = 0 a dead one (slope 0), whatever the rule for unstable ones."""
    net = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 2)).double()
    with torch.no_grad():  # x0 = (0.5, 0.25), eps = 0.25: pre-activations in [0, 0.5], [-0.5, 0], [0.25, 0.75]
        net[0].weight.copy_(torch.tensor([[1.0, 0.0], [1.0, 0.0], [-1.0, 0.0]], dtype=torch.float64))
        net[0].bias.copy_(torch.tensor([-0.25, -0.75, 1.0], dtype=torch.float64))
        net[2].weight.copy_(torch.tensor([[2.0, 2.0, 1.0], [0.0, 0.0, 0.0]], dtype=torch.float64))
        net[2].bias.zero_()
    x, y = torch.tensor([[0.5, 0.25]], dtype=torch.float64), torch.tensor([0])
    # z_0 - z_1 = 2 relu(x_1 - 0.25) + 2 relu(x_1 - 0.75) + relu(1 - x_1) = x_1 + 0.5 on the box: min 0.75. A
    # slope 0 on the first neuron would give 0.25, a slope 1 on the second -0.25.
    for bound in ("zero_ibp", BoundSpec(slope=("pq", 1.0, 1.0)), "crown_ibp", "cap_ibp"):
        margins = margin_bounds(net, x, y, 0.25, bound, generator=torch.Generator().manual_seed(0))
        assert margins[0].tolist() == pytest.approx([0.0, 0.75], abs=1e-12), bound


def test_random_slopes_come_from_the_callers_generator_through_margin_bounds():
    x, y = torch.tensor([X0], dtype=torch.float64), torch.tensor([0])
    torch.manual_seed(1)
    first = margin_bounds(tiny_net(), x, y, EPS, "random_ibp", generator=torch.Generator().manual_seed(5))
    torch.manual_seed(2)
    assert torch.equal(first, margin_bounds(tiny_net(), x, y, EPS, "random_ibp",
                                            generator=torch.Generator().manual_seed(5)))


@pytest.mark.parametrize("bound", ["ibp", "crown_ibp", "crown"])
def test_training_mode_batchnorm_is_bounded_as_the_clean_batchs_affine_map(bound):
    """In training, BatchNorm normalises with the batch's statistics: the bounds must equal those of the same
    net in eval mode whose running statistics are the clean batch's (biased) mean and variance."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(2, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 3)).double()
    x = torch.rand(8, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    y = torch.arange(8) % 3
    hidden = net[0](x).detach()
    train_mode = margin_bounds(net.train(), x, y, 0.05, bound)
    net[1].running_mean.copy_(hidden.mean(0))
    net[1].running_var.copy_(hidden.var(0, unbiased=False))
    assert torch.allclose(train_mode, margin_bounds(net.eval(), x, y, 0.05, bound), atol=1e-10)
