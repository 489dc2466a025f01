"""The randomized-smoothing table: intervals, differences only where the paper's setting ran, radii no run
can certify, collapsed models; and the shared cell arithmetic."""
import pandas as pd
import pytest

from bench.reference import reference_table
from bench.report.cells import Measured, collapse_reason, format_cell
from bench.report.smoothing_table import MeasuredRun, build_smoothing_table, max_radius_factor

TRAINING = {"epochs": 2, "batch_size": 64, "lr": 0.05, "momentum": 0.9, "weight_decay": 0.0, "lr_step_epochs": 10,
            "lr_gamma": 0.1}


def measured_run(sigma, radii, labels, predictions, dataset="digits_as_cifar10", model="cnn_small", n=2000):
    frame = pd.DataFrame({"idx": range(len(radii)), "label": labels, "predict": predictions,
                          "radius": radii, "correct": [int(p == y) for p, y in zip(predictions, labels)]})
    provenance = {"run": {"dataset": dataset, "model": model}, "num_classes": 10, "num_points": len(frame),
                  "num_test": 400, "skip": 4, "n0": 100, "n": n, "alpha": 0.001, "seed": 0, "training": TRAINING,
                  "trained_on": "cpu", "certified_on": "cpu"}
    return MeasuredRun("cohen", sigma, frame, provenance)


def cohen_row(markdown, sigma):
    line = next(line for line in markdown.splitlines() if line.startswith(f"| {sigma} ") and "Cohen" in line)
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def test_clopper_pearson_interval_known_values():
    assert Measured(0, 10).interval() == pytest.approx((0.0, 0.30850), abs=1e-5)
    assert Measured(10, 10).interval() == pytest.approx((0.69150, 1.0), abs=1e-5)
    assert Measured(5, 10).interval() == pytest.approx((0.18709, 0.81291), abs=1e-5)


def test_cells_show_the_difference_only_when_comparable():
    assert format_cell(0.75, Measured(8, 10), comparable=True) == "0.75 / 0.80 [0.44, 0.97] (+0.05)"
    assert format_cell(0.75, Measured(8, 10)) == "0.75 / 0.80 [0.44, 0.97]"
    assert format_cell(20.0, Measured(8, 10), "error", comparable=True) == "20.00 / 20.00 [2.5, 55.6] (+0.00)"
    assert format_cell(None, None) == "n/a / not run yet"


def test_stand_in_rows_say_what_ran_and_print_no_difference():
    labels = [i % 10 for i in range(20)]
    run = measured_run(0.25, [0.3] * 20, labels, labels)
    markdown = build_smoothing_table(reference_table("sac", "table2"), [run], "smoke", "note", "abc", "sac")
    row = cohen_row(markdown, "0.25")
    assert row[2:4] == ["cifar10 → digits_as_cifar10", "resnet110 → cnn_small"]
    assert row[4] == "0.75 / 1.00 [0.83, 1.00]" and "(" not in row[4]
    paper, ours = markdown[markdown.index("## Audit"):].split("Reproduction:")
    assert "[identical_rows] sac table2, sigma 1.0: smoothadv and macer both read" in paper
    assert ours.strip() == "- none"
    collapsed = measured_run(0.5, [0.3] * 20, labels, [3] * 20)  # one class for every point
    markdown = build_smoothing_table(reference_table("sac", "table2"), [collapsed], "smoke", "note", "abc", "sac")
    assert "- [collapsed] cohen, sigma 0.5: it predicts class 3 for 20 of 20 points" in markdown


def test_paper_setting_rows_print_the_difference():
    labels = [i % 10 for i in range(20)]
    run = measured_run(0.5, [0.3] * 20, labels, labels, dataset="cifar10", model="resnet110", n=1_000_000)
    markdown = build_smoothing_table(reference_table("sac", "table2"), [run], "paper", "note", "abc", "sac")
    assert cohen_row(markdown, "0.50")[4] == "0.65 / 1.00 [0.83, 1.00] (+0.35)"


def test_radii_beyond_what_n_can_certify_are_marked_not_measured():
    labels = [i % 10 for i in range(20)]
    run = measured_run(0.25, [0.6] * 20, labels, labels, n=2000)  # R_max = 2.70 sigma = 0.68 at n = 2000
    assert max_radius_factor(2000, 0.001) == pytest.approx(2.70, abs=0.01)
    markdown = build_smoothing_table(reference_table("sac", "table2"), [run], "smoke", "note", "abc", "sac")
    row = cohen_row(markdown, "0.25")
    assert row[6].startswith("0.43 / 1.00") and row[7:] == ["0.00 / —[1]", "0.00 / —[1]"]  # r = 0.5 | 1.0, 1.5
    assert "- [1] Zero by construction: at n=2000, alpha=0.001 no radius above 2.70 x sigma" in markdown


def test_a_collapsed_smoothed_model_is_flagged(caplog):
    labels = [i % 10 for i in range(40)]
    run = measured_run(1.0, [0.5] * 40, labels, [3] * 39 + [-1])
    markdown = build_smoothing_table(reference_table("sac", "table2"), [run], "smoke", "note", "abc", "sac")
    assert cohen_row(markdown, "1.00")[4:] == ["0.47 / collapsed[1]", "0.39 / collapsed[1]", "0.34 / collapsed[1]",
                                               "0.21 / collapsed[1]", "0.14 / collapsed[1]"]
    assert "predicts class 3 for 39 of 39 points" in markdown and "collapsed" in caplog.text


@pytest.mark.parametrize("predict, correct, reason", [
    ([i % 10 for i in range(100)], [True] * 90 + [False] * 10, None),
    ([2] * 96 + [1, 3, 4, 5], [i % 10 == 2 for i in range(100)], "predicts class 2 for 96 of 100"),
    ([i % 10 for i in range(100)], [i % 8 == 0 for i in range(100)],
     "its clean accuracy 0.13 is not above chance (0.10)"),  # 13 of 100
])
def test_collapse_reason(predict, correct, reason):
    found = collapse_reason(pd.Series(predict), pd.Series(correct), 10)
    assert found == reason if reason is None else reason in found


def test_the_header_says_which_n_a_quoted_rows_zeros_fit():
    """sac table 2 quotes Cohen et al.'s 0.00 at sigma 0.25, r = 1 = 4 sigma: zero by construction at Cohen's
    n = 1e5 (3.81 sigma at most), not at the n = 1e6 the paper states (4.35 sigma)."""
    assert max_radius_factor(100_000, 0.001) == pytest.approx(3.81, abs=0.005)
    assert max_radius_factor(1_000_000, 0.001) == pytest.approx(4.35, abs=0.005)
    markdown = build_smoothing_table(reference_table("sac", "table2"), [], "paper", "note", "abc", "sac")
    assert ("- Quoted row Randomized Smoothing (Cohen et al., 2019): its numbers fit n=100000 (largest certifiable "
            "radius 3.81 x sigma) rather than the paper's n=1000000 (4.35 x sigma)") in markdown


def test_the_header_names_each_baselines_paper_setting_and_each_runs_own_training():
    labels = [i % 10 for i in range(20)]
    runs = [measured_run(sigma, [0.6] * 20, labels, labels) for sigma in (0.25, 0.5)]
    runs[1].provenance["training"] = {**runs[1].provenance["training"], "options": {"m": 4}}
    markdown = build_smoothing_table(reference_table("sac", "table2"), runs, "smoke", "note", "abc", "sac")
    assert "- Paper-scale setting of MACER (Zhai et al., 2020): Zhai et al. (RuntianZ/macer main.py): k 16" in markdown
    assert "- Training of cohen (sigma 0.25): " in markdown
    assert "- Training of cohen (sigma 0.5): " in markdown and "method options m 4." in markdown
