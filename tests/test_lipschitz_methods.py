"""GloRo and CRM (bench.methods.gloro, bench.methods.crm): their losses on a tiny model, against a direct
computation from the pairwise constants, and the gradients reaching every weight."""
import math

import pytest
import torch
import torch.nn.functional as F

from bench.bounds import margin_bounds
from bench.bounds.liplt import pairwise_constants
from bench.methods import get_method
from test_l2_methods import context, tiny_model


def batch():
    return torch.rand(6, 1, 8, 8, generator=torch.Generator().manual_seed(0)), torch.tensor([0, 1, 2, 3, 0, 1])


def test_gloro_is_the_cross_entropy_of_logits_with_a_bottom_class_at_the_worst_reachable_logit():
    model, (x, y) = tiny_model(4), batch()
    method = get_method("gloro", {"power_iterations": 300})
    loss = method.loss(model, x, y, context(eps=0.3))
    with torch.no_grad():
        logits = model(x)
        constants = pairwise_constants(model, (1, 8, 8), "exact", "naive").float()
        bottom = torch.stack([max(logits[b, j] + 0.3 * constants[y[b], j] for j in range(4) if j != y[b])
                              for b in range(len(y))])
        expected = F.cross_entropy(torch.cat([logits, bottom[:, None]], 1), y)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-3)  # converged power iteration = exact norms
    loss.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())
    assert method.loss(model, x, y, context(ramp=0.0)).item() == pytest.approx(F.cross_entropy(model(x), y).item())


def test_crm_penalises_the_soft_radius_of_points_below_r0_only():
    model, (x, y) = tiny_model(5), batch()
    method = get_method("crm", {"power_iterations": 300, "radius": 1e9})  # every point below r0
    loss = method.loss(model, x, y, context())
    with torch.no_grad():
        logits = model(x)
        constants = pairwise_constants(model, (1, 8, 8), "exact", "liplt").float()
        soft = [-torch.logsumexp(torch.stack([-5 * (logits[b, y[b]] - logits[b, i]) / constants[y[b], i]
                                              for i in range(4) if i != y[b]]), 0) / 5 for b in range(len(y))]
        expected = F.cross_entropy(logits, y) - 15 * torch.stack(soft).sum() / len(y)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-3)
    loss.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())
    none_small = get_method("crm", {"radius": -math.inf}).loss(model, x, y, context())
    assert none_small.item() == pytest.approx(F.cross_entropy(model(x), y).item())


@pytest.mark.parametrize("name, bound", [("gloro", "pairwise_naive"), ("crm", "liplt")])
def test_each_method_is_certified_by_its_own_pairwise_margins_on_l2_balls(name, bound):
    method = get_method(name)
    assert method.certifiers == (bound,) and method.norms == ("l2",)
    model, (x, y) = tiny_model(6).eval(), batch()
    naive, liplt = (margin_bounds(model, x, y, 0.1, b, "l2") for b in ("pairwise_naive", "liplt"))
    assert (liplt >= naive - 1e-6).all()  # LipLT's constants never exceed the naive ones


def test_above_the_authors_class_limit_crm_bounds_pairs_by_the_last_layer_times_liplt_below_it():
    """The CRM code's rule for more than 101 classes, here forced with a limit of 3 on 4 classes."""
    from bench.bounds.liplt import linear_maps, liplt_bound
    model, (x, y) = tiny_model(5), batch()
    with torch.no_grad():
        apart = pairwise_constants(model, (1, 8, 8), "exact", "liplt", last_layer_apart=True)
        full = pairwise_constants(model, (1, 8, 8), "exact", "liplt")
        weight = model[-1].weight.double()
        below = liplt_bound(linear_maps(model, (1, 8, 8))[:-1], "exact")
        expected = (weight[:, None] - weight[None]).norm(dim=-1) * below
    assert torch.allclose(apart, expected) and (apart >= full - 1e-9).all() and (apart.diagonal() == 0).all()
    limited = get_method("crm", {"power_iterations": 300, "radius": 1e9, "pair_class_limit": 3})
    assert limited.loss(model, x, y, context()).item() != pytest.approx(
        get_method("crm", {"power_iterations": 300, "radius": 1e9}).loss(model, x, y, context()).item(), rel=1e-4)


def test_certificate_rows_go_in_memory_bounded_chunks_with_the_same_constants(monkeypatch):
    from bench.bounds import liplt
    model = tiny_model(6).eval()
    with torch.no_grad():
        whole = pairwise_constants(model, (1, 8, 8))
        monkeypatch.setattr(liplt, "ROWS_MEMORY", 1)  # one row per pass
        chunked = pairwise_constants(model, (1, 8, 8))
    assert torch.allclose(whole, chunked, rtol=1e-12) and torch.equal(whole, whole.T)


def test_certificate_constants_are_computed_once_per_state_of_the_weights():
    from bench.bounds.liplt import _certificate_constants
    model = tiny_model(7).eval()
    first = _certificate_constants(model, (1, 8, 8), "liplt")
    assert _certificate_constants(model, (1, 8, 8), "liplt") is first
    assert _certificate_constants(model, (1, 8, 8), "naive") is not first
    with torch.no_grad():
        model[-1].weight.mul_(2)   # in place, as an optimizer step
    again = _certificate_constants(model, (1, 8, 8), "liplt")
    assert torch.allclose(again, pairwise_constants(model, (1, 8, 8))) and not torch.allclose(again, first)
