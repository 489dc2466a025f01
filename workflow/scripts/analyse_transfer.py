"""Snakemake glue for rule `analyse_transfer`: one randomized network -> its sample models' transfer matrix."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1]))  # the repo's bench, also under --sdm conda

import torch

from bench.analysis.transfer import TransferSettings, transfer_matrix
from bench.logs import snakemake_job

with snakemake_job(snakemake):
    torch.set_num_threads(snakemake.threads)
    cfg = snakemake.config
    transfer_matrix(snakemake.input.model, TransferSettings(**snakemake.params.settings), snakemake.output.rows,
                    seed=cfg["seed"], data_root=cfg["data_root"], download=cfg["allow_download"],
                    device=cfg["device"])
