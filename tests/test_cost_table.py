"""The training-cost table (thesis table 3.1, bench.report.cost_table) from per-epoch metrics."""
import pandas as pd

from bench.reference import reference_table
from bench.report.cost_table import CostRun, build_cost_table

PROVENANCE = {"training": {"epochs": 3, "batch_size": 50, "lr": 0.001, "momentum": 0.0, "weight_decay": 0.0,
                           "optimizer": "adam", "lr_step_epochs": 100, "lr_gamma": 0.5, "warmup_epochs": 1,
                           "rampup_epochs": 1}, "trained_on": "cpu, torch 2.x, deterministic"}


def cost_run(method, dataset, paper_model, seconds):
    history = pd.DataFrame({"epoch": [1, 2, 3], "eps": [0.0, 0.1, 0.1], "seconds": [0.5, *seconds],
                            "peak_memory_mb": [100.0, 300.0, 250.0]})
    return CostRun(method, dataset, paper_model, history, "small", PROVENANCE)


def table_row(markdown, *needles):
    line = next(line for line in markdown.splitlines() if all(n in line for n in needles))
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def test_seconds_are_the_median_of_the_certified_epochs_and_the_speedup_their_ratio():
    runs = [cost_run("cap", "cifar10", "4c3f", [8.0, 12.0]), cost_run("bcp", "cifar10", "4c3f", [1.0, 1.0])]
    markdown = build_cost_table(reference_table("bcp", "table3_1"), runs, "smoke", "note", "abc", "bcp",
                                {"cifar10": "digits_rgb8", "mnist": "digits"})
    cap = table_row(markdown, "4c3f → small", "CAP")
    assert cap[:5] == ["cifar10 → digits_rgb8", "4c3f → small", "CAP (Wong et al., 2018)", "645", "10.00"]
    bcp = table_row(markdown, "4c3f → small", "BCP")
    assert bcp[3:] == ["53.0", "1.00", "12.2", "10.0", "0.29"]  # paper x12.2; measured 10 / 1; peak of epochs 2-3
    assert table_row(markdown, "6c2f", "BCP")[4:7] == ["not run yet", "24.2", "not run yet"]
    assert table_row(markdown, "8c2f", "BCP")[3:7] == ["3268", "not run yet", "-", "-"]  # CAP is not run there
    assert table_row(markdown, "8c2f", "CAP")[3:5] == ["-", "not run here"]  # "not scalable": no paper number
    assert "never subtracted" in markdown and "cpu, torch 2.x" in markdown


def test_a_table_with_the_papers_memory_shows_it_beside_the_measured_peak_and_no_speedup():
    runs = [cost_run("bcp", "cifar10", "6c2f", [2.0, 4.0]), cost_run("duet", "cifar10", "6c2f", [3.0, 3.0])]
    markdown = build_cost_table(reference_table("duet", "table3"), runs, "smoke", "note", "abc", "duet",
                                {"cifar10": "digits_rgb8"})
    assert "speed-up" not in markdown and "paper memory (GB)" in markdown
    assert table_row(markdown, "Duet")[3:] == ["38.5", "3.00", "5.1", "0.29"]
    assert table_row(markdown, "LocalBCP")[3:] == ["67.8", "not run yet", "40.3", "not run yet"]
    assert table_row(markdown, "LMT")[3:] == ["569", "not run yet", "8", "not run yet"]
