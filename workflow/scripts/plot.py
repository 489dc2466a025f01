"""Snakemake glue for rule `plot`: bench.figures.<figure>.draw(tidy table) -> .png and .pdf."""
import importlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1]))  # the repo's bench, also under --sdm conda

from bench.figures import style
from bench.logs import snakemake_job

with snakemake_job(snakemake):
    style.mark_scale(snakemake.params.scale)
    module = importlib.import_module(f"bench.figures.{snakemake.wildcards.figure}")
    module.draw(snakemake.input.data, snakemake.output.png, snakemake.params.eps)
