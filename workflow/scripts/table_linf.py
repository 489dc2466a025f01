"""Snakemake glue for rule `table_linf`: verification files -> Markdown table."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1]))  # the repo's bench, also under --sdm conda

from bench.io import atomic_write_text
from bench.reference import reference_table
from bench.report.linf_table import VerifiedRun, build_linf_table
from bench.report.provenance import git_commit

p = snakemake.params
runs = [VerifiedRun.load(method, dataset, eps, path) for method, dataset, eps, path in p.cells]
markdown = build_linf_table(reference_table(p.reference["paper"], p.reference["table"]), runs, p.scale, p.note,
                            git_commit(p.repo), p.reference["paper"], p.used)
atomic_write_text(markdown, snakemake.output[0])
