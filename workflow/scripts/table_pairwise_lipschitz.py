"""Snakemake glue for rule `table_pairwise_lipschitz`: the pairwise-constant analysis -> Markdown table."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1]))  # the repo's bench, also under --sdm conda

from bench.io import read_rows
from bench.logs import snakemake_job
from bench.reference import reference_table
from bench.report.pairwise_table import build_pairwise_table
from bench.report.provenance import git_commit
from bench.report.publish import write_table

with snakemake_job(snakemake):
    p = snakemake.params
    frame, _ = read_rows(snakemake.input.rows)
    markdown = build_pairwise_table(reference_table(p.reference["paper"], p.reference["table"]), frame, p.scale,
                                    p.note, git_commit(p.repo), p.reference["paper"])
    write_table(markdown, snakemake.output.markdown, snakemake.output.html)
