"""The config schema rejects bad input before any job runs, naming the offending key."""
import copy
import json
import subprocess
import sys

import pytest
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from bench.data import DATASETS
from bench.bounds import BOUNDS
from bench.methods import METHODS
from bench.models import MODELS


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
    assert defs["method"]["enum"] == list(METHODS)
    assert defs["bound"]["enum"] == list(BOUNDS)


def test_snakemake_refuses_bad_config_before_any_job(repo, tmp_path):
    cmd = [sys.executable, "-m", "snakemake", "-s", str(repo / "Snakefile"), "-d", str(tmp_path),
           "--cores", "1", "--config", "scale=huge"]
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=repo)
    assert result.returncode != 0
    assert "'huge' is not one of" in result.stderr + result.stdout
    assert not (tmp_path / "results").exists()


def test_method_that_is_not_a_row_of_the_table_is_refused(repo, tmp_path):
    override = tmp_path / "bad.yaml"
    override.write_text(json.dumps({"tables": {"table2_cifar_l2": {"methods": ["standard"]}}}))
    cmd = [sys.executable, "-m", "snakemake", "-s", str(repo / "Snakefile"), "-d", str(tmp_path),
           "-n", "--configfile", str(repo / "config/config.yaml"), str(override)]
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=repo)
    assert result.returncode != 0
    assert "not rows of that paper table" in result.stderr + result.stdout


def test_best_checkpoint_table_without_selection_is_refused_before_any_job(repo, tmp_path):
    override = tmp_path / "bad.yaml"
    override.write_text(json.dumps({"scales": {"smoke": {"train_linf": {"fig3_6": {"select_best": False}}}}}))
    cmd = [sys.executable, "-m", "snakemake", "-s", str(repo / "Snakefile"), "-d", str(tmp_path),
           "-n", "tables/landscape_table3_3.md", "--configfile", str(repo / "config/config.yaml"), str(override)]
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=repo)
    assert result.returncode != 0
    assert "set select_best: true in scales.smoke.train_linf.fig3_6" in result.stderr + result.stdout
