"""Snakemake glue for rule `table_linf`: verification files -> Markdown table."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1]))  # the repo's bench, also under --sdm conda

from bench.logs import snakemake_job
from bench.reference import reference_table, table_parts
from bench.report.linf_table import VerifiedRun, build_linf_table
from bench.report.provenance import git_commit
from bench.report.publish import write_table

with snakemake_job(snakemake):
    p = snakemake.params
    paper, table = p.reference["paper"], p.reference["table"]
    runs = [VerifiedRun.load(*cell) for cell in p.cells]
    markdown = build_linf_table(reference_table(paper, table), table_parts(paper, table), runs, p.scale, p.note,
                                git_commit(p.repo), paper, p.used)
    write_table(markdown, snakemake.output.markdown, snakemake.output.html)
