"""The smoke DAG for sac Table 2 end to end, the report-only rebuild, `snakemake --report`, job logs, a damaged
certificate file, the lock that keeps two runs off one directory, and a figure redrawn without retraining."""
import base64
import os
import re
import shutil
import subprocess
import sys
import time

import pytest
import yaml

TINY_LINF_TRAIN = {"epochs": 2, "batch_size": 128, "lr": 0.001, "momentum": 0.0, "weight_decay": 0.0,
                   "optimizer": "adam", "lr_step_epochs": 10, "lr_gamma": 0.5, "warmup_epochs": 0, "rampup_epochs": 1}
COMPUTE_RULES = ("train", "certify_smoothing", "train_linf", "verify_linf", "analyse_tightness", "analyse_outer_bound",
                 "analyse_rotation", "analyse_pairwise_lipschitz", "analyse_radii", "analyse_mode_connectivity",
                 "analyse_surface", "attack_eot", "analyse_gradient_samples", "analyse_transfer")
TINY = {"scales": {"smoke": {
    "resources": {rule: {"threads": 1} for rule in COMPUTE_RULES},  # tiny jobs: two at a time beat two threads
    "train": {"digits_as_cifar10": {"epochs": 2, "batch_size": 64, "lr": 0.05, "momentum": 0.9,
                                    "weight_decay": 1.0e-4, "lr_step_epochs": 10, "lr_gamma": 0.1}},
    "certify": {"digits_as_cifar10": {"n0": 20, "n": 200, "alpha": 0.001, "batch_size": 200, "skip": 50}},
    "train_linf": {"cifar10": TINY_LINF_TRAIN,
                   # batch 256: 6 steps an epoch, 3 traced (the traced steps are the costly ones)
                   "fig3_6": {**TINY_LINF_TRAIN, "batch_size": 256, "select_best": True, "select_skip": 10,
                              "trace_every": 4},
                   "sac_cifar10": {**TINY_LINF_TRAIN, "log_lipschitz": True}},
    "verify": {"digits_rgb8": {"certifiers": ["ibp", "crown_ibp"], "pgd_steps": 10, "batch_size": 50,
                               "skip": 10, "max_points": None}},
    "analysis": {"mode_connectivity": {"epochs": 1, "batch_size": 128, "lr": 0.001, "points": 3, "skip": 40,
                                       "max_points": None},
                 "surface": {"steps": 3, "span": 1.0, "batch_size": 100, "skip": 40, "max_points": None}},
}}, "tables": {"table2_cifar_l2": {"methods": ["cohen"], "sigmas": [0.25, 0.5]}, "table1_cifar_linf": {"methods": ["crown_ibp_1to0"]}, "landscape_table3_3": {"methods": ["ibp"]}},
    "figures": {"landscape_fig3_10_violins": {"trained": ["ours", "ibp"]},
                "landscape_fig3_6_curves": {"trained": ["ours", "ibp"]},
                "landscape_fig3_7_smoothness": {"panels": [{"title": "fig. 3.7", "trained": ["ibp", "ours"]}]},
                "landscape_figC6_C8_relu": {"trained": ["ours", "ibp"]},
                "landscape_figC3_C5_modeconn": {"pairs": [["ibp", "ours"]]},
                "landscape_surface": {"trained": ["ours", "ibp"]},
                "sac_fig1_alpha": {"alphas": [0.2], "chosen_alpha": 0.2}}}


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


def snakemake_cmd(*args):
    """The Snakefile's configfile directive reads config/config.yaml; tiny.yaml is merged over it (naming the
    config here too would parse it twice: about 0.4 s per call)."""
    return [sys.executable, "-m", "snakemake", *args, "--cores", "2", "--configfile", "tiny.yaml"]


def snakemake(workdir, *args, ok=True):
    result = subprocess.run(snakemake_cmd(*args), cwd=workdir, capture_output=True, text=True)
    assert (result.returncode == 0) == ok, result.stdout + result.stderr
    return result.stdout + result.stderr


def cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


CERTIFICATES = "results/cert/smoke/digits_as_cifar10/cnn_small/cohen/sigma{}/seed0/smoothing.tsv"


def scheduled_jobs(output: str) -> dict[str, int]:
    stats = output[output.index("Job stats:"):]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", stats, re.M) if m.group(1) != "total"}


