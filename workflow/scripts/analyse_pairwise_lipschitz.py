"""Snakemake glue for rule `analyse_pairwise_lipschitz`: a table's trained models -> their mean pairwise Lipschitz
constants by the naive bound and LipLT (bench.analysis.pairwise_lipschitz)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1]))  # the repo's bench, also under --sdm conda

import torch

from bench.analysis.pairwise_lipschitz import analyse_pairwise_lipschitz
from bench.logs import snakemake_job

with snakemake_job(snakemake):
    torch.set_num_threads(snakemake.threads)
    analyse_pairwise_lipschitz(snakemake.params.cells, snakemake.output.rows)
