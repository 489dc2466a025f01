"""Snakemake glue for rule `train_linf`: wildcards and config -> bench.train.train."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1]))  # the repo's bench, also under --sdm conda

import torch

from bench.io import parse_eps
from bench.logs import snakemake_job
from bench.train import RunSpec, TrainSettings, train

with snakemake_job(snakemake):
    torch.set_num_threads(snakemake.threads)
    w, cfg = snakemake.wildcards, snakemake.config
    train(RunSpec(w.dataset, w.model, w.method, int(w.seed), eps=parse_eps(w.eps)),
          TrainSettings(**snakemake.params.settings), Path(snakemake.output.model).parent,
          data_root=cfg["data_root"], download=cfg["allow_download"], device=cfg["device"])
