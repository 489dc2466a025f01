"""The config schema rejects bad input before any job runs, naming the offending key; resources per scale;
missing data found when the DAG is built."""
import copy
from dataclasses import fields
import json
import re
import subprocess
import sys

import pytest
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from bench.data import DATASETS
from bench.data.augment import AUGMENTATIONS
from bench.bounds import BOUNDS
from bench.methods import METHODS
from bench.models import MODELS
from bench.protocols import METHOD_NAMES, RANDOMIZED
from bench.train import TrainSettings


@pytest.fixture
def config(repo):
    return yaml.safe_load((repo / "config/config.yaml").read_text())


@pytest.fixture
def schema(repo):
    return str(repo / "workflow/schemas/config.schema.yaml")


def test_shipped_config_is_valid(config, schema):
    validate(config, schema)


@pytest.mark.parametrize("path, value, named", [
    (["scale"], "huge", "huge"),
    (["tables", "table2_cifar_l2", "methods"], ["cohen", "magic"], "magic"),
    (["tables", "table2_cifar_l2", "dataset"], "cifar100", "cifar100"),
    (["tables", "table2_cifar_l2", "sigmas"], [0.3], "0.3"),
    (["tables", "table9_unknown"], {}, "table9_unknown"),
    (["scales", "smoke", "certify", "digits_as_cifar10", "alpha"], 0.9, "alpha"),
    (["device"], "tpu", "tpu"),
    (["deterministic"], "yes", "yes"),
    (["scales", "paper", "verify", "cifar10", "memory_mb"], 0, "memory_mb"),
    (["scales", "paper", "train_linf", "cifar10", "augment"], "mixup", "mixup"),
    (["scales", "paper", "train_linf", "svhn", "per_method", "magic"], {"batch_size": 8}, "magic"),
    (["scales", "paper", "train_linf", "svhn", "per_method", "cap", "batch_sise"], 8, "batch_sise"),
    (["scales", "paper", "train_linf", "svhn", "per_method", "cap", "batch_size"], 0, "batch_size"),
    (["tables", "table2_cifar_l2", "methods"], ["cohen", "ibp"], "ibp"),   # an l_inf method in a smoothing table
    (["tables", "table1_cifar_linf", "methods"], ["ibp", "macer"], "macer"),
    (["scales", "smoke", "train", "digits_as_cifar10", "per_method", "smoothadv", "options", "m"], 0, "m"),
    (["scales", "smoke", "train", "digits_as_cifar10", "per_method", "macer", "options", "k"], 0, "k"),
    (["scales", "smoke", "train", "digits_as_cifar10", "per_method", "macer", "options", "m"], 2, "m"),
    (["scales", "smoke", "train", "digits_as_cifar10", "per_method", "consistency", "options", "m"], 0, "m"),
    (["scales", "smoke", "train", "digits_as_cifar10", "per_method", "cohen"], {"options": {"m": 2}}, "options"),
    (["scales", "smoke", "train", "digits_as_cifar10", "options"], {"m": 2}, "options"),
    (["scales", "smoke", "train", "digits_as_cifar10", "per_method", "sac", "options", "alpha"], 1.0, "alpha"),
    (["scales", "smoke", "train", "digits_as_cifar10", "per_method", "sac", "options", "alpha"], 0, "alpha"),
    (["scales", "paper", "train", "cifar10", "per_method", "smoothadv", "by_sigma"], {0.3: {"epochs": 1}}, "0.3"),
    (["figures", "sac_fig1_alpha", "alphas"], [0.2, 1.0], "1.0"),
    (["figures", "sac_fig1_alpha", "chosen_alpha"], 0, "0"),
    (["figures", "sac_fig1_alpha", "method"], "sac", "sac"),
])
def test_bad_values_are_rejected_naming_the_key(config, schema, path, value, named):
    bad = copy.deepcopy(config)
    node = bad
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(WorkflowError, match=named):
        validate(bad, schema)


def test_schema_enums_match_the_registries(repo):
    defs = yaml.safe_load((repo / "workflow/schemas/config.schema.yaml").read_text())["$defs"]
    assert defs["dataset"]["enum"] == list(DATASETS)
    assert defs["model"]["enum"] == list(MODELS)
    assert defs["method"]["enum"] == list(METHODS) == list(METHOD_NAMES)
    assert list(RANDOMIZED) == [name for name, m in METHODS.items() if m.family == "eot"]
    for family in ("smoothing", "linf", "eot"):
        assert defs[f"{family}_method"]["enum"] == [name for name, m in METHODS.items() if m.family == family]
    assert defs["bound"]["enum"] == list(BOUNDS)
    assert defs["train_fields"]["properties"]["augment"]["enum"] == list(AUGMENTATIONS)
    assert set(defs["train_fields"]["properties"]) == {field.name for field in fields(TrainSettings)}


