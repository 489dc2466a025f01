"""Snakemake glue for rule `figure_data_lipschitz`: per-epoch Lipschitz logs -> the tidy table of thesis figs.
B.1-B.2 (bench.analysis.lipschitz_curves)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1]))  # the repo's bench, also under --sdm conda

from bench.analysis.lipschitz_curves import lipschitz_curves
from bench.io import atomic_write_text
from bench.logs import snakemake_job

with snakemake_job(snakemake):
    protocol = snakemake.params.protocol  # the shared settings: every method ramps up on the same schedule
    table = lipschitz_curves(snakemake.params.methods, snakemake.input.lipschitz, protocol.get("warmup_epochs", 0),
                             protocol.get("rampup_epochs", 0))
    atomic_write_text(table.to_csv(sep="\t", index=False), snakemake.output[0])
