"""Snakemake glue for rule `certify_smoothing`: wildcards and config -> bench.certify.certify_smoothing."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1]))  # the repo's bench, also under --sdm conda

import torch

from bench.certify import SmoothingSettings, certify_smoothing
from bench.logs import snakemake_job

with snakemake_job(snakemake):
    torch.set_num_threads(snakemake.threads)
    w, cfg = snakemake.wildcards, snakemake.config
    certify_smoothing(snakemake.input.model, float(w.sigma), SmoothingSettings(**snakemake.params.settings),
                      snakemake.output.certificates, seed=int(w.seed), data_root=cfg["data_root"],
                      download=cfg["allow_download"], device=cfg["device"])
