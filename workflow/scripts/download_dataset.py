"""Snakemake glue for rule `download_dataset`: bench.data.download into data_root."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1]))  # the repo's bench, also under --sdm conda

from bench.data import download
from bench.logs import snakemake_job

with snakemake_job(snakemake):
    download(snakemake.wildcards.dataset, snakemake.config["data_root"])
