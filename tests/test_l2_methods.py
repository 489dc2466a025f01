"""LMT and BCP (bench.methods.lmt, bench.methods.bcp): their losses on tiny models, a resumed BCP run that ends with
the same bytes (its power-iteration vectors are checkpointed training state), and l2 PGD against BCP certificates."""
import math
import os
from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from bench.attacks import pgd
from bench.bounds import margin_bounds, worst_margin
from bench.bounds.lipschitz import POWER_VECTOR
from bench.data import load_dataset
from bench.data.registry import stack
from bench.io import load_checkpoint
from bench.methods import TrainContext, get_method
from bench.train import CHECKPOINT, FINAL, PREVIOUS, RunSpec, TrainSettings, load_trained, train
from bench.traces import restoring_buffers


def tiny_model(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 3, 3, stride=2, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(48, 8),
                         nn.ReLU(), nn.Linear(8, 4))


def context(ramp=1.0, eps=0.3):
    return TrainContext(epoch=0, epochs=1, generator=torch.Generator().manual_seed(0), eps=eps, ramp=ramp, norm="l2")


def test_lmt_raises_every_other_logit_by_sqrt2_l_eps_and_trains_every_weight():
    model = tiny_model()
    x, y = torch.rand(5, 1, 8, 8), torch.tensor([0, 1, 2, 3, 0])
    loss = get_method("lmt").loss(model, x, y, context())
    lipschitz = 1.0
    for layer in (model[0], model[3], model[5]):  # the estimates the loss used, from the vectors it stored
        v = getattr(layer, POWER_VECTOR)
        out = F.conv2d(v, layer.weight, None, layer.stride, layer.padding) if isinstance(layer, nn.Conv2d) \
            else v @ layer.weight.T
        lipschitz *= float(out.norm().detach())
    raised = model(x) + math.sqrt(2) * lipschitz * 0.3 * (1 - F.one_hot(y, 4))
    assert float(loss.detach()) == pytest.approx(float(F.cross_entropy(raised, y).detach()), rel=1e-5)
    loss.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


def test_bcp_is_cross_entropy_before_the_ramp_and_mixes_by_lambda_after_it():
    model, method = tiny_model(1), get_method("bcp", {"lam_end": 0.6, "iterations": 100, "power_iterations": 500})
    x, y = torch.rand(6, 1, 8, 8), torch.tensor([0, 1, 2, 3, 0, 1])
    before_ramp = method.loss(model, x, y, context(ramp=0.0)).item()
    assert before_ramp == pytest.approx(F.cross_entropy(model(x), y).item())
    half = method.loss(model, x, y, context(ramp=0.5))  # lambda 0.3, eps 0.15
    with torch.no_grad():
        mixed = 0.7 * F.cross_entropy(model(x), y) + 0.3 * F.cross_entropy(
            -margin_bounds(model, x, y, 0.15, "bcp", "l2"), y)
    # converged power iteration approaches each norm from below, so training margins >= the sound ones
    assert half.item() <= mixed.item() + 1e-5 and half.item() == pytest.approx(mixed.item(), rel=0.05)
    half.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


def test_measuring_a_loss_aside_never_moves_the_power_vectors():
    model = tiny_model(2)
    x, y = torch.rand(4, 1, 8, 8), torch.tensor([0, 1, 2, 3])
    restoring_buffers(model, lambda: get_method("lmt").loss(model, x, y, context()))
    assert not hasattr(model[0], POWER_VECTOR)  # created while measuring: removed again
    get_method("lmt").loss(model, x, y, context())
    before = getattr(model[0], POWER_VECTOR).clone()
    restoring_buffers(model, lambda: get_method("lmt").loss(model, x, y, context()))
    assert torch.equal(getattr(model[0], POWER_VECTOR), before)


BCP_RUN = RunSpec("digits_rgb8", "small", "bcp", seed=0, eps=36 / 255)
BCP_SETTINGS = TrainSettings(epochs=2, batch_size=256, lr=0.001, momentum=0.0, weight_decay=0.0, lr_step_epochs=100,
                             lr_gamma=0.5, optimizer="adam", warmup_epochs=0, rampup_epochs=1, normalize=False,
                             norm="l2")


def test_a_resumed_bcp_run_ends_with_the_same_bytes_because_its_power_vectors_are_checkpointed(tmp_path):
    uninterrupted = train(BCP_RUN, BCP_SETTINGS, tmp_path / "full", progress=False).read_bytes()
    vectors = load_checkpoint(tmp_path / "full" / CHECKPOINT)["buffers"]
    assert vectors and all(name.endswith(POWER_VECTOR) for name in vectors)
    assert POWER_VECTOR not in " ".join(torch.load(tmp_path / "full" / FINAL, weights_only=True)["state_dict"])

    for kept, same in ((True, True), (False, False)):  # the check can fail: without the vectors, other bytes
        run_dir = tmp_path / f"resumed_{kept}"
        train(BCP_RUN, BCP_SETTINGS, run_dir, progress=False)
        os.replace(run_dir / PREVIOUS, run_dir / CHECKPOINT)  # as if killed after epoch 1
        (run_dir / FINAL).unlink()
        if not kept:
            state = load_checkpoint(run_dir / CHECKPOINT)
            del state["buffers"]
            torch.save(state, run_dir / CHECKPOINT)
        assert (train(BCP_RUN, BCP_SETTINGS, run_dir, progress=False).read_bytes() == uninterrupted) == same


def test_an_lmt_run_on_linf_balls_is_refused(tmp_path):
    with pytest.raises(ValueError, match="'lmt' trains against l2 balls only"):
        train(replace(BCP_RUN, method="lmt"), replace(BCP_SETTINGS, norm="linf"), tmp_path, progress=False)


def test_l2_pgd_never_breaks_a_point_bcp_local_bcp_liplt_or_lmt_certifies(tmp_path):
    model, _ = load_trained(train(BCP_RUN, replace(BCP_SETTINGS, epochs=4, rampup_epochs=2), tmp_path, progress=False))
    x, y = stack(load_dataset("digits_rgb8", "test"), range(200))
    generator = torch.Generator().manual_seed(0)
    for eps in (0.1, 36 / 255, 0.3):
        adv = pgd(model, x, y, eps, 50, eps / 4, "l2", generator)
        assert (adv - x).flatten(1).norm(dim=1).max() <= eps + 1e-5
        with torch.no_grad():
            broken = model(adv).argmax(1) != y
            for name in ("bcp", "local_bcp", "liplt", "lipschitz_l2"):
                certified = worst_margin(margin_bounds(model, x, y, eps, name, "l2"), y) > 0
                assert not (certified & broken).any(), name
                if name == "bcp" and eps == 0.1:
                    assert certified.sum() > 40, "too few certified points for the check to mean anything"
    assert broken.sum() > 20, "l2 PGD at eps 0.3 should break many points of a briefly trained model"
