"""Snakemake glue for rule `figure_data_alpha`: the alpha grid's Lipschitz logs and verification files -> the
tidy table of sac fig. 1 (bench.analysis.alpha_sweep)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1]))  # the repo's bench, also under --sdm conda

from bench.analysis.alpha_sweep import alpha_table
from bench.io import atomic_write_text
from bench.logs import snakemake_job

with snakemake_job(snakemake):
    table = alpha_table(snakemake.params.alphas, snakemake.input.lipschitz, snakemake.input.verified,
                        snakemake.params.chosen, snakemake.params.paper)
    atomic_write_text(table.to_csv(sep="\t", index=False), snakemake.output[0])
