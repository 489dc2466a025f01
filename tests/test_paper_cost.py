"""The paper-scale cost planner (bench.perf.paper_cost): jobs read from a dry run, each job's units from the
paper protocols, hours from unit seconds kept in a file."""
import json
import math

import pytest
import torch
import yaml

from bench.perf import paper_cost, unit_time
from conftest import REPO
from bench.perf.paper_cost import SPLIT_SIZES, job_units, main, parse_dry_run, plan, unit_key

DRY_RUN = """
rule train_linf_lipschitz:
    output: results/ckpt/paper/cifar10/6c2f/bcp/eps36_255/bcp_cifar10/seed0/model.pt
    wildcards: scale=paper, dataset=cifar10, model=6c2f, method=bcp, eps=36_255, protocol=bcp_cifar10, seed=0
    resources: tmpdir=/tmp

rule table_linf:
    output: tables/x.md
"""


@pytest.fixture(scope="module")
def paper():
    return yaml.safe_load((REPO / "config" / "config.yaml").read_text())


def test_a_dry_runs_jobs_are_read_with_their_wildcards():
    assert parse_dry_run(DRY_RUN) == [("train_linf_lipschitz", {
        "scale": "paper", "dataset": "cifar10", "model": "6c2f", "method": "bcp", "eps": "36_255",
        "protocol": "bcp_cifar10", "seed": "0"})]


def test_units_follow_the_paper_protocols(paper):
    scale = paper["scales"]["paper"]
    units = job_units(*parse_dry_run(DRY_RUN)[0], scale)
    protocol = scale["train_linf"]["bcp_cifar10"]
    assert all(kind == "train_step" and unit["batch"] == protocol["batch_size"] and unit["norm"] == "l2"
               for kind, unit, _ in units)
    warmup, rampup, per_epoch = protocol["warmup_epochs"], protocol["rampup_epochs"], math.ceil(50_000 / 50)
    assert [(unit.get("ramp", 1.0), steps) for _, unit, steps in units] == [  # the eps schedule's three phases
        (0.0, warmup * per_epoch), (0.5, rampup * per_epoch), (1.0, (protocol["epochs"] - warmup - rampup) * per_epoch)]
    assert "ramp" not in units[2][1]  # the key of the last phase is that of a unit measured at eps_train
    fig3_6 = {"scale": "paper", "dataset": "cifar10", "model": "medium", "method": "ibp", "eps": "8_255",
              "protocol": "fig3_6", "seed": "0"}
    *phases, (target, _, every_step), (trace, _, traced) = job_units("train_linf_traced", fig3_6, scale)
    steps = sum(count for _, _, count in phases)  # the loss at eps_train before every step, a trace every 50th
    assert (target, every_step, trace) == ("target_loss", steps, "trace") and traced == math.ceil(steps / 50)
    bnn = {**fig3_6, "model": "graddiv_mnist", "method": "adv_bnn", "protocol": "graddiv_mnist", "eps": "0.3"}
    assert job_units("train_linf_concentration", bnn, scale)[-1][0] == "concentration"
    wildcards = {"scale": "paper", "dataset": "cifar10", "model": "resnet110", "method": "cohen", "sigma": "0.25",
                 "seed": "0"}
    [(kind, unit, batches)] = job_units("certify_smoothing", wildcards, scale)
    certify = scale["certify"]["cifar10"]
    assert kind == "forward" and batches == pytest.approx(
        math.ceil(SPLIT_SIZES["cifar10"][1] / certify["skip"]) * (certify["n0"] + certify["n"]) / certify["batch_size"])
    assert job_units("table_linf", {}, scale) == []


def test_hours_are_unit_seconds_times_counts_and_unmeasured_units_are_reported(repo, paper, tmp_path, monkeypatch,
                                                                                capsys):
    monkeypatch.chdir(repo)
    target = "tables/duet_table2.md"
    jobs = paper_cost.planned_jobs([target])  # the real DAG, once
    monkeypatch.setattr(paper_cost, "planned_jobs", lambda targets: jobs)
    units = [unit for rule, w in jobs for unit in job_units(rule, w, paper["scales"]["paper"])]
    timings = {unit_key(kind, unit): 0.5 for kind, unit, _ in units
               if unit["method"] != "duet"}
    verified = {unit_key(kind, unit) for kind, unit, _ in units if kind == "verify_point" and unit["method"] != "duet"}
    timings.update({key: {"seconds": 0.5, "once": 36.0} for key in verified})  # setup: once per job
    [row] = plan([target], dict(timings), paper)
    expected = sum(count * 0.5 / 3600 + (kind == "verify_point") * 0.01 for kind, unit, count in units
                   if unit["method"] != "duet")
    assert verified and row["train"] + row["certify"] == pytest.approx(expected) and row["missing"]
    assert all("duet" in missing for missing in row["missing"])
    file = tmp_path / "timings.json"
    file.write_text(json.dumps(timings))
    main(["--no-measure", "--timings", str(file), target])
    assert ">= " in capsys.readouterr().out  # a total with units left out says it is a lower bound


def test_eot_jobs_count_points_times_radii_and_their_units_are_measured_on_the_randomized_network(paper,
                                                                                                 monkeypatch):
    scale, tables = paper["scales"]["paper"], paper["tables"]
    w = {"dataset": "mnist", "model": "graddiv_mnist", "method": "adv_bnn", "attack": "pgd_n20"}
    [(kind, unit, count)] = job_units("attack_eot", w, scale, tables)
    assert kind == "eot_point" and count == 10_000 * 9 and unit["members"] == 20  # Table A.2: eps 0, 0.1, ..., 0.4
    [(kind, unit, count)] = job_units("analyse_transfer", w, scale, tables)
    assert kind == "transfer_point" and count == 200 and unit["members"] == 50   # every 50th MNIST test image
    tiny = {"dataset": "digits", "model": "small", "method": "adv_bnn", "attack": "pgd_n2", "steps": 2, "members": 3,
            "samples": 3}
    for kind in ("eot_point", "gradient_point", "transfer_point"):
        assert 0 < unit_time.measure(kind, tiny, "cpu") < 5
    step = {**tiny, "dataset": "mnist", "batch": 2, "sigma": None, "eps": 0.1, "norm": "linf"}
    import bench.concentration
    import bench.traces
    calls = []
    for module, name in ((bench.concentration, "sample_gradients"), (bench.traces.Tracer, "before_step")):
        real = getattr(module, name)
        monkeypatch.setattr(module, name, lambda *a, real=real, name=name, **kw: calls.append(name) or real(*a, **kw))
    for kind, method in (("concentration", "adv_bnn"), ("trace", "ibp")):  # what protocols add to a step
        assert 0 < unit_time.measure(kind, {**step, "method": method}, "cpu") < 5
    assert set(calls) == {"sample_gradients", "before_step"}


def test_each_measured_unit_is_saved_at_once_a_failed_one_never_and_shared_runs_count_once(paper, monkeypatch):
    jobs = parse_dry_run(DRY_RUN) + [("train_linf", {**parse_dry_run(DRY_RUN)[0][1], "method": "duet"})]
    monkeypatch.setattr(paper_cost, "planned_jobs", lambda targets: jobs)  # both targets need the same runs

    def measure(kind, unit):
        if unit["method"] == "duet":
            raise RuntimeError("no guide on disk")
        return 2.0
    saved = []
    one, other, together = plan(["a", "b"], {}, paper, measure, lambda timings: saved.append(dict(timings)))
    assert len(saved) == 3 and list(saved[-1].values()) == [2.0] * 3  # 3 phases; the failure: next run
    assert one["missing"] == ["train_step duet"] and one["trainings"] == 2
    assert together["target"] == "all 2 targets together" and together["train"] == one["train"] == other["train"] > 0


def test_a_verification_whose_certifier_fails_is_not_measured(monkeypatch):
    import bench.verify
    unit = {"dataset": "digits", "model": "small", "method": "ibp", "norm": "linf", "eps": 0.1, "certifiers": ["ibp"],
            "pgd_steps": 1}
    entry = unit_time.measure("verify_point", unit, "cpu", points=2)
    assert 0 < entry["seconds"] < 5 and entry["once"] >= 0  # and the first call's extra: once per model
    monkeypatch.setattr(bench.verify, "verify_batch",  # as verify_batch reports an out-of-memory certifier
                        lambda model, x, *args: {"ibp": torch.full((len(x),), float("nan"))})
    with pytest.raises(RuntimeError, match="certifier ibp failed"):
        unit_time.measure("verify_point", unit, "cpu", points=2)


