"""The SLURM profile against a real one-node SLURM cluster (workflow/slurm/local_cluster.sh) on this machine.

Slow and root-only: it may install slurm-wlm and munge with apt-get. Run with
`python -m pytest -m slow tests/test_slurm.py -s -q` (-s prints the SLURM job ids and the wall time).
"""
import os
import re
import shutil
import subprocess
import sys
import time

import pytest
import yaml

from conftest import REPO
from test_workflow import TINY

CLUSTER = REPO / "workflow" / "slurm" / "local_cluster.sh"
COMPUTE_RULES = {"train", "certify_smoothing"}


@pytest.fixture(scope="module")
def slurm_cluster():
    """A running local cluster; stopped afterwards only if this fixture started it."""
    if os.geteuid() != 0:
        pytest.skip("needs root: local_cluster.sh installs SLURM and starts its daemons")
    if shutil.which("slurmctld") is None and shutil.which("apt-get") is None:
        pytest.skip("SLURM is not installed and apt-get is not available to install it")
    was_running = subprocess.run(["bash", CLUSTER, "status"], capture_output=True).returncode == 0
    start = subprocess.run(["bash", CLUSTER, "start"], capture_output=True, text=True, timeout=900)
    assert start.returncode == 0, start.stdout + start.stderr
    yield
    if not was_running:
        subprocess.run(["bash", CLUSTER, "stop"], check=True)


def rules_by_jobid(output: str) -> dict[int, str]:
    """Snakemake job id -> rule name, from the job blocks snakemake prints ("[local]rule X:" ... "jobid: N")."""
    rules, rule = {}, None
    for line in output.splitlines():
        if m := re.match(r"^(?:local)?rule (\w+):$", line.strip()):
            rule = m.group(1)
        elif (m := re.match(r"^jobid: (\d+)$", line.strip())) and rule:
            rules[int(m.group(1))] = rule
    return rules


@pytest.mark.slow
def test_smoke_table2_runs_through_slurm(slurm_cluster, tmp_path):
    for item in ("Snakefile", "workflow", "config", "bench", "envs"):
        copy = shutil.copytree if (REPO / item).is_dir() else shutil.copy
        copy(REPO / item, tmp_path / item)
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(TINY))

    # Status polling every 10 s instead of the plugin's 40 s: each job runs for seconds here. Still well under
    # SLURM's MinJobAge / 3, so the plugin keeps polling squeue.
    cmd = [sys.executable, "-m", "snakemake", "--profile", "workflow/profiles/slurm", "tables/table2_cifar_l2.md",
           "--jobs", "2", "--slurm-keep-successful-logs", "--slurm-init-seconds-before-status-checks", "10",
           "--configfile", "config/config.yaml", "tiny.yaml"]
    began = time.monotonic()
    result = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=1800)
    wall = time.monotonic() - began
    output = result.stdout + result.stderr
    assert result.returncode == 0, output

    # (a) the table, at smoke scale
    table = (tmp_path / "tables/table2_cifar_l2.md").read_text()
    assert "Scale: **smoke**" in table

    # (b) every compute job went through sbatch, the table rule ran here
    submitted = {int(j): s for j, s in re.findall(r"Job (\d+) has been submitted with SLURM jobid (\d+)", output)}
    rules = rules_by_jobid(output)
    submitted_rules = sorted(rules[j] for j in submitted)
    assert submitted_rules == ["certify_smoothing"] * 3 + ["train"] * 3, (submitted, rules)
    assert "table_smoothing" in rules.values() and "table_smoothing" not in submitted_rules
    assert set(rules.values()) == COMPUTE_RULES | {"table_smoothing"}, rules

    # (c) one SLURM log per job
    logs = {p.stem: p for p in (tmp_path / ".snakemake/slurm_logs").rglob("*.log")}
    assert set(submitted.values()) <= set(logs), (submitted, sorted(logs))

    print(f"\nSLURM profile: {len(submitted)} jobs through sbatch in {wall:.0f} s (snakemake wall time)")
    for job, slurm_id in sorted(submitted.items(), key=lambda js: int(js[1])):
        print(f"  SLURM jobid {slurm_id}: {rules[job]}  (log {logs[slurm_id].relative_to(tmp_path)})")
