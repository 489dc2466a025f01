"""Snakemake glue for rule `analyse_rotation`: a table's trained models and its guide -> per-layer rotation
similarity and Lipschitz bounds (bench.analysis.rotation)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1]))  # the repo's bench, also under --sdm conda

import torch

from bench.analysis.rotation import analyse_rotation
from bench.logs import snakemake_job

with snakemake_job(snakemake):
    torch.set_num_threads(snakemake.threads)
    p, cfg = snakemake.params, snakemake.config
    analyse_rotation(p.cells, snakemake.input.guide, p.rank, snakemake.output.rows, skip=p.settings.get("skip", 1),
                     max_points=p.settings.get("max_points"), batch_size=p.settings["batch_size"],
                     data_root=cfg["data_root"], download=cfg["allow_download"], device=cfg["device"])
