"""Snakemake glue for the figure-data rules of per-model analyses: each checked result table (bench.io
read_rows), labelled with its ``params.labels`` columns, concatenated into the figure's tidy table."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1]))  # the repo's bench, also under --sdm conda

import pandas as pd

from bench.io import atomic_write_text, read_rows
from bench.logs import snakemake_job

with snakemake_job(snakemake):
    frames = []
    for labels, path in zip(snakemake.params.labels, snakemake.input.rows):
        frame, _ = read_rows(path)
        frames.append(frame.assign(**labels)[[*labels, *frame.columns]])
    atomic_write_text(pd.concat(frames, ignore_index=True).to_csv(sep="\t", index=False), snakemake.output[0])
