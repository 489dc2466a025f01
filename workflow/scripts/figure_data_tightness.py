"""Snakemake glue for rule `figure_data_tightness`: per-model tightness tables -> the figure's tidy table."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1]))  # the repo's bench, also under --sdm conda

import pandas as pd

from bench.io import atomic_write_text, read_rows
from bench.logs import snakemake_job

with snakemake_job(snakemake):
    frames = []
    for trained, path in zip(snakemake.params.trained, snakemake.input.rows):
        frame, _ = read_rows(path)
        frames.append(frame[frame["relaxation"].isin(snakemake.params.relaxations)].assign(trained=trained))
    tidy = pd.concat(frames, ignore_index=True)[["trained", "relaxation", "idx", "test_loss", "tightness"]]
    atomic_write_text(tidy.to_csv(sep="\t", index=False), snakemake.output[0])
