# The Duet tables and figures (duet sec. 5): Table 2 is an l_inf-family table (table_linf) and Table 3 a cost
# table (table_cost); Table 1 compares every model of its table with the Duet row's guide (below), and figs. 2-3
# read the per-epoch test metrics of runs whose protocol logs them.


def guided_cell(table):
    """(method, eps_train, cell) of a rotation table's Duet row, whose guide every row is compared with."""
    guided = [(key, cell) for key, cell in linf_runs(table).items() if split_variant(key[0])[0] in GUIDED_METHODS]
    if len(guided) != 1:
        raise WorkflowError(f"config: {table} compares each model with the guide of its Duet row, so it needs "
                            f"exactly one guided method among its methods ({', '.join(GUIDED_METHODS)})")
    (method, _, _, eps_train, _), cell = guided[0]
    return method, eps_train, cell


def rotation_guide(table):
    """The guide model.pt every row of a rotation table is compared with: its Duet cell's guide."""
    method, eps_train, cell = guided_cell(table)
    return guide_path(config["scale"], cell["dataset"], cell["model"], method, eps_token(eps_train),
                      cell["protocol"], config["seed"])


def rotation_rank(table):
    """The rank r of the Duet row's rotations (its option ``rank``), which the table measures every row at."""
    method, _, cell = guided_cell(table)
    return resolve_protocol(linf_settings("train_linf", cell["protocol"], table), method).get(
        "options", {}).get("rank", 8)


rule analyse_rotation:
    """Every model of a rotation table against its guide: per-layer rotation similarity and Lipschitz bounds."""
    wildcard_constraints:
        table="|".join(tables_of("rotation")) or "^$",
    input:
        models=lambda w: [f"results/ckpt/{cell['run']}/model.pt" for cell in linf_runs(w.table).values()],
        guide=lambda w: rotation_guide(w.table),
        code=REPO / "bench" / "analysis" / "rotation.py",
    output:
        rows="results/analysis/rotation/{scale}/{table}.tsv",
        provenance="results/analysis/rotation/{scale}/{table}.json",
    params:
        cells=lambda w: [[key[0], key[1], key[4], f"results/ckpt/{cell['run']}/model.pt"]
                         for key, cell in linf_runs(w.table).items()],
        rank=lambda w: rotation_rank(w.table),
        settings=lambda w: scale_config(w.scale)["verify"][next(iter(linf_runs(w.table).values()))["dataset"]],
    log:
        "logs/analysis/rotation/{scale}/{table}.log",
    benchmark:
        "benchmarks/analysis/rotation/{scale}/{table}.tsv"
    threads: job_threads("analyse_rotation")
    resources:
        **job_resources("analyse_rotation"),
    conda:
        "../../envs/certbench.yaml"
    script:
        "../scripts/analyse_rotation.py"


rule table_rotation:
    """A rotation-similarity table (duet Table 1: similarity to the guide, Lipschitz constant)."""
    wildcard_constraints:
        table="|".join(tables_of("rotation")) or "^$",
    input:
        rows=lambda w: f"results/analysis/rotation/{config['scale']}/{w.table}.tsv",
        reference=lambda w: REPO / "bench" / "reference" / f"{config['tables'][w.table]['reference']['paper']}.yaml",
        code=REPORT_CODE,
    output:
        markdown="tables/{table}.md",
        html=report("tables/{table}.html", category="Tables", labels={"table": "{table}"},
                    caption="../report/table.rst"),
    params:
        reference=lambda w: config["tables"][w.table]["reference"],
        scale=config["scale"],
        note=lambda w: scale_config(config["scale"])["note"],
        repo=str(REPO),
    log:
        "logs/tables/{table}.log",
    conda:
        "../../envs/certbench.yaml"
    script:
        "../scripts/table_rotation.py"


def test_curve_runs(figure):
    """Trained method -> run of a figure drawn from per-epoch test metrics; its protocol must log them. The method
    that trains a guided run's guide (standard) is read from that guide's run."""
    spec = config["figures"][figure]
    for method in spec["trained"]:
        if not resolve_protocol(linf_settings("train_linf", spec["protocol"], figure), method).get("log_test_metrics"):
            raise WorkflowError(f"config: {figure} plots per-epoch test metrics, but protocol {spec['protocol']} does "
                                f"not log them for {method}; set log_test_metrics: true in scales.{config['scale']}"
                                f".train_linf.{spec['protocol']}")
    runs, cell = figure_runs(figure), figure_cell(figure)
    for method in [m for m in runs if split_variant(m)[0] in GUIDED_METHODS]:  # the guide's curve: the guide's run
        guide = guide_option(cell["scale"], cell["protocol"], method)
        if guide in runs:
            runs[guide] = guide_run(guide, cell["scale"], cell["dataset"], cell["model"], cell["eps"],
                                    cell["protocol"], cell["seed"])
    return runs


rule figure_data_test_curves:
    """The tidy table of duet figs. 2-3: clean and certified test accuracy and loss after every epoch."""
    wildcard_constraints:
        figure="duet_fig2_3_curves",
    input:
        metrics=lambda w: [f"results/ckpt/{run}/metrics.csv" for run in test_curve_runs(w.figure).values()],
        code=REPO / "bench" / "analysis" / "test_curves.py",
    output:
        "results/figures/{figure}.tsv",
    params:
        methods=lambda w: list(test_curve_runs(w.figure)),
        protocol=lambda w: linf_settings("train_linf", config["figures"][w.figure]["protocol"], w.figure),
    log:
        "logs/figures/{figure}.data.log",
    conda:
        "../../envs/certbench.yaml"
    script:
        "../scripts/figure_data_test_curves.py"
