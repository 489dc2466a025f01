"""Snakemake glue for rule `analyse_mode_connectivity`: two trained models -> a trained Bezier curve and the
robust loss and verified error along it."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1]))  # the repo's bench, also under --sdm conda

import torch

from bench.analysis.modeconn import analyse_mode_connectivity
from bench.io import parse_eps
from bench.logs import snakemake_job

with snakemake_job(snakemake):
    torch.set_num_threads(snakemake.threads)
    s, cfg, w = snakemake.params.settings, snakemake.config, snakemake.wildcards
    analyse_mode_connectivity(snakemake.input.w0, snakemake.input.w1, w.curve_loss, parse_eps(w.eps),
                              snakemake.output.rows, snakemake.output.curve, points=s["points"], epochs=s["epochs"],
                              batch_size=s["batch_size"], lr=s["lr"], skip=s["skip"], max_points=s["max_points"],
                              seed=cfg["seed"], data_root=cfg["data_root"], download=cfg["allow_download"],
                              device=cfg["device"])
