"""PGD never breaks a point the suite certified, and it is strong enough that this check means something."""
import torch

from bench.attacks import pgd
from bench.bounds import BOUNDS, margin_bounds, worst_margin
from bench.methods import TrainContext, get_method
from bench.models import build_model
from bench.data import dataset_spec, load_dataset
from bench.data.registry import stack


def briefly_trained_model(method="ibp"):
    """A Small net trained a few epochs (IBP at eps 0.05 by default) on the offline digits."""
    torch.manual_seed(0)
    model = build_model("small", dataset_spec("digits"))
    train = load_dataset("digits", "train")
    x, y = stack(train, range(len(train)))
    optimizer = torch.optim.Adam(model.parameters(), 1e-3)
    generator = torch.Generator().manual_seed(0)
    for epoch in range(6):
        for start in range(0, len(x), 64):
            ctx = TrainContext(epoch, 6, generator, eps=0.05, ramp=min(1.0, epoch / 3))
            loss = get_method(method).loss(model, x[start:start + 64], y[start:start + 64], ctx)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model.eval()


def test_pgd_never_breaks_a_certified_point():
    model = briefly_trained_model()
    test = load_dataset("digits", "test")
    x, y = stack(test, range(200))
    generator = torch.Generator().manual_seed(0)
    for eps in (0.03, 0.1):
        adv = pgd(model, x, y, eps, steps=50, generator=generator)
        assert (adv - x).abs().max() <= eps + 1e-6 and adv.min() >= 0 and adv.max() <= 1
        with torch.no_grad():
            broken = model(adv).argmax(1) != y
        for name in BOUNDS:
            with torch.no_grad():
                certified = worst_margin(margin_bounds(model, x, y, eps, name, generator=generator), y) > 0
            assert not (certified & broken).any(), name
        if eps == 0.03:
            assert certified.sum() > 20, "too few certified points for the check to mean anything"
    assert broken.sum() > 20, "PGD at eps 0.1 should break many points of a briefly trained model"


def test_pgd_beats_random_noise_and_respects_l2_ball():
    model = briefly_trained_model("standard")
    x, y = stack(load_dataset("digits", "test"), range(100))
    generator = torch.Generator().manual_seed(1)
    noise = (x + (torch.rand(x.shape, generator=generator) * 2 - 1) * 0.1).clamp(0, 1)
    adv = pgd(model, x, y, 0.1, steps=20, generator=generator)
    with torch.no_grad():
        assert (model(adv).argmax(1) != y).sum() > (model(noise).argmax(1) != y).sum()
    adv2 = pgd(model, x, y, 1.0, steps=20, norm="l2", generator=generator)
    assert (adv2 - x).flatten(1).norm(dim=1).max() <= 1.0 + 1e-5
