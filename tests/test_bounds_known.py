"""Known answers for the bounds: every lower-slope rule on hand-picked (l, u) pairs, and the margins of a tiny
one-hidden-layer net computed here by an independent scalar closed form (thesis sec. 3.3.1, app. C.3), to 1e-9.

Soundness tests cannot tell one sound slope from another (every slope in [0, 1] is sound); these can.
"""
import pytest
import torch
from torch import nn

from bench.bounds import margin_bounds
from bench.bounds.linear import SLOPE_RULES, bernoulli_rule

# (l, u): crown's 1[u + l > 0], the chord slope u / (u - l)
PAIRS = [(-1.0, 3.0, 1.0, 0.75), (-3.0, 1.0, 0.0, 0.25), (-2.0, 2.0, 0.0, 0.5), (-0.5, 0.6, 1.0, 0.6 / 1.1)]


@pytest.mark.parametrize("lower, upper, crown, chord", PAIRS)
def test_slope_rules_on_hand_picked_bounds(lower, upper, crown, chord):
    l, u = torch.tensor([lower], dtype=torch.float64), torch.tensor([upper], dtype=torch.float64)
    assert SLOPE_RULES["crown"](l, u, None).item() == crown
    assert SLOPE_RULES["adaptive"](l, u, None).item() == pytest.approx(chord, abs=1e-12)
    assert SLOPE_RULES["zero"](l, u, None).item() == 0.0
    assert bernoulli_rule(0.0, 1.0)(l, u, torch.Generator().manual_seed(0)).item() == float(abs(lower) <= abs(upper))
    assert bernoulli_rule(1.0, 0.0)(l, u, torch.Generator().manual_seed(0)).item() == float(abs(lower) > abs(upper))


def test_uniform_slopes_are_seeded_draws_in_the_unit_interval():
    l, u = -torch.ones(1000, dtype=torch.float64), torch.ones(1000, dtype=torch.float64)
    draw = SLOPE_RULES["uniform"](l, u, torch.Generator().manual_seed(3))
    assert torch.equal(draw, SLOPE_RULES["uniform"](l, u, torch.Generator().manual_seed(3)))
    assert 0 <= draw.min() and draw.max() <= 1 and 0.45 < draw.mean() < 0.55


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
