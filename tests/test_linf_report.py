"""The l_inf table builders: cells keyed by (method, dataset, eps, eps_train), parts, accuracy tables,
quoted rows, and the training-time table (thesis table 3.3)."""
import pandas as pd
import pytest

from bench.reference import reference_table, table_parts
from bench.report.linf_table import VerifiedRun, build_linf_table
from bench.report.training_table import TrainingRun, build_training_table

PROVENANCE = {"run": {"model": "small"}, "settings": {"pgd_steps": 100, "certifiers": ["ibp"]}}


def run(method, dataset, eps, eps_train, correct, verified):
    """A verification frame of 10 points: ``correct`` of them correct, ``verified`` of those verified."""
    frame = pd.DataFrame({"correct": [i < correct for i in range(10)], "pgd_correct": [i < verified for i in range(10)],
                          "verified_own": [i < verified for i in range(10)],
                          "verified_tightest": [i < verified for i in range(10)], "verifier_error": [False] * 10})
    return VerifiedRun(method, dataset, eps, eps_train, frame, PROVENANCE)


def table_lines(markdown: str, *needles: str) -> list[str]:
    return [line for line in markdown.splitlines() if all(n in line for n in needles)]


def test_runs_at_two_training_radii_fill_their_own_rows():
    parts = table_parts("landscape", "tableC3_C6")
    runs = [run("ibp_kappa0", "cifar10", "2/255", "2/255", 8, 6),
            run("ibp_kappa0", "cifar10", "2/255", "2.2/255", 9, 3)]
    markdown = build_linf_table(reference_table("landscape", "tableC3_C6"), parts, runs, "smoke", "note", "abc",
                                "landscape", {"cifar10": "digits_rgb8", "mnist": "digits"})
    assert [line for line in markdown.splitlines() if line.startswith("## ")] == [f"## {p['title']}" for p in parts]
    same, wider = (table_lines(markdown, "| 2/255", f"| {e} ", "| IBP ") for e in ("2/255", "2.2/255"))
    assert "43.60 / 20.00 (-23.60)" in same[0] and "56.58 / 40.00 (-16.58)" in same[0]
    assert "44.78 / 10.00 (-34.78)" in wider[0] and "55.78 / 70.00 (+14.22)" in wider[0]
    assert "not run yet" in table_lines(markdown, "| 8/255", "| 8.8/255", "| IBP ")[0]


def test_accuracy_tables_print_fractions_and_mark_quoted_rows():
    ref = reference_table("sac", "table1")
    runs = [run("cap", "cifar10", "2/255", "2/255", 7, 5)]
    markdown = build_linf_table(ref, [ref], runs, "smoke", "note", "abc", "sac", {"cifar10": "digits_rgb8"})
    cap = table_lines(markdown, "| CAP (Wong")[0]
    assert "0.68 / 0.70 (+0.02)" in cap and "n/a / 0.50" in cap and "0.54 / 0.50 (-0.04)" in cap
    assert "0.78 / not run here" in table_lines(markdown, "| 2/255", "COLT")[0]
    assert "0.51 / not run yet" in table_lines(markdown, "| 8/255", "IBP* (Gowal")[0]
    assert not table_lines(markdown, "| 16/255", "CAP (Wong")  # the paper prints no CAP row at 16/255


def test_training_table_reads_the_first_ramp_epoch_and_the_best_checkpoint():
    history = pd.DataFrame({"epoch": [1, 2, 3, 4], "loss": [2.0, 1.5, 1.8, 1.7],
                            "verified_error": [100.0, 80.0, 60.0, 70.0]})
    measured = TrainingRun("ibp", "cifar10", "8/255", "8/255", history, warmup_epochs=1)
    assert measured.train_loss_start() == 1.5 and measured.best() == (60.0, 3)
    markdown = build_training_table(reference_table("landscape", "table3_3"), [measured], "smoke", "note", "abc",
                                    "landscape", {"cifar10": "digits_rgb8"})
    row = table_lines(markdown, "| IBP ")[0]
    assert "1.64 / 1.50 (-0.14)" in row and "73.19 / 60.00 (-13.19)" in row and row.rstrip(" |").endswith("3")
    with pytest.raises(ValueError, match="select_best"):
        TrainingRun("ibp", "cifar10", "8/255", "8/255", history.drop(columns="verified_error"), 1).best()
