"""Snakemake glue for rule `analyse_gradient_samples`: one randomized network -> per-point kappa_hat, rho_hat."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1]))  # the repo's bench, also under --sdm conda

import torch

from bench.analysis.gradient_samples import GradientSampleSettings, analyse_gradient_samples
from bench.logs import snakemake_job

with snakemake_job(snakemake):
    torch.set_num_threads(snakemake.threads)
    cfg = snakemake.config
    analyse_gradient_samples(snakemake.input.model, GradientSampleSettings(**snakemake.params.settings),
                             snakemake.output.rows, snakemake.output.first, seed=cfg["seed"],
                             data_root=cfg["data_root"], download=cfg["allow_download"], device=cfg["device"])
