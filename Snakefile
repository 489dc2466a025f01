# certbench: data -> model -> train -> certify -> aggregate -> tables/figures.
# `snakemake --cores 2` builds every table and figure at the configured scale (default: the offline smoke scale).
from pathlib import Path

from snakemake.utils import min_version, validate

min_version("8.0")

configfile: Path(workflow.basedir) / "config" / "config.yaml"  # --configfile adds or overrides
validate(config, Path(workflow.basedir) / "workflow" / "schemas" / "config.schema.yaml")

report: "workflow/report/workflow.rst"

include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/certify.smk"
include: "workflow/rules/tables.smk"
include: "workflow/rules/linf.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/figures_bcp.smk"
include: "workflow/rules/duet.smk"
include: "workflow/rules/crm.smk"
include: "workflow/rules/eot.smk"
include: "workflow/rules/figures_graddiv.smk"
include: "workflow/rules/targets.smk"

# Downloads (compute nodes are often offline) and aggregation (small files) run where snakemake runs.
localrules: all, download_dataset, table_smoothing, table_linf, table_linf_training, table_cost, table_rotation,
            table_pairwise_lipschitz, table_eot, figure_data_radii,
            figure_data_test_curves, figure_data_tightness, figure_data_traces, figure_data_modeconn, figure_data_surface, figure_data_alpha,
            figure_data_verified_vs_eps, figure_data_lipschitz, figure_data_outer_bound, figure_data_graddiv, plot,
            unknown_table,
            unknown_figure, unknown_name


rule all:
    input:
        expand("tables/{table}.md", table=config["tables"]),
        expand("figures/{figure}.{ext}", figure=config["figures"], ext=("png", "pdf")),
    default_target: True
