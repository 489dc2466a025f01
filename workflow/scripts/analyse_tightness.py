"""Snakemake glue for rule `analyse_tightness`: a trained model -> per-point tightness of each relaxation."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1]))  # the repo's bench, also under --sdm conda

import torch

from bench.analysis.tightness import analyse_tightness
from bench.io import parse_eps
from bench.logs import snakemake_job

with snakemake_job(snakemake):
    torch.set_num_threads(snakemake.threads)
    s, cfg = snakemake.params.settings, snakemake.config
    analyse_tightness(snakemake.input.model, parse_eps(snakemake.wildcards.test_eps), snakemake.params.relaxations,
                      snakemake.output.rows, skip=s.get("skip", 1), max_points=s.get("max_points"),
                      batch_size=s["batch_size"], seed=cfg["seed"], data_root=cfg["data_root"],
                      download=cfg["allow_download"], device=cfg["device"])
