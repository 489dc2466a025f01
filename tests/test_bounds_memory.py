"""CROWN / CAP intermediate bounds in chunks of neurons sized to a memory budget (bench.bounds.linear): any
budget gives the same bounds as one pass over every neuron, and a chunk never builds the whole identity."""
import pytest
import torch
from torch import nn

from bench.bounds import margin_bounds
from bench.bounds.linear import PASS_OVERHEAD, identity_rows, spec_chunk


@pytest.mark.parametrize("bound", ["crown", "cap"])
@pytest.mark.parametrize("norm, eps", [("linf", 0.05), ("l2", 0.3)])
def test_a_tiny_budget_forcing_many_chunks_gives_the_same_bounds(bound, norm, eps):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.Conv2d(3, 4, 3, stride=2, padding=1),
                          nn.ReLU(), nn.Flatten(), nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 10))
    x = torch.rand(3, 1, 8, 8)
    y = model(x).argmax(1)
    whole = margin_bounds(model, x, y, eps, bound, norm=norm, memory_budget=2**40)    # one pass per layer
    chunked = margin_bounds(model, x, y, eps, bound, norm=norm, memory_budget=1)      # one neuron per pass
    odd = margin_bounds(model, x, y, eps, bound, norm=norm, memory_budget=PASS_OVERHEAD * 3 * 2 * 192 * 4 * 7)
    assert torch.allclose(chunked, whole, atol=1e-6) and torch.allclose(odd, whole, atol=1e-6)


def test_chunks_are_sized_to_the_budget_and_the_widest_layer_on_the_way():
    shapes = [(3, 32, 32), (32, 32, 32), (32, 16, 16)]  # widest: 32768 values per point
    assert spec_chunk(1, shapes, 4, 2**30) == 2**30 // (PASS_OVERHEAD * 2 * 32768 * 4)
    assert spec_chunk(50, shapes, 4, 2**30) == 2**30 // (PASS_OVERHEAD * 50 * 2 * 32768 * 4)
    assert spec_chunk(50, shapes, 4, 1) == 1


def test_identity_rows_are_the_rows_of_the_identity():
    like = torch.zeros(1)
    assert torch.equal(identity_rows(3, 7, 10, like), torch.eye(10)[3:7])


def test_verification_passes_its_memory_setting_to_the_bounds(monkeypatch):
    import bench.verify

    seen = []
    monkeypatch.setattr(bench.verify, "margin_bounds",
                        lambda *args, **kwargs: seen.append(kwargs.get("memory_budget")) or torch.zeros(2, 10))
    model, x, y = nn.Sequential(nn.Flatten(), nn.Linear(4, 10)), torch.rand(2, 1, 2, 2), torch.tensor([0, 1])
    bench.verify.verify_batch(model, x, y, 0.1, ("crown",), "linf", None, memory_mb=3)
    bench.verify.verify_batch(model, x, y, 0.1, ("crown",), "linf", None)
    assert seen == [3 * 2**20, None]