def test_smoke_table2_builds_end_to_end(workdir):
    snakemake(workdir, "tables/table2_cifar_l2.md")
    table = (workdir / "tables/table2_cifar_l2.md").read_text()
    assert "Scale: **smoke**" in table and "offline stand-in for `cifar10`" in table
    assert "n0=20, n=200, alpha=0.001" in table and "Certified test points per model: 8" in table
    assert "Training of cohen: 2 epochs, batch 64; SGD lr 0.05" in table and "Seed 0; trained on cpu" in table
    cohen = [cells(line) for line in table.splitlines() if line.startswith("| ") and "Cohen" in line]
    assert [row[0] for row in cohen] == ["0.25", "0.50", "1.00"]  # the sigmas configured here: 0.25, 0.5
    assert all(cell.endswith(" / not run yet") for cell in cohen[2][4:])
    for row in cohen[:2]:
        assert row[2:4] == ["cifar10 → digits_as_cifar10", "resnet110 → cnn_small"]
        # stand-ins: paper / reproduced [interval], no difference; "—" beyond the radius n = 200 can certify
        assert all(re.fullmatch(r"\d\.\d\d / (\d\.\d\d \[\d\.\d\d, \d\.\d\d\]|—\[1\])", c) for c in row[4:]), row
    assert [c.endswith("—[1]") for c in cohen[0][4:]] == [False, False, True, True, True]  # R_max 1.83 sigma
    assert "- [1] Zero by construction: at n=200, alpha=0.001 no radius above 1.83 x sigma" in table
    assert table.count("not run yet") == (4 * 3 + 1) * 5  # the other four methods; Cohen at 1.0; five radii
    for sigma in ("0.25", "0.5"):
        assert len((workdir / CERTIFICATES.format(sigma)).read_text().splitlines()) == 1 + 8


def test_every_smoothing_row_is_trained_and_certified_by_the_same_rules(workdir):
    all_rows = workdir / "all_rows.yaml"
    all_rows.write_text(yaml.safe_dump({"tables": {"table2_cifar_l2": {"methods": [
        "cohen", "smoothadv", "macer", "consistency", "sac"]}}}))
    cmd = snakemake_cmd("-n", "-F", "tables/table2_cifar_l2.md")[:-1] + ["tiny.yaml", str(all_rows)]
    out = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, check=True).stdout
    assert scheduled_jobs(out) == {"train": 10, "certify_smoothing": 10, "table_smoothing": 1}  # two sigmas
    for method in ("smoothadv", "macer", "consistency", "sac"):
        assert f"results/cert/smoke/digits_as_cifar10/cnn_small/{method}/sigma0.5/seed0/smoothing.tsv" in out


def test_every_job_logs_its_settings_progress_and_result(workdir):
    log = (workdir / "logs/certify/smoke/digits_as_cifar10/cnn_small/cohen/sigma0.5/seed0.log").read_text()
    assert "rule certify_smoothing, wildcards {'scale': 'smoke'" in log and '"n": 200' in log
    assert "certified 8 points at sigma 0.5" in log and "certify_smoothing finished" in log and "\r" not in log
    train_log = (workdir / "logs/train/smoke/digits_as_cifar10/cnn_small/cohen/sigma0.5/seed0.log").read_text()
    assert "epoch 2/2 loss" in train_log and "trained results/ckpt/" in train_log
    assert "wrote tables/table2_cifar_l2.md" in (workdir / "logs/tables/table2_cifar_l2.log").read_text()


def test_editing_report_code_schedules_no_training_or_certification(workdir):
    builder = workdir / "bench/report/smoothing_table.py"
    builder.write_text(builder.read_text() + "\n# an edit to the table code\n")
    jobs = scheduled_jobs(snakemake(workdir, "-n", "tables/table2_cifar_l2.md"))
    assert jobs == {"table_smoothing": 1}


def test_report_shows_the_table_as_html(workdir, repo):
    readme_line = next(line for line in (repo / "README.md").read_text().splitlines()
                       if line.startswith("python -m bench report"))
    snakemake(workdir, "tables/table2_cifar_l2.md")
    subprocess.run([sys.executable, *readme_line.split()[1:], "--configfile", "tiny.yaml"], cwd=workdir, check=True,
                   env={**os.environ, "PYTHONPATH": str(workdir)})  # the README's report command, as written
    report = (workdir / "report.html").read_text(errors="replace")
    embedded = re.search(r"table2_cifar_l2\.html;base64,([A-Za-z0-9+/=]+)", report)
    page = base64.b64decode(embedded.group(1)).decode()
    assert "<table>" in page and "Randomized Smoothing (Cohen et al., 2019)" in page and "Scale: <strong>smoke" in page


