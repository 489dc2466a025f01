"""Snakemake glue for rule `verify_linf`: wildcards and config -> bench.verify.verify_model."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1]))  # the repo's bench, also under --sdm conda

import torch

from bench.io import parse_eps
from bench.logs import snakemake_job
from bench.verify import VerifySettings, verify_model

with snakemake_job(snakemake):
    torch.set_num_threads(snakemake.threads)
    w, cfg = snakemake.wildcards, snakemake.config
    verify_model(snakemake.input.model, parse_eps(w.test_eps), VerifySettings(**snakemake.params.settings),
                 snakemake.output.rows, norm=snakemake.params.norm, seed=int(w.seed), data_root=cfg["data_root"],
                 download=cfg["allow_download"], device=cfg["device"])
