"""Snakemake glue for rule `figure_data_verified_vs_eps`: verification files at every eps_eval -> the tidy table
of thesis fig. 3.4 (bench.analysis.verified_vs_eps)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1]))  # the repo's bench, also under --sdm conda

from bench.analysis.verified_vs_eps import verified_vs_eps
from bench.io import atomic_write_text
from bench.logs import snakemake_job

with snakemake_job(snakemake):
    table = verified_vs_eps([tuple(cell) for cell in snakemake.params.cells], snakemake.input.verified)
    atomic_write_text(table.to_csv(sep="\t", index=False), snakemake.output[0])