def test_a_truncated_certificate_stops_the_table_and_deleting_it_rebuilds_it(workdir):
    snakemake(workdir, "tables/table2_cifar_l2.md")
    damaged = workdir / CERTIFICATES.format("0.5")
    damaged.write_text("".join(damaged.read_text().splitlines(keepends=True)[:5]))  # 4 of 8 rows
    out = snakemake(workdir, "tables/table2_cifar_l2.md", ok=False)
    message = f"{CERTIFICATES.format('0.5')} holds 4 rows, but"
    assert message in out and message in (workdir / "logs/tables/table2_cifar_l2.log").read_text()

    damaged.unlink()  # the error's advice; meanwhile a second run on this directory is refused
    first = subprocess.Popen(snakemake_cmd("tables/table2_cifar_l2.md"), cwd=workdir, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 60
    while not list((workdir / ".snakemake/locks").glob("*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "cannot be locked" in snakemake(workdir, "tables/table2_cifar_l2.md", ok=False)
    assert first.wait(timeout=300) == 0, first.stdout.read()
    assert len(damaged.read_text().splitlines()) == 1 + 8
    assert "Certified test points per model: 8 " in (workdir / "tables/table2_cifar_l2.md").read_text()


@pytest.mark.slow  # the table's content: tests/test_linf_report.py; every table builds in tests/test_full_dag.py
def test_smoke_linf_table_builds_end_to_end(workdir):
    snakemake(workdir, "tables/table1_cifar_linf.md")
    table = (workdir / "tables/table1_cifar_linf.md").read_text()
    assert "Scale: **smoke**" in table and "Test points per cell: 40" in table
    crown = [cells(line) for line in table.splitlines() if line.startswith("| ") and "| CROWN-IBP (Zhang" in line]
    assert [row[2] for row in crown] == ["2/255", "8/255"]  # the blocks that print the row
    for row in crown:
        assert row[:2] == ["cifar10 → digits_rgb8", "4c3f → small"]
        cell = r"\d\.\d\d / (\d\.\d\d \[\d\.\d\d, \d\.\d\d\]|collapsed\[\d\])"
        assert all(re.fullmatch(cell, c) for c in row[5:8]), row
    assert table.count("not run yet") == 7 * 5  # CAP, IBP, improved IBP (2 blocks), SaC (3): five measured columns
    frame = workdir / "results/verify/smoke/digits_rgb8/small/crown_ibp_1to0/eps2_255/cifar10/seed0/eps2_255.tsv"
    header = frame.read_text().splitlines()[0].split("\t")
    assert {"predict", "margin_ibp", "margin_crown_ibp", "verified_own", "verifier_error"} <= set(header)


@pytest.mark.slow  # the table's builder: tests/test_linf_report.py; its runs' traces: the violins test below
def test_smoke_training_table_reads_the_runs_metrics(workdir):
    snakemake(workdir, "tables/landscape_table3_3.md")
    table = (workdir / "tables/landscape_table3_3.md").read_text()
    ibp = cells(next(line for line in table.splitlines() if line.startswith("| ") and "| IBP " in line))
    assert ibp[:2] == ["cifar10 → digits_rgb8", "medium → small"]
    assert re.fullmatch(r"1\.64 / \d+\.\d\d", ibp[4]) and re.fullmatch(r"73\.19 / \d+\.\d\d", ibp[5]), ibp
    assert ibp[6] in ("1", "2")  # the best of the two epochs
    assert re.fullmatch(r"\d+\.\d{4}", ibp[7])  # the training objective, measured only
    assert table.count("not run yet") == 3 * 4  # CROWN-IBP, CAP, OURS: two cells, the best epoch, the objective
    metrics = (workdir / "results/ckpt/smoke/digits_rgb8/small/ibp/eps8_255/fig3_6/seed0/metrics.csv").read_text()
    assert "target_loss" in metrics.splitlines()[0]


def test_a_figure_is_drawn_from_its_tidy_table_and_redrawn_alone_after_a_plot_edit(workdir):
    snakemake(workdir, "figures/landscape_fig3_10_violins.png")
    for ext in ("png", "pdf"):
        assert (workdir / f"figures/landscape_fig3_10_violins.{ext}").stat().st_size > 10_000
    data = (workdir / "results/figures/landscape_fig3_10_violins.tsv").read_text().splitlines()
    header, rows = data[0].split("\t"), [line.split("\t") for line in data[1:]]
    assert header == ["trained", "relaxation", "idx", "test_loss", "tightness"]
    assert {(r[0], r[1]) for r in rows} == {(m, b) for m in ("ours", "ibp")
                                              for b in ("ours", "crown_ibp", "cap_ibp", "random_ibp")}
    assert len(rows) == 2 * 4 * 40  # two models, four relaxations, every 10th of 400 test points

    plot = workdir / "bench/figures/landscape_fig3_10_violins.py"
    plot.write_text(plot.read_text() + "\n# an edit to the plotting code\n")
    assert scheduled_jobs(snakemake(workdir, "-n", "figures/landscape_fig3_10_violins.png")) == {"plot": 1}
    analysis = workdir / "bench/analysis/tightness.py"
    analysis.write_text(analysis.read_text() + "\n# an edit to the analysis code\n")
    assert scheduled_jobs(snakemake(workdir, "-n", "figures/landscape_fig3_10_violins.png")) == {
        "analyse_tightness": 2, "figure_data_tightness": 1, "plot": 1}


def tidy(workdir, figure):
    import pandas as pd

    return pd.read_csv(workdir / f"results/figures/{figure}.tsv", sep="\t")


@pytest.mark.slow  # a figure from its tidy table: the violins test above; the traces' rows: tests/test_traces.py
def test_every_figure_is_drawn_from_a_data_file_with_the_rows_it_needs(workdir):
    traced = ["landscape_fig3_6_curves", "landscape_fig3_7_smoothness", "landscape_figC6_C8_relu"]
    analysed = ["landscape_figC3_C5_modeconn", "landscape_surface"]  # their analyses run end to end in
    # tests/test_modeconn.py and tests/test_surface.py, and every figure in the slow full-DAG test
    planned = scheduled_jobs(snakemake(workdir, "-n", *(f"figures/{f}.png" for f in analysed)))
    assert planned.pop("train_linf_traced", 2) == 2  # the two models, unless an earlier test trained them
    assert planned == {"analyse_mode_connectivity": 2, "analyse_surface": 2, "figure_data_modeconn": 1,
                       "figure_data_surface": 1, "plot": 2}
    # sac fig. 1: a SaC variant per alpha, whose training job declares its per-epoch Lipschitz log (the log:
    # tests/test_sac.py; the data table and the drawing: tests/test_alpha_sweep.py; built: the slow full-DAG test)
    output = snakemake(workdir, "-n", "figures/sac_fig1_alpha.png")
    assert scheduled_jobs(output) == {"train_linf_lipschitz": 1, "verify_linf": 1, "figure_data_alpha": 1, "plot": 1}
    assert "small/sac_linf-alpha0.2/eps2_255/sac_cifar10/seed0/lipschitz.csv" in output
    snakemake(workdir, *(f"figures/{f}.png" for f in traced))
    for figure in traced:
        for ext in ("png", "pdf"):
            assert (workdir / f"figures/{figure}.{ext}").stat().st_size > 10_000, figure
    steps_per_epoch = 6  # 1397 digits at batch 256; every 4th of 12 steps traced
    curves = tidy(workdir, "landscape_fig3_6_curves")
    assert sorted(curves.groupby("trained")["step"].apply(list).to_dict().items()) == [
        (m, list(range(0, 2 * steps_per_epoch, 4))) for m in ("ibp", "ours")]
    assert (curves["loss_min"] <= curves["loss"]).all() and (curves["loss"] <= curves["loss_max"]).all()
    smooth = tidy(workdir, "landscape_fig3_7_smoothness")  # the ramp-up only: epoch 1 of 2, ramp in (0, 1)
    assert set(smooth["panel"]) == {"fig. 3.7"} and list(smooth.groupby("trained").size()) == [1, 1]  # step 4
    assert smooth[["loss_variation", "grad_l2_distance", "grad_cosine_distance"]].notna().all().all()
    relu = tidy(workdir, "landscape_figC6_C8_relu")
    states, slopes = relu[relu["kind"] == "states"], relu[relu["kind"] == "slopes"]
    assert len(states) == 2 and len(slopes) == 2 * 10 and set(slopes["step"]) == set(states["step"])


def test_the_l2_table_and_its_figures_share_their_trained_models(workdir):
    """Thesis tables 3.1-3.2, figs. 3.3, 3.4 and B.1-B.2 (built by the slow full-DAG test): one training
    per (method, setting), verified at the table's radius and at every eps_eval of fig. 3.4's panels; the
    CIFAR-10 protocol logs every layer's norm per epoch, which figs. B.1-B.2 read."""
    targets = ("tables/bcp_table3_2_l2.md", "tables/bcp_table3_1_time.md", *(f"figures/bcp_{name}.png" for name in (
        "fig3_4_verified_vs_eps", "figB1_lipschitz", "fig3_3_tightness")))
    output = snakemake(workdir, "-n", "-F", *targets)
    # MNIST: 3 table runs + IBP, four at eps 2; CIFAR-10: 8 table runs, eight at 72/255 (4C3F, 6C2F), standard;
    # the WRN's LMT and BCP (its CAP row is quoted); Tiny ImageNet's BCP. Verified: 24 runs x 6 radii, the WRN's
    # two and Tiny ImageNet's one at the table's. Fig. 3.3: the two BCP models of the table.
    assert scheduled_jobs(output) == {"train_linf": 9, "train_linf_lipschitz": 19, "verify_linf": 147, "table_linf": 1,
                                      "table_cost": 1,
                                      "figure_data_verified_vs_eps": 1, "figure_data_lipschitz": 1,
                                      "analyse_outer_bound": 2, "figure_data_outer_bound": 1, "plot": 3}
    assert "results/verify/smoke/digits_rgb8/small/bcp/eps72_255/bcp_cifar10/seed0/eps108_255.tsv" in output
    assert "results/ckpt/smoke/digits_rgb8/small/standard/eps36_255/bcp_cifar10/seed0/lipschitz.csv" in output
    wrn = "results/ckpt/smoke/digits_rgb8/wrn_tiny/{}/eps36_255/bcp_cifar10/seed0/model.pt"
    assert wrn.format("bcp") in output and wrn.format("lmt") in output and wrn.format("cap") not in output
    assert "results/ckpt/smoke/digits_as_tinyimagenet/small_star/bcp/eps36_255/bcp_tinyimagenet/seed0/model.pt" in output


def test_duet_is_trained_towards_a_guide_of_another_seed_and_shares_the_bcp_tables_runs(workdir):
    """Duet tables 1-3 and figs. 2-3: LMT and BCP are thesis Table 3.2's 6C2F runs; Duet's guide is standard
    training under Duet's protocol at the next seed (an independent vanilla model), trained before Duet;
    LocalBCP trains under Huang et al.'s protocol."""
    targets = ("tables/duet_table1_similarity.md", "tables/duet_table2.md", "tables/duet_table3_cost.md",
               "figures/duet_fig2_3_curves.png", "tables/bcp_table3_2_l2.md")
    output = snakemake(workdir, "-n", "-F", *targets)
    jobs = scheduled_jobs(output)
    assert jobs["analyse_rotation"] == 1 and jobs["table_rotation"] == 1 and jobs["figure_data_test_curves"] == 1
    run = "results/ckpt/smoke/digits_rgb8/small_star/{}/eps36_255/{}/seed{}/model.pt"
    assert run.format("standard", "duet_cifar10", 1) in output and run.format("standard", "duet_cifar10", 0) not in output
    assert run.format("duet", "duet_cifar10", 0) in output and run.format("lmt", "duet_cifar10", 0) not in output
    assert "small_star/local_bcp/eps0.1551/local_lip_cifar10/seed0/model.pt" in output  # Huang et al.'s eps_train
    assert output.count(f"output: {run.format('bcp', 'bcp_cifar10', 0)}") == 1


def test_tables_over_seeds_train_every_row_at_each_seed(workdir):
    """Thesis tables B.2 (BCP and IBP at 9 seeds, CAP once) and B.3 (ten lambda schedules, 3 seeds each)."""
    output = snakemake(workdir, "-n", "-F", "tables/bcp_tableB2_linf.md", "tables/bcp_tableB3_lambda.md")
    assert scheduled_jobs(output) == {"train_linf": 19, "train_linf_lipschitz": 30, "verify_linf": 49, "table_linf": 2}
    run = "results/verify/smoke/digits_rgb8/small/{}/eps8_255/bcp_cifar10_linf/seed{}/eps8_255.tsv"
    assert all(run.format(m, seed) in output for m in ("bcp", "ibp") for seed in range(9))
    assert run.format("cap", 0) in output and run.format("cap", 1) not in output
    assert "small/bcp-lam_start0.01-lam_end0.5/eps36_255/bcp_cifar10/seed2/model.pt" in output


def test_crm_tables_train_their_rows_and_share_local_lip_b_with_the_duet_tables(workdir):
    """crm Table 1: Standard, GloRo and CRM on the MNIST, CIFAR-10 and Tiny ImageNet stand-ins under CRM's protocol;
    Local-Lip-B on CIFAR-10 is the Duet tables' LocalBCP run, on Tiny ImageNet its own (Huang et al.'s protocols and
    eps_train); the literature's rows are quoted."""
    output = snakemake(workdir, "-n", "-F", "tables/crm_table1_l2.md", "tables/crm_table2_lipschitz.md",
                       "figures/crm_fig1_radii.png")
    # Table 2 and Fig. 1 analyse Table 1's runs: its CRM models, and the MNIST CRM and standard ones
    assert scheduled_jobs(output) == {"train_linf": 11, "verify_linf": 11, "table_linf": 1,
                                      "analyse_pairwise_lipschitz": 1, "table_pairwise_lipschitz": 1,
                                      "analyse_radii": 2, "figure_data_radii": 1, "plot": 1}
    run = "results/ckpt/smoke/{}/{}/{}/eps{}/{}/seed0/model.pt"
    assert all(run.format("digits", "small", m, "1.58", "crm_mnist") in output for m in ("standard", "gloro", "crm"))
    assert run.format("digits_rgb8", "small_star", "local_bcp", "0.1551", "local_lip_cifar10") in output
    tiny = ("digits_as_tinyimagenet", "small_star")  # crm's 8C2F* and 8C2F: Small* at smoke scale
    assert run.format(*tiny, "local_bcp", "0.16", "local_lip_tinyimagenet") in output
    assert all(run.format(*tiny, m, "36_255", "crm_tinyimagenet") in output for m in ("standard", "gloro", "crm"))


def test_eot_tables_train_each_network_once_and_attack_it_once_per_printed_attack(workdir):
    """Thesis Tables 2.1 and A.5 (CIFAR-10): five networks and RSE + GradDiv, trained by train_linf under the
    graddiv protocol; each attack group a job per network, a deterministic network's at one gradient sample."""
    output = snakemake(workdir, "-n", "-F", "tables/graddiv_table2_1.md", "tables/graddiv_tableA5_rse.md")
    # attacks: standard and pgd fgsm_n1 + pgd_n1; rse fgsm_n20 + pgd n1 (Table A.5), 5, 10, 20; adv_bnn and its
    # GradDiv fgsm_n20 + pgd n5, 10, 20; rse_graddiv as rse
    assert scheduled_jobs(output) == {"train_linf": 4, "train_linf_concentration": 2,   # Adv-BNN's log fig. 2.3's
                                      "attack_eot": 2 + 2 + 5 + 4 + 4 + 5, "table_eot": 2}
    run = "results/eot/smoke/digits_rgb8/small/{}/eps8_255/graddiv_cifar10/seed0/{}.tsv"
    assert run.format("standard", "fgsm_n1") in output and run.format("standard", "fgsm_n20") not in output
    assert run.format("adv_bnn_graddiv", "pgd_n20") in output and run.format("rse", "pgd_n1") in output


def test_graddiv_figures_read_the_tables_runs_and_attack_files_and_the_regularisers_runs(workdir):
    """Figs. 2.3 and 2.7 (+ A.1-A.5): Adv-BNN's runs log their concentration; a figure's curve reads the attack
    file its table's cell reads (a deterministic network's at n = 1), fig. A.5 one file per n."""
    output = snakemake(workdir, "-n", "-F", "figures/graddiv_fig2_3_concentration.png",
                       "figures/graddiv_fig2_7_eot_accuracy.png")
    jobs = scheduled_jobs(output)
    # MNIST: standard, pgd, rse + Adv-BNN and five regularisers; CIFAR10: Adv-BNN and three; STL10: 3 + 4
    assert (jobs["train_linf"], jobs["train_linf_concentration"]) == (6, 6 + 4 + 4)
    run = "results/eot/smoke/digits/small/{}/eps0.3/graddiv_mnist/seed0/{}.tsv"
    assert all(run.format(m, "pgd_n1") in output for m in ("standard", "pgd"))
    assert all(run.format(m, f"pgd_n{n}") in output for m in ("adv_bnn", "adv_bnn_graddiv") for n in (1, 5, 40))
    assert run.format("adv_bnn_graddiv_max", "pgd_n20") in output and run.format("rse", "pgd_n40") not in output
    assert "digits_rgb8/small/adv_bnn_graddiv_kappa/eps8_255/graddiv_cifar10/seed0/concentration.csv" in output
