"""Snakemake glue for rule `figure_data_test_curves`: per-epoch test metrics -> the tidy table of duet figs. 2-3
(bench.analysis.test_curves)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1]))  # the repo's bench, also under --sdm conda

from bench.analysis.test_curves import test_curves
from bench.io import atomic_write_text
from bench.logs import snakemake_job

with snakemake_job(snakemake):
    protocol = snakemake.params.protocol  # the shared settings: every method ramps up on the same schedule
    table = test_curves(snakemake.params.methods, snakemake.input.metrics, protocol.get("warmup_epochs", 0),
                        protocol.get("rampup_epochs", 0))
    atomic_write_text(table.to_csv(sep="\t", index=False), snakemake.output[0])
