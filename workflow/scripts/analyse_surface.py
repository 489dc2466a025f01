"""Snakemake glue for rule `analyse_surface`: a trained model -> its filter-normalised robust-loss surface."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1]))  # the repo's bench, also under --sdm conda

import torch

from bench.analysis.surface import analyse_surface
from bench.io import parse_eps
from bench.logs import snakemake_job

with snakemake_job(snakemake):
    torch.set_num_threads(snakemake.threads)
    s, cfg = snakemake.params.settings, snakemake.config
    analyse_surface(snakemake.input.model, parse_eps(snakemake.wildcards.test_eps), snakemake.output.rows,
                    steps=s["steps"], span=s["span"], skip=s["skip"], max_points=s["max_points"],
                    batch_size=s["batch_size"], seed=cfg["seed"], data_root=cfg["data_root"],
                    download=cfg["allow_download"], device=cfg["device"])
