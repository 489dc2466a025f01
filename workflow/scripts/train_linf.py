"""Snakemake glue for rule `train_linf`: wildcards and config -> bench.train.train."""
import sys
from fractions import Fraction
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1]))  # the repo's bench, also under --sdm conda

import torch

from bench.logs import log_to
from bench.train import RunSpec, TrainSettings, train

log_to(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
w, cfg = snakemake.wildcards, snakemake.config
eps = float(Fraction(w.eps.replace("_", "/")))
train(RunSpec(w.dataset, w.model, w.method, int(w.seed), eps=eps),
      TrainSettings(**snakemake.params.settings), Path(snakemake.output.model).parent,
      data_root=cfg["data_root"], download=cfg["allow_download"], device=cfg["device"])
