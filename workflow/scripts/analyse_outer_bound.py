"""Snakemake glue for rule `analyse_outer_bound`: a trained model -> per-point tightness with and without BCP."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1]))  # the repo's bench, also under --sdm conda

import torch

from bench.analysis.outer_bound import analyse_outer_bound
from bench.io import parse_eps
from bench.logs import snakemake_job

with snakemake_job(snakemake):
    torch.set_num_threads(snakemake.threads)
    s, cfg = snakemake.params.settings, snakemake.config
    analyse_outer_bound(snakemake.input.model, parse_eps(snakemake.wildcards.test_eps), snakemake.params.norm,
                        snakemake.output.rows, skip=s.get("skip", 1), max_points=s.get("max_points"),
                        batch_size=s["batch_size"], data_root=cfg["data_root"], download=cfg["allow_download"],
                        device=cfg["device"])
