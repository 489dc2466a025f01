"""The l_inf table builders: cells keyed by (method, dataset, eps, eps_train), parts, accuracy tables,
quoted rows, stand-in labels, collapsed models, and the training-time table (thesis table 3.3)."""
import pandas as pd
import pytest

from bench.reference import reference_table, table_parts
from bench.report.linf_table import VerifiedRun, build_linf_table
from bench.report.training_table import TrainingRun, build_training_table

TRAINING = {"epochs": 8, "batch_size": 64, "lr": 0.001, "momentum": 0.0, "weight_decay": 0.0, "optimizer": "adam",
            "lr_step_epochs": 100, "lr_gamma": 0.5, "warmup_epochs": 1, "rampup_epochs": 4}


def run(method, dataset, eps, eps_train, correct, verified, model="small", points=10, seed=0, paper_model=None):
    """A verification frame of ``points`` points: ``correct`` of them correct, ``verified`` of those verified;
    predictions spread over the ten classes."""
    frame = pd.DataFrame({"predict": [i % 10 for i in range(points)], "correct": [i < correct for i in range(points)],
                          "pgd_correct": [i < verified for i in range(points)],
                          "verified_own": [i < verified for i in range(points)],
                          "verified_tightest": [i < verified for i in range(points)],
                          "verifier_error": [False] * points})
    provenance = {"run": {"model": model}, "settings": {"pgd_steps": 100, "certifiers": ["ibp"]}, "seed": seed,
                  "num_classes": 10, "training": TRAINING, "trained_on": "cpu", "verified_on": "cpu"}
    return VerifiedRun(method, dataset, eps, eps_train, frame, provenance, paper_model, seed)


def table_lines(markdown: str, *needles: str) -> list[str]:
    return [line for line in markdown.splitlines() if all(n in line for n in needles)]


def cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def test_runs_at_two_training_radii_fill_their_own_rows():
    parts = table_parts("landscape", "tableC3_C6")
    runs = [run("ibp_kappa0", "cifar10", "2/255", "2/255", 8, 6),
            run("ibp_kappa0", "cifar10", "2/255", "2.2/255", 9, 3)]
    markdown = build_linf_table(reference_table("landscape", "tableC3_C6"), parts, runs, "smoke", "note", "abc",
                                "landscape", {"cifar10": "digits_rgb8", "mnist": "digits"})
    assert [line for line in markdown.splitlines() if line.startswith("## ")] == [
        *(f"## {p['title']}" for p in parts), "## Audit"]
    same, wider = (table_lines(markdown, "| 2/255", f"| {e} ", "| IBP ") for e in ("2/255", "2.2/255"))
    # stand-ins: both numbers with the interval over the 10 points, no difference
    assert cells(same[0])[:2] == ["cifar10 → digits_rgb8", "medium → small"]
    assert {"43.60 / 20.00 [2.5, 55.6]", "56.58 / 40.00 [12.2, 73.8]"} <= set(cells(same[0]))
    assert {"44.78 / 10.00 [0.3, 44.5]", "55.78 / 70.00 [34.8, 93.3]"} <= set(cells(wider[0]))
    assert "not run yet" in table_lines(markdown, "| 8/255", "| 8.8/255", "| IBP ")[0]
    assert "Training of ibp_kappa0: 8 epochs, batch 64; Adam lr 0.001; eps warm-up 1 + ramp-up 4 epochs." in markdown


def test_the_difference_to_the_paper_is_shown_only_where_the_paper_setting_ran():
    ref = reference_table("sac", "table1")
    markdown = build_linf_table(ref, [ref], [run("cap", "cifar10", "2/255", "2/255", 7, 5, model="4c3f")], "paper",
                                "note", "abc", "sac", {"cifar10": "cifar10"})
    cap = cells(table_lines(markdown, "| CAP (Wong")[0])
    assert cap[:2] == ["cifar10", "4c3f"]
    assert cap[5:8] == ["0.68 / 0.70 [0.35, 0.93] (+0.02)", "n/a / 0.50 [0.19, 0.81]",
                        "0.54 / 0.50 [0.19, 0.81] (-0.04)"]


def test_accuracy_tables_print_fractions_and_mark_quoted_rows():
    ref = reference_table("sac", "table1")
    runs = [run("cap", "cifar10", "2/255", "2/255", 7, 5)]
    markdown = build_linf_table(ref, [ref], runs, "smoke", "note", "abc", "sac", {"cifar10": "digits_rgb8"})
    cap = cells(table_lines(markdown, "| CAP (Wong")[0])
    assert cap[5:8] == ["0.68 / 0.70 [0.35, 0.93]", "n/a / 0.50 [0.19, 0.81]", "0.54 / 0.50 [0.19, 0.81]"]
    colt = cells(table_lines(markdown, "| 2/255", "COLT")[0])
    assert colt[:2] == ["cifar10", "4c3f"] and colt[5] == "0.78 / not run here"  # nothing ran: the paper's setting
    assert "0.51 / not run yet" in table_lines(markdown, "| 8/255", "IBP* (Gowal")[0]
    assert not table_lines(markdown, "| 16/255", "CAP (Wong")  # the paper prints no CAP row at 16/255


