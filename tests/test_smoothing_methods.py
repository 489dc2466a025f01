"""Training losses of the smoothing family (Cohen, SmoothAdv, MACER, Consistency) on tiny models."""
import math

import pytest
import torch
from torch import nn

from bench.attacks import smoothed_pgd_l2
from bench.methods import TrainContext, get_method
from bench.methods.cohen import gaussian_augmentation_loss
from bench.methods.macer import MACER
from bench.methods.noise import gaussian_noise

SMOOTHING = ["cohen", "smoothadv", "macer", "consistency"]


def generator(seed):
    return torch.Generator().manual_seed(seed)


def tiny():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 8), nn.ReLU(), nn.Linear(8, 3)).double()
    x = torch.rand(6, 3, 2, 2, dtype=torch.float64)
    return model, x, torch.tensor([0, 1, 2, 0, 1, 2])


def context(seed=3, sigma=0.25, epoch=20):
    return TrainContext(epoch, 30, generator(seed), sigma=sigma)


def test_gaussian_augmentation_loss_is_cross_entropy_at_x_plus_sigma_times_seeded_noise():
    model, x, y = tiny()
    torch.manual_seed(1)  # the global generator must not matter
    got = gaussian_augmentation_loss(model, x, y, 0.25, generator(3))
    noise = torch.randn(x.shape, generator=generator(3), dtype=torch.float64)
    assert torch.equal(got, nn.functional.cross_entropy(model(x + 0.25 * noise), y))


@pytest.mark.parametrize("name", SMOOTHING)
def test_loss_reaches_every_parameter_and_repeats_with_the_generator(name):
    model, x, y = tiny()
    method = get_method(name, {"m": 2, "steps": 2} if name == "smoothadv" else
                        {"k": 4, "gamma": 8.0, "beta": 1.0} if name == "macer" else None)
    torch.manual_seed(7)
    loss = method.loss(model, x, y, context())
    assert torch.isfinite(loss)
    loss.backward()
    for parameter in model.parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0
    assert torch.equal(loss.detach(), method.loss(model, x, y, context()).detach())
    assert not torch.equal(loss.detach(), method.loss(model, x, y, context(seed=4)).detach())


@pytest.mark.parametrize("name", SMOOTHING)
def test_loss_needs_a_sigma(name):
    model, x, y = tiny()
    with pytest.raises(ValueError, match=name):
        get_method(name).loss(model, x, y, context(sigma=None))


def test_options_replace_the_papers_defaults_and_unknown_ones_are_refused():
    assert get_method("smoothadv", {"m": 8, "eps": 1.0}).m == 8
    assert get_method("smoothadv").m == 1  # the registry's instance is not changed
    with pytest.raises(ValueError, match="no option"):
        get_method("macer", {"m": 2})
    with pytest.raises(ValueError, match="options: none"):
        get_method("cohen", {"m": 2})


def smoothed_nll(model, x, y, noise):
    copies = len(noise) // len(x)
    soft = torch.softmax(model(x.repeat_interleave(copies, 0) + noise), 1).view(len(x), copies, -1).mean(1)
    return -soft.gather(1, y[:, None]).log().squeeze(1)


@pytest.mark.parametrize("eps,steps", [(0.25, 1), (0.5, 4), (2.0, 10)])
def test_smoothadv_attack_stays_in_its_l2_ball_and_the_domain_and_raises_the_smoothed_loss(eps, steps):
    model, x, y = tiny()
    noise = gaussian_noise(x, 0.25, 4, generator(1))
    adv = smoothed_pgd_l2(model, x, y, noise, eps, steps)
    assert float((adv - x).flatten(1).norm(dim=1).max()) <= eps * (1 + 1e-9)
    assert adv.min() >= 0 and adv.max() <= 1
    assert (smoothed_nll(model, adv, y, noise) > smoothed_nll(model, x, y, noise)).all()
    assert model.training  # the attack restores the mode it found


def test_smoothadv_warms_its_radius_up_linearly():
    method = get_method("smoothadv", {"eps": 1.0, "warmup_epochs": 4})
    assert [method.attack_eps(epoch) for epoch in range(6)] == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]
    assert get_method("smoothadv", {"eps": 1.0, "warmup_epochs": 0}).attack_eps(0) == 1.0


def test_macer_radius_term_is_zero_where_the_smoothed_classifier_is_wrong():
    macer = MACER(k=2, gamma=8.0, beta=1.0)
    logits = torch.tensor([[[2.0, 0.0, 0.0], [2.0, 0.0, 0.0]],     # top class 0
                           [[0.0, 3.0, 0.0], [0.0, 3.0, 0.0]]])    # top class 1
    soft = torch.softmax(logits[0, 0], 0).sort(descending=True).values
    normal = torch.distributions.Normal(0.0, 1.0)
    gap = float(normal.icdf(soft[0]) - normal.icdf(soft[1]))
    hinge = macer.radius_hinge(logits, torch.tensor([0, 0]))
    assert float(hinge[0]) == pytest.approx(8.0 - gap, rel=1e-5)  # right: gamma - radius gap
    assert float(hinge[1]) == 0.0  # wrong: no radius term
    assert float(MACER(k=2, gamma=0.1, beta=1.0).radius_hinge(logits, torch.tensor([0, 1]))[0]) == 0.0  # gap > gamma


@torch.no_grad()
def test_consistency_terms_vanish_without_noise_as_the_formula_says():
    model, x, y = tiny()
    method = get_method("consistency", {"m": 3, "lam": 5.0, "eta": 0.0})
    clean = nn.functional.cross_entropy(model(x), y)
    assert float(method.loss(model, x, y, context(sigma=0.0))) == pytest.approx(float(clean), rel=1e-12)
    soft = torch.softmax(model(x), 1)
    entropy = float(-(soft * soft.log()).sum(1).mean())
    with_entropy = get_method("consistency", {"m": 3, "lam": 5.0, "eta": 2.0}).loss(model, x, y, context(sigma=0.0))
    assert float(with_entropy) == pytest.approx(float(clean) + 2 * entropy, rel=1e-12)
    noisy = get_method("consistency", {"m": 3, "lam": 5.0, "eta": 0.0}).loss(model, x, y, context(sigma=0.5))
    plain = get_method("consistency", {"m": 3, "lam": 0.0, "eta": 0.0}).loss(model, x, y, context(sigma=0.5))
    assert float(noisy) > float(plain)  # KL(mean || p_i) > 0 once the draws differ
    assert not math.isnan(float(noisy))


def test_macer_gradient_stays_finite_when_a_probability_is_exactly_one():
    macer = MACER(k=2, gamma=8.0, beta=1.0)
    logits = torch.tensor([[[200.0, 0.0, 0.0], [200.0, 0.0, 0.0]], [[1.0, 0.0, 0.0], [0.5, 0.0, 0.0]]],
                          requires_grad=True)
    hinge = macer.radius_hinge(logits, torch.tensor([0, 0]))
    values = hinge.detach()
    assert values[0].item() == 0.0 and values[1].item() > 0  # p1 = 1: infinite gap, out of the hinge set
    hinge.sum().backward()
    assert torch.isfinite(logits.grad).all() and logits.grad[1].abs().sum() > 0
