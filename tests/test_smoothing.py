"""CERTIFY and PREDICT of Cohen et al. on base classifiers whose behaviour is known exactly."""
from statistics import NormalDist

import pytest
import torch
from scipy.stats import binomtest
from torch import nn

from bench.smoothing import ABSTAIN, Certificate, Smooth, certified_radius, clopper_pearson_lower

PHI_INV = NormalDist().inv_cdf


def one_hot(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    return nn.functional.one_hot(labels, num_classes).float()


class SplitBatch(nn.Module):
    """Class 0 for the first ``fraction`` of every 100 draws of a batch, class 1 for the rest: counts of any
    multiple of 100 draws are exact, however CERTIFY batches them (its n0 = 100 selection draws lead the first)."""

    def __init__(self, fraction: float):
        super().__init__()
        self.fraction = fraction

    def forward(self, x):
        return one_hot((torch.arange(len(x)) % 100 >= round(self.fraction * 100)).long(), 3)


class Threshold(nn.Module):
    """Class 0 iff the first input coordinate is below ``t``: under N(0, sigma^2) noise at x = 0,
    P(class 0) = Phi(t / sigma) exactly."""

    def __init__(self, t: float):
        super().__init__()
        self.t = t

    def forward(self, x):
        return one_hot((x[:, 0] >= self.t).long(), 2)


def generator(seed=0):
    return torch.Generator().manual_seed(seed)


def test_constant_classifier_gets_closed_form_radius():
    sigma, n, alpha = 0.5, 1000, 0.001
    cert = Smooth(SplitBatch(1.0), 3, sigma).certify(torch.zeros(2), 100, n, alpha, 250, generator())
    # all n draws agree: the one-sided Clopper-Pearson bound solves p^n = alpha
    assert cert.prediction == 0
    assert cert.pa_lower == pytest.approx(alpha ** (1 / n), abs=1e-12)
    assert cert.radius == pytest.approx(sigma * PHI_INV(alpha ** (1 / n)), abs=1e-9)


@pytest.mark.parametrize("fraction", [0.6, 0.7, 0.95])
def test_radius_is_sigma_times_inverse_phi_of_exact_lower_bound(fraction):
    sigma, n, alpha = 0.25, 1000, 0.001
    cert = Smooth(SplitBatch(fraction), 3, sigma).certify(torch.zeros(2), 100, n, alpha, n, generator())
    count = round(fraction * n)
    # scipy's two-sided exact interval at level 1 - 2 alpha has the one-sided alpha lower bound as its low end
    expected = binomtest(count, n).proportion_ci(confidence_level=1 - 2 * alpha, method="exact").low
    assert cert.prediction == 0
    assert cert.pa_lower == pytest.approx(expected, rel=1e-9)
    assert cert.radius == pytest.approx(sigma * PHI_INV(expected), rel=1e-9)


@pytest.mark.parametrize("fraction", [0.5, 0.52])
def test_abstains_when_lower_bound_below_half(fraction):
    cert = Smooth(SplitBatch(fraction), 3, 0.5).certify(torch.zeros(2), 100, 1000, 0.001, 1000, generator())
    assert cert.pa_lower < 0.5
    assert (cert.prediction, cert.radius) == (ABSTAIN, 0.0)


def test_clopper_pearson_edges():
    assert clopper_pearson_lower(0, 10, 0.05) == 0.0
    assert clopper_pearson_lower(10, 10, 0.05) == pytest.approx(0.05 ** 0.1)
    assert certified_radius(0.5, 1.0) == 0.0


def wrong_certificate_rate(certify, trials: int, true_pa: float, sigma: float) -> float:
    """How often a certificate is wrong: it names another class, or claims more than the true radius."""
    true_radius = sigma * PHI_INV(true_pa)
    wrong = 0
    for trial in range(trials):
        prediction, radius = certify(generator(trial))
        wrong += prediction not in (0, ABSTAIN) or (prediction == 0 and radius > true_radius + 1e-12)
    return wrong / trials


@pytest.mark.parametrize("true_pa", [0.5, 0.7])
def test_monte_carlo_certificates_are_wrong_at_most_alpha_of_the_time(true_pa):
    """Cohen et al., Prop. 2: CERTIFY's answer is wrong with probability at most alpha.

    At true_pa = 0.5 the smoothed classifier is a coin flip, so any certificate at all is wrong.
    """
    sigma, alpha, n, trials = 1.0, 0.1, 100, 1000
    smoothed = Smooth(Threshold(sigma * PHI_INV(true_pa)), 2, sigma)

    def cohen(gen):
        cert = smoothed.certify(torch.zeros(1), 10, n, alpha, n, gen)
        return cert.prediction, cert.radius

    def point_estimate(gen):  # a deliberately unsound certifier: p_A estimated, not bounded
        guess = int(smoothed.sample_counts(torch.zeros(1), 10, n, gen).argmax())
        pa_hat = min(int(smoothed.sample_counts(torch.zeros(1), n, n, gen)[guess]) / n, 1 - 1e-6)
        return (guess, certified_radius(pa_hat, sigma)) if pa_hat > 0.5 else (ABSTAIN, 0.0)

    tolerance = 3 * (alpha * (1 - alpha) / trials) ** 0.5
    assert wrong_certificate_rate(cohen, trials, true_pa, sigma) <= alpha + tolerance
    # the check has power: the unsound certifier is caught
    assert wrong_certificate_rate(point_estimate, trials, true_pa, sigma) > alpha + tolerance


def test_predict_returns_the_wrong_class_at_most_alpha_of_the_time():
    sigma, alpha, n, trials = 1.0, 0.1, 200, 1000
    smoothed = Smooth(Threshold(sigma * PHI_INV(0.55)), 2, sigma)
    predictions = [smoothed.predict(torch.zeros(1), n, alpha, n, generator(t)) for t in range(trials)]
    wrong = sum(p == 1 for p in predictions) / trials
    assert wrong <= alpha + 3 * (alpha * (1 - alpha) / trials) ** 0.5
    assert ABSTAIN in predictions and 0 in predictions


def test_certify_is_deterministic_given_the_generator():
    smoothed = Smooth(Threshold(0.3), 2, 0.5)
    first = smoothed.certify(torch.zeros(1), 50, 500, 0.01, 128, generator(7))
    assert smoothed.certify(torch.zeros(1), 50, 500, 0.01, 128, generator(7)) == first


def test_predict_draws_its_noise_from_the_callers_generator():
    smoothed = Smooth(Threshold(0.0), 2, 1.0)  # P(class 0) = 1/2: every answer depends on the draws
    answers = []
    for global_seed in (1, 2):
        torch.manual_seed(global_seed)  # the global generator must not matter
        answers.append([smoothed.predict(torch.zeros(1), 60, 0.5, 60, generator(t)) for t in range(20)])
    assert answers[0] == answers[1] and len(set(answers[0])) > 1


def test_certify_draws_its_guess_and_its_estimate_from_the_callers_generator():
    smoothed = Smooth(Threshold(0.0), 2, 1.0)  # P(class 0) = 1/2: the guess, hence p_A's bound, depends on draws
    answers = []
    for global_seed in (1, 2):
        torch.manual_seed(global_seed)  # the global generator must not matter
        answers.append([smoothed.certify(torch.zeros(1), 9, 60, 0.5, 60, generator(t)) for t in range(20)])
    assert answers[0] == answers[1] and len({a.pa_lower for a in answers[0]}) > 1


def test_predict_abstains_only_when_the_tie_p_value_exceeds_alpha():
    """Cohen et al.: abstain iff the two-sided binomial p-value of (count_a, count_b) is > alpha. A constant
    classifier gives counts (n, 0) and p-value 2 * 2^-n; at alpha equal to it, PREDICT answers."""
    n, smoothed = 10, Smooth(SplitBatch(1.0), 3, 0.5)
    pvalue = binomtest(n, n, 0.5).pvalue
    assert smoothed.predict(torch.zeros(2), n, pvalue, n, generator()) == 0
    assert smoothed.predict(torch.zeros(2), n, pvalue * (1 - 1e-9), n, generator()) == ABSTAIN


def test_certify_abstains_below_one_half_and_certifies_radius_zero_at_exactly_one_half(monkeypatch):
    import bench.smoothing as smoothing

    smoothed = Smooth(SplitBatch(1.0), 3, 0.5)
    for pa_lower, expected in [(0.5, Certificate(0, 0.0, 0.5)), (0.4999, Certificate(ABSTAIN, 0.0, 0.4999))]:
        monkeypatch.setattr(smoothing, "clopper_pearson_lower", lambda *args, bound=pa_lower: bound)
        assert smoothed.certify(torch.zeros(2), 10, 100, 0.001, 50, generator()) == expected


def test_certify_and_predict_run_the_base_classifier_in_eval_mode():
    torch.manual_seed(0)
    base = nn.Sequential(nn.Flatten(), nn.Linear(4, 3), nn.BatchNorm1d(3)).train()
    smooth, x = Smooth(base, 3, 0.5), torch.rand(1, 2, 2)
    stats = base[2].running_mean.clone()
    smooth.certify(x, 10, 50, 0.001, 25, torch.Generator().manual_seed(0))
    assert not base.training and torch.equal(base[2].running_mean, stats)
    base.train()
    smooth.predict(x, 50, 0.001, 25, torch.Generator().manual_seed(0))
    assert not base.training and torch.equal(base[2].running_mean, stats)


def test_the_selection_draws_ride_in_the_first_batch_and_are_counted_apart():
    class Recording(SplitBatch):
        def forward(self, x):
            sizes.append(len(x))
            return super().forward(x)

    sizes = []
    selection, estimation = Smooth(Recording(0.7), 3, 0.5).selection_and_estimation_counts(
        torch.zeros(2), 100, 1000, 400, generator())
    assert sizes == [500, 400, 200]  # n0 + one batch, then batches of 400: no launch for the 100 selection draws
    assert selection.tolist() == [70, 30, 0] and estimation.tolist() == [700, 300, 0]
