"""Snakemake glue for rule `attack_eot`: one trained network, one EOT attack, every radius -> per-point rows."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1]))  # the repo's bench, also under --sdm conda

import torch

from bench.eot import EOTSettings, evaluate_eot
from bench.logs import snakemake_job

with snakemake_job(snakemake):
    torch.set_num_threads(snakemake.threads)
    cfg = snakemake.config
    evaluate_eot(snakemake.input.model, snakemake.wildcards.attack, [float(e) for e in snakemake.params.eps],
                 EOTSettings(**snakemake.params.settings), snakemake.output.rows, seed=cfg["seed"],
                 data_root=cfg["data_root"], download=cfg["allow_download"], device=cfg["device"])
