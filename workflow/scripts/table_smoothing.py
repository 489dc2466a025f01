"""Snakemake glue for rule `table_smoothing`: certificate files -> Markdown table."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1]))  # the repo's bench, also under --sdm conda

from bench.logs import snakemake_job
from bench.reference import reference_table
from bench.report.provenance import git_commit
from bench.report.publish import write_table
from bench.report.smoothing_table import MeasuredRun, build_smoothing_table

with snakemake_job(snakemake):
    p = snakemake.params
    runs = [MeasuredRun.load(method, sigma, path) for method, sigma, path in p.cells]
    markdown = build_smoothing_table(reference_table(p.reference["paper"], p.reference["table"]), runs,
                                     p.scale, p.note, git_commit(p.repo), p.reference["paper"])
    write_table(markdown, snakemake.output.markdown, snakemake.output.html)
