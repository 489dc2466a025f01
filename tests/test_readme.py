"""Every command in the README runs as written: each line of its bash blocks is dry-run here (snakemake with
-n, make with -n), or run when it is quick, and a line of any other kind fails this test until it is covered."""
import re
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import REPO


def readme_commands() -> list[str]:
    text, commands, inside = (REPO / "README.md").read_text(), [], False
    for line in text.splitlines():
        if line.startswith("```"):
            inside = line.strip() == "```bash"
            continue
        if inside and line.split("#")[0].strip():
            commands.append(line.split("#")[0].strip())
    return commands


def job_stats(output: str) -> dict[str, int]:
    if "Job stats:" not in output:
        return {}
    stats = output[output.index("Job stats:"):]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", stats, re.M) if m.group(1) != "total"}


def dry_run(command: str) -> tuple[str, subprocess.CompletedProcess]:
    words = shlex.split(command)
    if words[0] == "snakemake":  # -F: the whole DAG of what the line asks for, built or not
        words = [sys.executable, "-m", "snakemake", *words[1:], "-n", "-F"]
    elif words[0] == "make":
        words = ["make", "-n", *words[1:]]
    elif words[:3] == ["python", "-m", "bench"]:
        words = [sys.executable, *words[1:]]
    elif words[0] == "python":
        words = [sys.executable, *words[1:], "--help"]
    return command, subprocess.run(words, cwd=REPO, capture_output=True, text=True, timeout=300)


COMMANDS = readme_commands()
RUNNABLE = [c for c in COMMANDS if not c.startswith("source ")]


def test_the_readme_has_set_up_main_job_and_test_commands():
    assert COMMANDS[:4] == ["make setup", "source .venv/bin/activate", "snakemake --cores 2", "make test"]
    assert [c for c in COMMANDS if c.startswith("source ")] == ["source .venv/bin/activate"]
    # the report line runs here as written (on a fresh clone it names what to build) and in tests/test_workflow.py
    # on a table it has built
    assert [c for c in COMMANDS if " report" in c] == ["python -m bench report tables/table2_cifar_l2.md"]
    for command in RUNNABLE:
        assert command.split()[0] in ("snakemake", "make", "python"), f"README command not covered: {command}"


@pytest.fixture(scope="module")
def dry_runs():
    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(dry_run, RUNNABLE))


@pytest.mark.parametrize("command", RUNNABLE)
def test_readme_command_runs_as_written(dry_runs, command):
    result = dry_runs[command]
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{command}\n{output[-3000:]}"
    if command.startswith("snakemake"):
        jobs = job_stats(output)
        targets = re.findall(r"(?:tables|figures)/\S+", command)
        assert ("all" in jobs) == (not targets and "list" not in command.split()), jobs  # the targets it names
        for forced in re.findall(r"(?:-R|--forcerun) (\w+)", command):
            assert jobs.get(forced), f"{command} schedules no {forced} job: {jobs}"
        if "scale=paper" in command:
            assert "paper" in output and "smoke" not in " ".join(re.findall(r"results/\S+", output))