def test_a_row_the_reference_annotates_carries_the_note_and_a_quoted_row_of_a_trained_block_is_not_run_here():
    ref = reference_table("bcp", "table3_2")
    markdown = build_linf_table(ref, [ref], [], "smoke", "note", "abc", "bcp", {"cifar10": "digits_rgb8"})
    bcp = cells(table_lines(markdown, "| wrn", "BCP (ours)")[0])
    assert bcp[4] == "BCP (ours) [1]" and bcp[5] == "n/a / not run yet"
    assert "- [1] The thesis' WRN row of BCP is lost" in markdown
    assert cells(table_lines(markdown, "| wrn", "CAP (Wong")[0])[5] == "60.70 / not run here"


def test_a_table_without_a_pgd_column_shows_the_measured_pgd_error():
    ref = reference_table("book", "table14_1")
    markdown = build_linf_table(ref, [ref], [run("ibp", "cifar10", "8/255", "8/255", 9, 4)], "smoke", "note", "abc",
                                "book", {"cifar10": "digits_rgb8", "mnist": "digits"})
    assert "PGD error % (measured only)" in markdown
    assert cells(table_lines(markdown, "| 8/255", "| IBP ")[0])[7] == "60.00 [26.2, 87.8]"  # 6 of 10 not robust


def test_a_collapsed_model_is_flagged_instead_of_reported(caplog):
    collapsed = run("ibp", "mnist", "0.4", "0.4", 1, 0, points=40)
    collapsed.frame["predict"] = 4
    ref = reference_table("book", "table14_1")
    markdown = build_linf_table(ref, [ref], [collapsed], "smoke", "note", "abc", "book",
                                {"cifar10": "digits_rgb8", "mnist": "digits"})
    row = table_lines(markdown, "| 0.4", "| IBP ")[0]
    assert "1.66 / collapsed[1]" in row and "15.01 / collapsed[1]" in row and "97.50" not in row
    assert "- [1] Collapsed model: it predicts class 4 for 40 of 40 points" in markdown
    assert "collapsed" in caplog.text


def test_training_table_reads_the_target_loss_of_the_first_ramp_epoch_and_the_best_checkpoint():
    history = pd.DataFrame({"epoch": [1, 2, 3, 4], "loss": [2.0, 1.5, 1.8, 1.7], "target_loss": [9.0, 3.2, 2.5, 2.1],
                            "verified_error": [100.0, 80.0, 60.0, 70.0]})
    measured = TrainingRun("ibp", "cifar10", "8/255", "8/255", history, "small", TRAINING)
    assert measured.measure("train_loss_start") == 3.2 and measured.best() == (60.0, 3)
    markdown = build_training_table(reference_table("landscape", "table3_3"), [measured], "smoke", "note", "abc",
                                    "landscape", {"cifar10": "digits_rgb8"})
    assert cells(table_lines(markdown, "| IBP ")[0]) == ["cifar10 → digits_rgb8", "medium → small", "8/255", "IBP",
                                                         "1.64 / 3.20", "73.19 / 60.00", "3", "1.5000"]
    assert "loss at eps_train, first ramp-up epoch" in markdown and "it is shown in the last column" in markdown
    with pytest.raises(ValueError, match="select_best"):
        TrainingRun("ibp", "cifar10", "8/255", "8/255", history.drop(columns="verified_error"), "small",
                    TRAINING).best()
    with pytest.raises(ValueError, match="log_target_loss"):
        TrainingRun("ibp", "cifar10", "8/255", "8/255", history.drop(columns="target_loss"), "small",
                    TRAINING).measure("train_loss_start")


def test_a_point_whose_own_bound_failed_counts_as_not_verified_and_is_counted_in_the_table():
    from bench.verify import summarize_rows
    nan = float("nan")
    frame = summarize_rows(pd.DataFrame({"correct": [True, True, True], "margin_ibp": [0.5, nan, nan],
                                         "margin_crown_ibp": [0.5, 0.2, nan]}), ("ibp", "crown_ibp"), ("ibp",))
    assert frame["verified_own"].tolist() == [True, False, False]      # the failed own bound proves nothing
    assert frame["verified_tightest"].tolist() == [True, True, False]  # another sound bound may prove it
    assert frame["verifier_error"].tolist() == [False, True, True]
    verified = run("ibp", "cifar10", "2/255", "2/255", 10, 6)
    verified.frame["verifier_error"] = [i in (7, 8) for i in range(10)]
    ref = reference_table("landscape", "table3_4")
    markdown = build_linf_table(ref, table_parts("landscape", "table3_4"), [verified], "smoke", "note", "abc",
                                "landscape", {"cifar10": "digits_rgb8", "mnist": "digits", "svhn": "digits_rgb8"})
    assert "verifier errors (counted as not verified)" in markdown
    assert "a point where that bound failed counts as not verified" in markdown
    assert cells(table_lines(markdown, "| 2/255", "| IBP ")[0])[-1] == "2"


def test_the_training_line_names_augmentation_and_normalisation():
    from bench.report.cells import describe_training
    assert "augmentation" not in describe_training({**TRAINING, "augment": "none"})
    assert "augmentation flip_crop2_edge" in describe_training({**TRAINING, "augment": "flip_crop2_edge"})
    assert "inputs not normalised" in describe_training({**TRAINING, "normalize": False})
    assert "normalised" not in describe_training({**TRAINING, "normalize": True})
    assert describe_training({**TRAINING, "select_best": True}).endswith("best epoch by verified error on the test set")
    assert describe_training({**TRAINING, "select_best": True, "select_skip": 10}).endswith("every 10th test point")


def test_the_audit_section_lists_the_papers_findings_and_an_unsound_bound_of_the_reproduction():
    parts = table_parts("landscape", "tableC3_C6")
    sound = run("ibp_kappa0", "cifar10", "2/255", "2/255", 8, 6)
    unsound = run("ibp_kappa0", "cifar10", "2/255", "2.2/255", 9, 3)
    unsound.frame["margin_ibp"] = [1.0] * 5 + [-1.0] * 5  # points 3 and 4: verified by IBP, broken by PGD
    markdown = build_linf_table(reference_table("landscape", "tableC3_C6"), parts, [sound, unsound], "smoke", "note",
                                "abc", "landscape", {"cifar10": "digits_rgb8", "mnist": "digits"})
    audit = markdown[markdown.index("## Audit"):]
    paper, ours = audit.split("Reproduction:")
    assert "[repeated] landscape ours, cifar10 eps 16/255: standard 65.93 in table3_4 but 65.39 in tableC3" in paper
    assert ("[unsound] ibp_kappa0, cifar10 eps 2/255 (eps_train 2.2/255, seed 0): 2 point(s) verified by ibp but "
            "broken by PGD") in ours
    assert "[ordering]" not in ours  # 20 / 40 / 60 % errors: in order


def test_a_table_over_seeds_shows_the_median_with_max_and_min_beside_the_papers():
    ref = reference_table("bcp", "tableB2")
    runs = [run("bcp", "cifar10", "8/255", "8/255", correct, verified, seed=seed, paper_model="4c3f")
            for seed, (correct, verified) in enumerate([(4, 2), (6, 3), (5, 1)])]
    markdown = build_linf_table(ref, [ref], runs, "smoke", "note", "abc", "bcp", {"cifar10": "digits_rgb8"})
    bcp = cells(table_lines(markdown, "| BCP ")[0])
    assert bcp[5:8] == ["36.50 (38.56/34.65) / 50.00 (60.00/40.00)", "27.82 (29.53/26.85) / 20.00 (30.00/10.00)",
                        "24.20 (25.45/22.01) / 20.00 (30.00/10.00)"]
    assert bcp[8:] == ["20.00 (30.00/10.00)", "0"]  # the tightest bound, and the verifier errors summed
    assert cells(table_lines(markdown, "| CAP ")[0])[5] == "19.00 / not run yet"  # printed once, no spread
    assert "Seeds 0, 1, 2;" in markdown and "the median of the runs at each seed" in markdown
    markdown = build_linf_table(ref, [ref], [run("cap", "cifar10", "8/255", "8/255", 7, 5, paper_model="4c3f")],
                                "smoke", "note", "abc", "bcp", {"cifar10": "digits_rgb8"})
    assert cells(table_lines(markdown, "| CAP ")[0])[5] == "19.00 / 70.00"  # one run: no spread


def test_a_mean_over_seeds_keeps_collapsed_seeds_and_says_so():
    ref = reference_table("bcp", "tableB3")
    runs = [run("bcp-lam_start0.5-lam_end1", "cifar10", "36/255", "36/255", correct, 1, seed=seed, paper_model="4c3f")
            for seed, correct in enumerate([9, 6, 0])]
    markdown = build_linf_table(ref, [ref], runs, "smoke", "note", "abc", "bcp", {"cifar10": "digits_rgb8"})
    row = cells(table_lines(markdown, "lambda_1 = 1, lambda_0 = 0.5")[0])
    assert row[5] == "66.47 / 50.00 (90.00/0.00)[1]"
    assert "[1] Seed 2 of bcp-lam_start0.5-lam_end1 collapsed" in markdown
    assert "66.09 / not run yet" in table_lines(markdown, "lambda_1 = 1, lambda_0 = 0.01")[0]
