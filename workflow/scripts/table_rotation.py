"""Snakemake glue for rule `table_rotation`: the rotation analysis of a table's models -> Markdown table."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1]))  # the repo's bench, also under --sdm conda

from bench.io import read_rows
from bench.logs import snakemake_job
from bench.reference import reference_table
from bench.report.provenance import git_commit
from bench.report.publish import write_table
from bench.report.rotation_table import build_rotation_table

with snakemake_job(snakemake):
    p = snakemake.params
    frame, provenance = read_rows(snakemake.input.rows)
    markdown = build_rotation_table(reference_table(p.reference["paper"], p.reference["table"]), frame, provenance,
                                    p.scale, p.note, git_commit(p.repo), p.reference["paper"])
    write_table(markdown, snakemake.output.markdown, snakemake.output.html)
