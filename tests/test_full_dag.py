"""The whole smoke DAG, as the README's main command runs it: every implemented table and figure from an empty cache, then
nothing left to do. Slow (about an hour on 2 cores): `python -m pytest -m slow tests/test_full_dag.py -s -q`.
The default suite covers each rule on the smallest configs instead (tests/test_workflow.py)."""
import shutil
import subprocess
import sys
import time

import pytest
import yaml

from conftest import REPO


@pytest.mark.slow
def test_the_main_job_builds_every_implemented_table_and_figure_and_then_has_nothing_to_do(tmp_path):
    for item in ("Snakefile", "workflow", "config", "bench", "envs"):
        copy = shutil.copytree if (REPO / item).is_dir() else shutil.copy
        copy(REPO / item, tmp_path / item)
    began = time.monotonic()
    run = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2"], cwd=tmp_path, capture_output=True,
                         text=True)
    assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-5000:]
    print(f"\nfull smoke DAG: {time.monotonic() - began:.0f} s")
    tables = [f"tables/{name}.md" for name in yaml.safe_load((REPO / "config/config.yaml").read_text())["tables"]]
    assert tables and all((tmp_path / target).stat().st_size > 0 for target in tables)
    for target in tables:
        assert "Scale: **smoke**" in (tmp_path / target).read_text(), target
    figures = yaml.safe_load((REPO / "config/config.yaml").read_text())["figures"]
    for name in figures:
        assert (tmp_path / f"results/figures/{name}.tsv").stat().st_size > 0, name
        for ext in ("png", "pdf"):
            assert (tmp_path / f"figures/{name}.{ext}").stat().st_size > 10_000, (name, ext)
    again = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2", "-n"], cwd=tmp_path,
                           capture_output=True, text=True)
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr
