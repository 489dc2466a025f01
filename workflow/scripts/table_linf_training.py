"""Snakemake glue for rule `table_linf_training`: per-epoch training metrics -> Markdown table."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1]))  # the repo's bench, also under --sdm conda

from bench.logs import snakemake_job
from bench.reference import reference_table
from bench.report.provenance import git_commit
from bench.report.publish import write_table
from bench.report.training_table import TrainingRun, build_training_table

with snakemake_job(snakemake):
    p = snakemake.params
    runs = [TrainingRun.load(*cell) for cell in p.cells]
    markdown = build_training_table(reference_table(p.reference["paper"], p.reference["table"]), runs, p.scale,
                                    p.note, git_commit(p.repo), p.reference["paper"], p.used)
    write_table(markdown, snakemake.output.markdown, snakemake.output.html)
