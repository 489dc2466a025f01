"""Snakemake glue for rule `figure_data_graddiv`: a GradDiv figure's files -> its tidy table (bench.analysis
.graddiv_figures)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1]))  # the repo's bench, also under --sdm conda

from bench.analysis.graddiv_figures import tidy_table
from bench.io import atomic_write_text
from bench.logs import snakemake_job

with snakemake_job(snakemake):
    frame = tidy_table(snakemake.wildcards.figure, snakemake.params.cells, snakemake.params.spec,
                       snakemake.params.marks, snakemake.params.paper)
    atomic_write_text(frame.to_csv(sep="\t", index=False), snakemake.output[0])