def test_snakemake_refuses_bad_config_before_any_job(repo, tmp_path):
    cmd = [sys.executable, "-m", "snakemake", "-s", str(repo / "Snakefile"), "-d", str(tmp_path),
           "--cores", "1", "--config", "scale=huge"]
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=repo)
    assert result.returncode != 0
    assert "'huge' is not one of" in result.stderr + result.stdout
    assert not (tmp_path / "results").exists()


def test_method_that_is_not_a_row_of_the_table_is_refused(repo, tmp_path):
    override = tmp_path / "bad.yaml"
    override.write_text(json.dumps({"tables": {"table1_cifar_linf": {"methods": ["ours"]}}}))
    cmd = [sys.executable, "-m", "snakemake", "-s", str(repo / "Snakefile"), "-d", str(tmp_path),
           "-n", "--configfile", str(repo / "config/config.yaml"), str(override)]
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=repo)
    assert result.returncode != 0
    assert "not rows of that paper table" in result.stderr + result.stdout


@pytest.mark.parametrize("methods, message", [
    (["lmt", "bcp"], "method 'lmt' trains against l2 balls only, but its protocol sets norm: linf"),
    (["bcp"], "bcp_table3_2_l2 is a table of l2 balls, but scales.smoke.train_linf.bcp_mnist trains bcp against "
              "linf balls"),
])
def test_a_method_on_the_wrong_ball_is_refused_before_any_job(repo, tmp_path, methods, message):
    override = tmp_path / "bad.yaml"
    override.write_text(json.dumps({"tables": {"bcp_table3_2_l2": {"methods": methods}},
                                    "scales": {"smoke": {"train_linf": {"bcp_cifar10": {"norm": "linf"},
                                                                        "bcp_mnist": {"norm": "linf"}}}}}))
    cmd = [sys.executable, "-m", "snakemake", "-s", str(repo / "Snakefile"), "-d", str(tmp_path),
           "-n", "tables/bcp_table3_2_l2.md", "--configfile", str(repo / "config/config.yaml"), str(override)]
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=repo)
    assert result.returncode != 0
    assert message in " ".join((result.stderr + result.stdout).split())
    assert not (tmp_path / "results").exists()


def test_a_missing_guide_model_is_refused_before_any_job_naming_it(repo, tmp_path):
    override = tmp_path / "bad.yaml"
    override.write_text(json.dumps({"scales": {"smoke": {"train_linf": {"duet_cifar10": {"per_method": {"duet": {
        "options": {"guide": "data/vanilla_6c2f.pt"}}}}}}}}))
    cmd = [sys.executable, "-m", "snakemake", "-s", str(repo / "Snakefile"), "-d", str(tmp_path),
           "-n", "tables/duet_table2.md", "--configfile", str(repo / "config/config.yaml"), str(override)]
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=repo)
    assert result.returncode != 0
    assert ("duet's guide model data/vanilla_6c2f.pt (scales.smoke.train_linf.duet_cifar10.per_method.duet.options."
            "guide) does not exist") in " ".join((result.stderr + result.stdout).split())
    assert not (tmp_path / "results").exists()


def test_an_alpha_figure_whose_chosen_alpha_is_not_trained_is_refused(repo, tmp_path):
    override = tmp_path / "bad.yaml"
    override.write_text(json.dumps({"figures": {"sac_fig1_alpha": {"alphas": [0.1, 0.5], "chosen_alpha": 0.2}}}))
    cmd = [sys.executable, "-m", "snakemake", "-s", str(repo / "Snakefile"), "-d", str(tmp_path),
           "-n", "figures/sac_fig1_alpha.png", "--configfile", str(repo / "config/config.yaml"), str(override)]
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=repo)
    assert result.returncode != 0
    assert "chosen_alpha 0.2 is not one of its alphas [0.1, 0.5]" in result.stderr + result.stdout


def test_best_checkpoint_table_without_selection_is_refused_before_any_job(repo, tmp_path):
    override = tmp_path / "bad.yaml"
    override.write_text(json.dumps({"scales": {"smoke": {"train_linf": {"fig3_6": {"select_best": False}}}}}))
    cmd = [sys.executable, "-m", "snakemake", "-s", str(repo / "Snakefile"), "-d", str(tmp_path),
           "-n", "tables/landscape_table3_3.md", "--configfile", str(repo / "config/config.yaml"), str(override)]
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=repo)
    assert result.returncode != 0
    assert "set select_best: true in scales.smoke.train_linf.fig3_6" in result.stderr + result.stdout


