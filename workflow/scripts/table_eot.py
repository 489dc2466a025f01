"""Snakemake glue for rule `table_eot`: per-point EOT attack files -> Markdown table."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1]))  # the repo's bench, also under --sdm conda

from bench.io import read_rows
from bench.logs import snakemake_job
from bench.reference import reference_table
from bench.report.eot_table import AttackedRun, build_eot_table
from bench.report.provenance import git_commit
from bench.report.publish import write_table

with snakemake_job(snakemake):
    p = snakemake.params
    runs = [AttackedRun(method, dataset, attack, *read_rows(path)) for method, dataset, attack, path in p.cells]
    markdown = build_eot_table(reference_table(p.reference["paper"], p.reference["table"]), runs, p.scale, p.note,
                               git_commit(p.repo), p.reference["paper"], p.used)
    write_table(markdown, snakemake.output.markdown, snakemake.output.html)
