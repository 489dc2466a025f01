"""Snakemake glue for rule `analyse_radii`: one trained model -> its certified radius per test point, by LipLT's
and the naive pairwise constants (bench.analysis.radii)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1]))  # the repo's bench, also under --sdm conda

import torch

from bench.analysis.radii import analyse_radii
from bench.logs import snakemake_job

with snakemake_job(snakemake):
    torch.set_num_threads(snakemake.threads)
    s, cfg = snakemake.params.settings, snakemake.config
    analyse_radii(snakemake.input.model, snakemake.output.rows, skip=s.get("skip", 1), max_points=s.get("max_points"),
                  batch_size=s["batch_size"], data_root=cfg["data_root"], download=cfg["allow_download"])
