"""Snakemake glue for rule `figure_data_traces`: the figure's runs' training traces -> its tidy table."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1]))  # the repo's bench, also under --sdm conda

from bench.analysis.trace_tables import curves_table, relu_table, smoothness_table
from bench.io import atomic_write_text
from bench.logs import snakemake_job

with snakemake_job(snakemake):
    runs, figure = snakemake.params.runs, snakemake.wildcards.figure
    tables = {"landscape_fig3_6_curves": lambda: curves_table(runs),
              "landscape_fig3_7_smoothness": lambda: smoothness_table(runs, snakemake.params.panels),
              "landscape_figC6_C8_relu": lambda: relu_table(runs)}
    atomic_write_text(tables[figure]().to_csv(sep="\t", index=False), snakemake.output[0])
