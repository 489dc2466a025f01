"""What exists: the paper map in the repository, `python -m bench list`, and unknown targets answered with
their status or the closest names."""
import subprocess
import sys

import yaml

from bench.catalog import catalog, paper_map, unknown_target_message


def tables(repo):
    return yaml.safe_load((repo / "config/config.yaml").read_text())["tables"]


def test_every_configured_table_is_on_the_paper_map_and_implemented(repo):
    entries = {e["target"]: e for e in catalog(tables(repo), repo)}
    for name in tables(repo):
        assert entries[f"tables/{name}.md"]["status"] == "implemented"
    without = {name: spec for name, spec in tables(repo).items() if name != "table3_imagenet_l2"}
    unbuilt = {e["target"]: e for e in catalog(without, repo)}
    assert unbuilt["tables/table3_imagenet_l2.md"]["status"] == "quoted only"  # numbers in sac.yaml, no rule
    assert entries["figures/graddiv_fig2_3_concentration.png"]["status"] == "not yet"
    assert len(paper_map()["tables"]) == 20 and len(paper_map()["figures"]) == 19


def test_tables_readme_names_every_implemented_target(repo):
    readme = (repo / "tables/README.md").read_text()
    assert all(f"`tables/{name}.md`" in readme for name in tables(repo))


def test_list_command_prints_every_target_with_its_status(repo):
    out = subprocess.run([sys.executable, "-m", "bench", "list"], cwd=repo, capture_output=True, text=True,
                         check=True).stdout
    assert "tables/table2_cifar_l2.md" in out and "figures/crm_fig1_radii.png" in out
    assert "42 implemented, 0 quoted only, 0 not yet" in out
    violins = next(line for line in out.splitlines() if line.startswith("figures/landscape_fig3_10_violins.png"))
    assert "implemented" in violins and "4 trained models analysed" in violins
    alpha = next(line for line in out.splitlines() if line.startswith("figures/sac_fig1_alpha.png"))
    assert "implemented" in alpha and "10 trained models analysed" in alpha


def test_unknown_targets_get_their_status_or_the_closest_names(repo):
    assert "Did you mean: tables/table2_cifar_l2.md" in unknown_target_message("tables/tabel2_cifar_l2.md",
                                                                                tables(repo))
    assert "status: not yet" in unknown_target_message("figures/graddiv_fig2_4_scatter.png", tables(repo))


def test_snakemake_answers_an_unknown_target_before_any_job(repo, tmp_path):
    cmd = [sys.executable, "-m", "snakemake", "-s", str(repo / "Snakefile"), "-d", str(tmp_path), "-n",
           "tables/book_table14.md"]
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=repo)
    assert result.returncode != 0
    assert "Did you mean: tables/book_table14_1.md" in result.stdout + result.stderr