# Targets whose jobs cover every compute rule (the whole DAG takes twice as long to plan)
EVERY_COMPUTE_RULE = ["tables/table2_cifar_l2.md", "tables/table1_cifar_linf.md", "figures/landscape_fig3_10_violins.png",
                      "figures/bcp_fig3_3_tightness.png", "tables/duet_table1_similarity.md",
                      "tables/crm_table2_lipschitz.md", "figures/crm_fig1_radii.png",
                      "figures/landscape_figC3_C5_modeconn.png", "figures/landscape_surface.png",
                      "tables/graddiv_tableA5_rse.md", "figures/graddiv_fig2_8_transfer.png",
                      "figures/graddiv_fig2_9_cosine.png"]


def dry_run_resources(repo, tmp_path, *args) -> dict[str, set[str]]:
    """Rule -> the distinct `resources:` lines of its jobs in a forced dry run of targets using every compute rule."""
    cmd = [sys.executable, "-m", "snakemake", "-s", str(repo / "Snakefile"), "-d", str(tmp_path), "-n", "-F",
           *EVERY_COMPUTE_RULE, *args]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=repo, check=True).stdout
    found, rule = {}, None
    for line in out.splitlines():
        if line.startswith("rule ") or line.startswith("localrule "):
            rule = line.split()[1].rstrip(":")
        elif line.strip().startswith("resources:") and rule:
            found.setdefault(rule, set()).add(line.strip())
    return found


COMPUTE = {"train", "certify_smoothing", "train_linf", "verify_linf", "analyse_tightness", "analyse_outer_bound",
           "analyse_rotation", "analyse_pairwise_lipschitz", "analyse_radii", "analyse_mode_connectivity",
           "analyse_surface", "attack_eot", "analyse_gradient_samples", "analyse_transfer"}


@pytest.mark.parametrize("scale, gpu, mem_mb", [("smoke", 0, 2000), ("paper", 1, None)])
def test_every_compute_job_gets_the_resources_of_its_scale(repo, config, tmp_path, scale, gpu, mem_mb):
    found = dry_run_resources(repo, tmp_path, "--config", f"scale={scale}")
    assert set(found) >= COMPUTE
    for rule in COMPUTE:
        want = config["scales"][scale]["resources"][rule]
        assert len(found[rule]) == 1, found[rule]
        got = dict(item.split("=") for item in found[rule].pop().removeprefix("resources: ").split(", "))
        assert (got["runtime"], got["gpu"], got["mem_mb"]) == (str(want["runtime"]), str(gpu), str(want["mem_mb"]))
        assert mem_mb is None or want["mem_mb"] == mem_mb


def test_every_rule_is_a_compute_rule_with_resources_or_runs_locally(repo, config):
    """A rule that asks the cluster for nothing must not be submitted to it (and the reverse)."""
    sources = [(repo / "Snakefile").read_text()] + [p.read_text() for p in (repo / "workflow/rules").glob("*.smk")]
    rules = {name: body for text in sources
             for name, body in re.findall(r"^rule (\w+):\n((?:[ \t]+.*\n|\n)*)", text, re.M)}
    local = set(re.search(r"^localrules: ([\w,\s]+?)\n\n", sources[0], re.M).group(1).replace(",", " ").split())
    local |= {name for name, body in rules.items() if "localrule: True" in body}
    compute = {name for name, body in rules.items() if "job_resources(" in body}
    assert compute == COMPUTE == set(config["scales"]["paper"]["resources"])
    assert not compute & local and compute | local == set(rules)


def test_a_missing_dataset_stops_the_run_before_any_job(repo, tmp_path):
    cmd = [sys.executable, "-m", "snakemake", "-s", str(repo / "Snakefile"), "-d", str(tmp_path), "--cores", "1",
           "tables/table2_cifar_l2.md", "--config", "scale=paper", f"data_root={tmp_path / 'no_data'}"]
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=repo)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert f"dataset 'cifar10' is missing or corrupted under {tmp_path / 'no_data' / 'cifar10'}" in output
    assert "How to get it: set `allow_download: true`" in output
    assert not (tmp_path / "results").exists() and not (tmp_path / "logs").exists()
    dry = subprocess.run(cmd + ["-n"], capture_output=True, text=True, cwd=repo)
    assert dry.returncode == 0 and "a real run would stop here" in dry.stdout + dry.stderr


def test_allowed_downloads_run_once_per_dataset_before_the_jobs_that_read_it(repo, tmp_path):
    cmd = [sys.executable, "-m", "snakemake", "-s", str(repo / "Snakefile"), "-d", str(tmp_path), "-n",
           "tables/book_table14_1.md", "--config", "scale=paper", "allow_download=True"]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=repo, check=True).stdout
    assert re.search(r"^download_dataset\s+2$", out, re.M)  # mnist and cifar10