def test_a_residual_network_is_verified_by_the_bounds_that_apply_to_it_as_in_verify_model():
    unit = {"dataset": "digits_rgb8", "model": "wrn_tiny", "method": "ibp", "norm": "linf", "eps": 0.1,
            "certifiers": ["ibp", "crown_ibp", "ours"], "pgd_steps": 1}
    assert 0 < unit_time.measure("verify_point", unit, "cpu", points=2)["seconds"] < 5


def test_duet_is_measured_with_a_stand_in_guide_of_its_architecture(tmp_path, monkeypatch):
    monkeypatch.setattr(unit_time.tempfile, "tempdir", str(tmp_path))
    unit = {"dataset": "mnist", "model": "small", "method": "duet", "options": {"guide": "standard", "rank": 2},
            "batch": 4, "sigma": None, "eps": 0.1, "norm": "l2"}
    assert 0 < unit_time.measure("train_step", unit, "cpu") < 5
    assert not list(tmp_path.glob("paper_cost_*"))  # the stand-in's checkpoint is removed


def test_a_batch_over_max_batch_is_measured_smaller_scaled_and_said_so(paper, monkeypatch):
    unit = {"dataset": "mnist", "model": "small", "method": "standard", "batch": 8, "sigma": None, "eps": None,
            "norm": "linf"}
    entry = unit_time.measure("train_step", unit, "cpu", max_batch=2)
    assert entry["measured_batch"] == 2 and 0 < entry["seconds"] < 5
    monkeypatch.setattr(paper_cost, "planned_jobs", lambda targets: parse_dry_run(DRY_RUN))
    units = job_units(*parse_dry_run(DRY_RUN)[0], paper["scales"]["paper"])
    timings = {unit_key(kind, unit): {"seconds": 3.0, "measured_batch": 2} for kind, unit, _ in units}
    [row] = plan(["a"], timings, paper)
    assert row["train"] == pytest.approx(sum(steps for _, _, steps in units) * 3.0 / 3600)
    assert row["scaled"] == [f"train_step bcp (batch {units[0][1]['batch']} from 2)"]


def test_units_written_here_are_measured_elsewhere_without_a_dry_run(tmp_path, monkeypatch):
    monkeypatch.setattr(paper_cost, "planned_jobs", lambda targets: parse_dry_run(DRY_RUN) * 2)
    units = tmp_path / "units.json"
    main(["--write-units", str(units), "x"])
    [entry, *_] = written = json.loads(units.read_text())
    assert len(written) == 3 and entry["kind"] == "train_step"  # the job's copies share its 3 phases' units
    tiny = {**entry["unit"], "dataset": "mnist", "model": "small", "batch": 2}
    units.write_text(json.dumps([entry, {"kind": "train_step", "unit": tiny}]))
    monkeypatch.setattr(paper_cost, "planned_jobs", None)  # a machine without snakemake
    timings = tmp_path / "timings.json"
    timings.write_text(json.dumps({unit_key("train_step", entry["unit"]): 1.0}))
    main(["--units", str(units), "--timings", str(timings)])
    saved = json.loads(timings.read_text())
    assert saved[unit_key("train_step", entry["unit"])] == 1.0 and 0 < saved[unit_key("train_step", tiny)] < 5


def test_each_phase_of_the_eps_schedule_is_measured_at_its_own_ramp(monkeypatch):
    import bench.methods.schedules as schedules
    bounds = []
    real = schedules.margin_bounds
    monkeypatch.setattr(schedules, "margin_bounds", lambda *args, **kw: bounds.append(args[4]) or real(*args, **kw))
    unit = {"dataset": "mnist", "model": "small", "method": "crown_ibp_1to0", "batch": 2, "sigma": None, "eps": 0.1,
            "norm": "linf"}
    for ramp, expected in ((0.0, []), (0.5, ["crown_ibp"]), (1.0, ["ibp"])):  # beta 1 -> 0: both bounds half-way
        bounds.clear()
        unit_time.measure("train_step", {**unit, "ramp": ramp}, "cpu")
        assert set(bounds) == set(expected), ramp
    bounds.clear()
    assert unit_time.measure("target_loss", {**unit, "ramp": 0.0}, "cpu") > 0 and set(bounds) == {"ibp"}  # eps_train
