"""The smoke DAG for sac Table 2 end to end, the report-only rebuild, and `snakemake --report`."""
import re
import shutil
import subprocess
import sys

import pytest
import yaml

TINY_LINF_TRAIN = {"epochs": 2, "batch_size": 128, "lr": 0.001, "momentum": 0.0, "weight_decay": 0.0,
                   "optimizer": "adam", "lr_step_epochs": 10, "lr_gamma": 0.5, "warmup_epochs": 0, "rampup_epochs": 1}
TINY = {"scales": {"smoke": {
    "train": {"digits_as_cifar10": {"epochs": 2, "batch_size": 64, "lr": 0.05, "momentum": 0.9,
                                    "weight_decay": 1.0e-4, "lr_step_epochs": 10, "lr_gamma": 0.1}},
    "certify": {"digits_as_cifar10": {"n0": 20, "n": 200, "alpha": 0.001, "batch_size": 200, "skip": 50}},
    "train_linf": {"cifar10": TINY_LINF_TRAIN, "fig3_6": {**TINY_LINF_TRAIN, "select_best": True, "select_skip": 10}},
    "verify": {"digits_rgb8": {"certifiers": ["ibp", "crown_ibp"], "pgd_steps": 10, "batch_size": 50,
                               "skip": 10, "max_points": None}},
}}, "tables": {"landscape_table3_6": {"methods": ["ours"]}, "landscape_table3_3": {"methods": ["ibp"]}}}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A copy of the workflow and package, so the test can edit report code without touching the repo."""
    from conftest import REPO

    work = tmp_path_factory.mktemp("workflow")
    for item in ("Snakefile", "workflow", "config", "bench", "envs"):
        copy = shutil.copytree if (REPO / item).is_dir() else shutil.copy
        copy(REPO / item, work / item)
    (work / "tiny.yaml").write_text(yaml.safe_dump(TINY))
    return work


def snakemake(workdir, *args):
    cmd = [sys.executable, "-m", "snakemake", *args, "--cores", "2",
           "--configfile", "config/config.yaml", "tiny.yaml"]
    result = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def scheduled_jobs(output: str) -> dict[str, int]:
    stats = output[output.index("Job stats:"):]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", stats, re.M) if m.group(1) != "total"}


def test_smoke_table2_builds_end_to_end(workdir):
    snakemake(workdir, "tables/table2_cifar_l2.md")
    table = (workdir / "tables/table2_cifar_l2.md").read_text()
    assert "Scale: **smoke**" in table and "offline stand-in for `cifar10`" in table
    assert "n0=20, n=200, alpha=0.001" in table and "Certified test points per model: 8" in table
    cohen = [line for line in table.splitlines() if line.startswith("| ") and "Cohen" in line]
    assert len(cohen) == 3
    for line in cohen:
        cells = [c.strip() for c in line.strip("|").split("|")][2:]
        assert len(cells) == 5 and all(re.fullmatch(r"\d\.\d\d / \d\.\d\d \([+-]\d\.\d\d\)", c) for c in cells)
    assert table.count("not run yet") == 4 * 3 * 5  # the other four methods, three sigmas, five radii
    for sigma in ("0.25", "0.5", "1"):
        frame = (workdir / f"results/cert/smoke/digits_as_cifar10/cnn_small/cohen/sigma{sigma}/seed0/smoothing.tsv")
        assert len(frame.read_text().splitlines()) == 1 + 8


def test_editing_report_code_schedules_no_training_or_certification(workdir):
    builder = workdir / "bench/report/smoothing_table.py"
    builder.write_text(builder.read_text() + "\n# an edit to the table code\n")
    jobs = scheduled_jobs(snakemake(workdir, "-n", "tables/table2_cifar_l2.md"))
    assert jobs == {"table_smoothing": 1}


def test_report_includes_the_table(workdir):
    snakemake(workdir, "tables/table2_cifar_l2.md")
    snakemake(workdir, "--report", "report.html", "tables/table2_cifar_l2.md")
    html = (workdir / "report.html").read_text(errors="replace")
    assert "table2_cifar_l2" in html


def test_smoke_linf_table_builds_end_to_end(workdir):
    snakemake(workdir, "tables/landscape_table3_6.md")
    table = (workdir / "tables/landscape_table3_6.md").read_text()
    assert "Scale: **smoke**" in table and "`digits_rgb8` for `cifar10`" in table
    assert "Test points per cell: 40" in table
    ours = [line for line in table.splitlines() if line.startswith("| ") and "| OURS " in line]
    assert len(ours) == 5
    for line in ours:
        cells = [c.strip() for c in line.strip("|").split("|")][4:7]
        assert all(re.fullmatch(r"\d+\.\d\d / \d+\.\d\d \([+-]\d+\.\d\d\)", c) for c in cells), cells
    assert table.count("not run yet") == 5 * 5  # CROWN-IBP 1->0: three error cells and two measured-only ones
    frame = workdir / "results/verify/smoke/digits_rgb8/small/ours/eps8_255/cifar10/seed0/eps8_255.tsv"
    header = frame.read_text().splitlines()[0].split("\t")
    assert {"margin_ibp", "margin_crown_ibp", "margin_ours", "verified_own", "verifier_error"} <= set(header)


def test_smoke_training_table_reads_the_runs_metrics(workdir):
    snakemake(workdir, "tables/landscape_table3_3.md")
    table = (workdir / "tables/landscape_table3_3.md").read_text()
    ibp = [line for line in table.splitlines() if line.startswith("| ") and "| IBP " in line]
    cells = [c.strip() for c in ibp[0].strip("|").split("|")]
    assert re.fullmatch(r"1\.64 / \d+\.\d\d \([+-]\d+\.\d\d\)", cells[3]), cells
    assert re.fullmatch(r"73\.19 / \d+\.\d\d \([+-]\d+\.\d\d\)", cells[4]), cells
    assert cells[5] in ("1", "2")  # the best of the two epochs
    assert table.count("not run yet") == 3 * 3  # CROWN-IBP, CAP, OURS: two cells and the best epoch
