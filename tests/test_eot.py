"""EOT attacks on randomized networks (thesis sec. 2.2.2, 2.2.4): the measuring instrument of Tables 2.1, A.2-A.5."""
import torch
from torch import nn

from bench.attacks import ensemble_predict, eot_fgsm, pgd
from bench.models.randomized import Bayesian, sampling


class Recorder(nn.Module):
    """Passes inputs to ``model`` and keeps every one it is asked about: what the attack evaluated, step by step."""

    def __init__(self, model):
        super().__init__()
        self.model, self.seen = model, []

    def forward(self, x):
        self.seen.append(x.detach().clone())
        return self.model(x)


def noisy_linear(seed=0, sigma=0.5):
    """A linear classifier on 8x8 images whose weights are drawn anew at every pass: its input gradient is a
    noisy estimate of the mean one, the case EOT exists for."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), Bayesian(nn.Linear(64, 10), sigma))


def test_eot_pgd_with_one_sample_on_a_deterministic_model_is_plain_pgd():
    torch.manual_seed(0)
    model, x, y = nn.Sequential(nn.Flatten(), nn.Linear(64, 10)), torch.rand(16, 1, 8, 8), torch.arange(16) % 10
    plain = pgd(model, x, y, 0.1, steps=20, generator=torch.Generator().manual_seed(3))
    eot = pgd(model, x, y, 0.1, steps=20, generator=torch.Generator().manual_seed(3), samples=1)
    assert torch.equal(plain, eot) and not torch.equal(plain, x)


def test_every_iterate_of_eot_pgd_and_eot_fgsm_stays_in_its_ball_and_the_domain():
    recorder, x, y = Recorder(noisy_linear()), torch.rand(8, 1, 8, 8), torch.arange(8)
    for norm, eps in (("linf", 0.1), ("l2", 0.5)):
        for attack in (lambda: pgd(recorder, x, y, eps, 20, eps / 4, norm, torch.Generator().manual_seed(0),
                                   samples=5),
                       lambda: eot_fgsm(recorder, x, y, eps, samples=5, norm=norm)):
            recorder.seen.clear()
            with sampling(recorder, torch.Generator().manual_seed(0)):
                adv = attack()
            for point in [*recorder.seen, adv]:
                distance = (point - x).flatten(1).abs().amax(1) if norm == "linf" else (point - x).flatten(1).norm(dim=1)
                assert (distance <= eps + 1e-6).all() and point.min() >= 0 and point.max() <= 1
            assert len(recorder.seen) in (21 * 5, 2 * 5)  # samples per step: each step draws n sample models


def expected_loss(model, x, y, draws=200):
    """The mean cross-entropy over ``draws`` fresh sample models: what EOT's attacker maximises."""
    with torch.no_grad(), sampling(model, torch.Generator().manual_seed(99)):
        return sum(nn.functional.cross_entropy(model(x), y) for _ in range(draws)).item() / draws


def test_more_gradient_samples_never_give_a_weaker_attack_on_a_fixed_subset():
    """Thesis fig. A.5 and Table 2.1 order the attacks by n; on this noisy classifier the expected loss reached by
    EOT-PGD (eps 0.1, 10 steps of eps / 4) grows with n: 7.52 / 7.58 / 7.80 / 7.84 at n = 1 / 5 / 10 / 20 (7.37
    unattacked). Were the samples ignored, every n would reach the same loss."""
    model, x, y = noisy_linear(sigma=1.0), torch.rand(64, 1, 8, 8), torch.arange(64) % 10
    losses = []
    for n in (1, 5, 10, 20):
        with sampling(model, torch.Generator().manual_seed(n)):
            adv = pgd(model, x, y, 0.1, 10, 0.025, "linf", torch.Generator().manual_seed(0), samples=n)
        losses.append(expected_loss(model, adv, y))
    assert losses == sorted(losses) and losses[-1] > losses[0] + 0.03, losses
    assert expected_loss(model, x, y) < losses[0]


def test_the_ensemble_predicts_the_class_of_the_mean_softmax_and_a_deterministic_model_as_itself():
    torch.manual_seed(0)
    plain, x = nn.Sequential(nn.Flatten(), nn.Linear(64, 10)), torch.rand(32, 1, 8, 8)
    assert torch.equal(ensemble_predict(plain, x, members=20), plain(x).argmax(1))
    model = noisy_linear(sigma=1.0)
    with sampling(model, torch.Generator().manual_seed(0)):
        single, votes = ensemble_predict(model, x, members=1), ensemble_predict(model, x, members=20)
    with torch.no_grad(), sampling(model, torch.Generator().manual_seed(0)):
        model(x)  # the single member's draw
        mean_softmax = torch.stack([model(x).softmax(1) for _ in range(20)]).mean(0)
    assert torch.equal(votes, mean_softmax.argmax(1)) and not torch.equal(votes, single)


def trained(tmp_path, method, **options):
    from bench.train import RunSpec, TrainSettings, train

    settings = TrainSettings(epochs=1, batch_size=256, lr=1e-3, momentum=0.0, weight_decay=0.0, optimizer="adam",
                             lr_step_epochs=10, lr_gamma=1.0, augment="none", normalize=False, options=options)
    return train(RunSpec("digits", "small", method, seed=0, eps=0.1), settings, tmp_path / method, progress=False)


def test_the_evaluation_writes_one_row_per_point_and_radius_and_refuses_n_on_a_deterministic_net(tmp_path):
    import pytest

    from bench.eot import EOTSettings, evaluate_eot, parse_attack
    from bench.io import read_rows

    settings = EOTSettings(steps=3, members=4, batch_size=16, skip=20, max_points=None)
    out = tmp_path / "rse.tsv"
    frame = evaluate_eot(trained(tmp_path, "rse"), "pgd_n2", [0.0, 0.3], settings, out, progress=False)
    rows, provenance = read_rows(out)
    assert len(rows) == 2 * 20 and set(rows["eps"]) == {0.0, 0.3} and (provenance["members"], provenance["samples"]) == (4, 2)
    accuracy = frame.groupby("eps")["robust"].mean()
    assert accuracy[0.3] < accuracy[0.0]  # a large ball: the attack must bite
    with pytest.raises(ValueError, match="one gradient sample"):
        evaluate_eot(trained(tmp_path, "standard"), "fgsm_n20", [0.1], settings, tmp_path / "s.tsv", progress=False)
    with pytest.raises(ValueError, match="unknown EOT attack"):
        parse_attack("cw_n5")
