"""Shrink & Cert (bench.methods.sac): the bi-level steps of sac eqs. 3-4 and the shrunk model that is saved."""
import pandas as pd
import pytest
import torch
from torch import nn

import bench.train
from bench.bounds.lipschitz import layer_norms
from bench.io import load_checkpoint
from bench.methods import TrainContext, get_method
from bench.methods.sac import SaC, masks
from bench.train import CHECKPOINT, LIPSCHITZ, RunSpec, TrainSettings, upper_step, load_trained, make_optimizer, train


def tiny(alpha=0.3):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(48, 4))
    method = SaC(alpha=alpha, mask_lr=5.0)  # a large step, so that the projection has work to do
    method.initialize(model)
    x, y = torch.rand(8, 1, 4, 4), torch.randint(0, 4, (8,))
    return model, method, x, y


def context():
    return TrainContext(0, 1, torch.Generator().manual_seed(0), sigma=0.25)


def test_masks_start_inside_the_box_on_every_weight():
    model, method, _, _ = tiny()
    assert len(masks(model)) == 2
    for mask in masks(model):
        assert bool((mask >= 0).all() and (mask <= 0.3).all())  # alpha in the masks' float32


def test_lower_step_trains_theta_and_leaves_s_unchanged():
    model, method, x, y = tiny()
    optimizer, _ = make_optimizer(model, TrainSettings(1, 8, 0.5, 0.9, 0.0, 1, 1.0), exclude=masks(model))
    before = [mask.detach().clone() for mask in masks(model)]
    theta = model[0].parametrizations.weight.original.detach().clone()
    optimizer.zero_grad()
    method.loss(model, x, y, context()).backward()
    optimizer.step()
    assert all(torch.equal(a, b) for a, b in zip(before, masks(model)))
    assert not torch.equal(theta, model[0].parametrizations.weight.original)


def testupper_step_moves_s_keeps_it_in_0_alpha_and_leaves_theta_unchanged():
    model, method, x, y = tiny(alpha=0.2)
    upper, _ = method.upper_optimizer(masks(model), TrainSettings(1, 8, 0.1, 0.9, 0.0, 1, 1.0))
    theta = [p.detach().clone() for n, p in model.named_parameters() if "mask" not in n]
    before = [mask.detach().clone() for mask in masks(model)]
    for _ in range(5):
        assert upper_step(method, model, (x, y), context(), upper, "cpu") == 0
        for mask in masks(model):
            assert bool((mask >= 0).all() and (mask <= 0.2).all())
    assert not all(torch.equal(a, b) for a, b in zip(before, masks(model)))
    assert any(bool((mask == 0.2).any() or (mask == 0).any()) for mask in masks(model))  # the clamp acted
    assert all(torch.equal(a, p) for a, p in zip(theta, [p for n, p in model.named_parameters() if "mask" not in n]))


def test_the_saved_network_is_the_shrunk_one():
    model, method, x, y = tiny()
    with torch.no_grad():
        shrunk = model(x)
        weight = model[0].parametrizations.weight.original * masks(model)[0]
    method.finalize(model)
    assert set(model.state_dict()) == {"0.weight", "0.bias", "3.weight", "3.bias"}
    assert torch.equal(model[0].weight.detach(), weight)
    assert torch.allclose(model(x), shrunk)


@pytest.mark.parametrize("alpha", [0.0, 1.0, -0.1, 1.5])
def test_alpha_outside_0_1_is_refused(alpha):
    with pytest.raises(ValueError, match="alpha"):
        get_method("sac", {"alpha": alpha})


def test_a_variant_name_fixes_alpha_over_the_protocol_options_and_keeps_the_rest():
    method = get_method("sac_linf-alpha0.05", {"alpha": 0.2, "mask_lr": 0.01})
    assert (method.alpha, method.mask_lr, method.family) == (0.05, 0.01, "linf")
    with pytest.raises(ValueError, match="alpha"):
        get_method("sac_linf-alpha1.5")
    with pytest.raises(ValueError, match="no option"):
        get_method("sac_linf-beta0.5")
    with pytest.raises(KeyError, match="unknown method 'sack'"):
        get_method("sack-alpha0.5")


def test_training_logs_per_layer_norms_of_the_shrunk_weights_and_resumes_to_the_same_bytes(tmp_path, monkeypatch):
    run = RunSpec("digits_as_cifar10", "cnn_small", "sac", seed=1, sigma=0.25)
    settings = TrainSettings(epochs=2, batch_size=64, lr=0.05, momentum=0.9, weight_decay=1e-4, lr_step_epochs=1,
                             lr_gamma=0.5, log_lipschitz=True, options={"alpha": 0.2})
    path = train(run, settings, tmp_path / "a", progress=False)
    norms = pd.read_csv(tmp_path / "a" / LIPSCHITZ)
    assert list(norms.epoch.unique()) == [1, 2] and list(norms.kind[:4]) == ["conv", "conv", "linear", "linear"]
    model, _ = load_trained(path)  # plain layers: the masks are baked in
    assert not any("mask" in name for name in model.state_dict())
    assert (norms.norm > 0).all()
    calls = []

    def interrupted(*args, **kwargs):  # dies in epoch 2, after epoch 1's checkpoint (masks, both optimizers)
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return layer_norms(*args, **kwargs)

    monkeypatch.setattr(bench.train, "layer_norms", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train(run, settings, tmp_path / "b", progress=False)
    monkeypatch.undo()
    assert load_checkpoint(tmp_path / "b" / CHECKPOINT)["epoch"] == 1
    resumed = train(run, settings, tmp_path / "b", progress=False)
    assert resumed.read_bytes() == path.read_bytes()
    assert (tmp_path / "b" / LIPSCHITZ).read_bytes() == (tmp_path / "a" / LIPSCHITZ).read_bytes()


def test_the_linf_variant_trains_on_cross_entropy_and_is_certified_from_its_margin():
    method = get_method("sac_linf")
    assert (method.family, method.certifiers, method.alpha) == ("linf", ("lipschitz",), 0.20)
    model, _, x, y = tiny()
    ctx = TrainContext(0, 1, torch.Generator().manual_seed(0), eps=8 / 255)
    assert torch.equal(method.loss(model, x, y, ctx), nn.functional.cross_entropy(model(x), y))
    with pytest.raises(ValueError, match="no base loss"):
        get_method("sac", {"base": "macer"}).loss(model, x, y, context())
