"""Snakemake glue for rule `table_cost`: per-epoch training metrics and trained models -> Markdown table."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1]))  # the repo's bench, also under --sdm conda

from bench.io import training_provenance
from bench.logs import snakemake_job
from bench.reference import reference_table
from bench.report.cost_table import CostRun, build_cost_table
from bench.report.provenance import git_commit
from bench.report.publish import write_table

with snakemake_job(snakemake):
    p = snakemake.params
    runs = [CostRun.load(method, dataset, paper_model, metrics, model, training_provenance(model_path))
            for method, dataset, paper_model, metrics, model, model_path in p.cells]
    markdown = build_cost_table(reference_table(p.reference["paper"], p.reference["table"]), runs, p.scale, p.note,
                                git_commit(p.repo), p.reference["paper"], p.used)
    write_table(markdown, snakemake.output.markdown, snakemake.output.html)
