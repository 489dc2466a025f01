# The BCP figures (thesis sec. 3.2, app. B): each panel of a figure names its own training setting (dataset,
# model, eps, protocol), read from the runs of thesis table 3.2 where they coincide. figures.smk holds the shared
# rules (plot) and helpers.


def panel_run(figure, panel, method):
    """The run id of ``method`` trained in one panel's setting of a figure whose panels each name a dataset, model,
    training eps and protocol; the protocol must train on the figure's ball."""
    spec, scale = config["figures"][figure], config["scale"]
    dataset, model = linf_used("datasets", panel["dataset"], scale), linf_used("models", panel["model"], scale)
    linf_settings("verify", dataset, figure)
    norm = protocol_norm(resolve_protocol(linf_settings("train_linf", panel["protocol"], figure), method))
    if norm != spec["norm"]:
        raise WorkflowError(f"config: {figure} is drawn on {spec['norm']} balls, but scales.{scale}.train_linf"
                            f".{panel['protocol']} trains {method} against {norm} balls (set its norm)")
    return LINF_RUN.format(scale=scale, dataset=dataset, model=model, method=method, eps=eps_token(panel["eps"]),
                           protocol=panel["protocol"], seed=config["seed"])


def eval_cells(figure):
    """(panel title, method, eps_target, eps_eval) -> verification file of every model of a verified-vs-eps figure
    (thesis fig. 3.4) at every eps_eval of its panel."""
    spec = config["figures"][figure]
    return {(panel["title"], method, panel["eps"], eps_eval):
            f"results/verify/{panel_run(figure, panel, method)}/eps{eps_token(eps_eval)}.tsv"
            for panel in spec["panels"] for method in spec["trained"] for eps_eval in panel["eval_eps"]}


rule figure_data_verified_vs_eps:
    """The tidy table of thesis fig. 3.4: clean, PGD and verified accuracy of every model at every eps_eval."""
    wildcard_constraints:
        figure="bcp_fig3_4_verified_vs_eps",
    input:
        verified=lambda w: list(eval_cells(w.figure).values()),
        code=REPO / "bench" / "analysis" / "verified_vs_eps.py",
    output:
        "results/figures/{figure}.tsv",
    params:
        cells=lambda w: [list(key) for key in eval_cells(w.figure)],
    log:
        "logs/figures/{figure}.data.log",
    conda:
        "../../envs/certbench.yaml"
    script:
        "../scripts/figure_data_verified_vs_eps.py"


rule analyse_outer_bound:
    """BCP's outer-bound tightness with and without the box, per test point of one trained model (thesis fig. 3.3)."""
    input:
        model="results/ckpt/" + LINF_RUN + "/model.pt",
        data=dataset_input,
        code=REPO / "bench" / "analysis" / "outer_bound.py",
    output:
        rows="results/analysis/outer_bound/" + LINF_RUN + "/eps{test_eps}.tsv",
        provenance="results/analysis/outer_bound/" + LINF_RUN + "/eps{test_eps}.json",
    params:
        settings=lambda w: scale_config(w.scale)["verify"][w.dataset],
        norm=lambda w: protocol_norm(resolve_protocol(scale_config(w.scale)["train_linf"][w.protocol], w.method)),
    log:
        "logs/analysis/outer_bound/" + LINF_RUN + "/eps{test_eps}.log",
    benchmark:
        "benchmarks/analysis/outer_bound/" + LINF_RUN + "/eps{test_eps}.tsv"
    threads: job_threads("analyse_outer_bound")
    resources:
        **job_resources("analyse_outer_bound"),
    conda:
        "../../envs/certbench.yaml"
    script:
        "../scripts/analyse_outer_bound.py"


def outer_bound_cells(figure):
    """Panel title -> outer-bound analysis of the figure's trained model in that panel's setting, at its eps."""
    spec = config["figures"][figure]
    return {panel["title"]: f"results/analysis/outer_bound/{panel_run(figure, panel, spec['trained'][0])}/"
                            f"eps{eps_token(panel['eps'])}.tsv" for panel in spec["panels"]}


rule figure_data_outer_bound:
    """The tidy table of thesis fig. 3.3: every analysed point's tightness with and without BCP, per panel."""
    wildcard_constraints:
        figure="bcp_fig3_3_tightness",
    input:
        rows=lambda w: list(outer_bound_cells(w.figure).values()),
        reference=REPO / "bench" / "reference" / "bcp.yaml",
    output:
        "results/figures/{figure}.tsv",
    params:
        labels=lambda w: [{"panel": panel["title"],  # and the mean reduction the paper states for the dataset
                           "paper_reduction": load_paper("bcp")["figure3_3"]["reduction_percent"].get(panel["dataset"])}
                          for panel in config["figures"][w.figure]["panels"]],
    log:
        "logs/figures/{figure}.data.log",
    conda:
        "../../envs/certbench.yaml"
    script:
        "../scripts/figure_data_rows.py"


def lipschitz_runs(figure):
    """Trained method -> run of a figure drawn from per-epoch Lipschitz logs; its protocol must log them."""
    spec = config["figures"][figure]
    for method in spec["trained"]:
        if not resolve_protocol(linf_settings("train_linf", spec["protocol"], figure), method).get("log_lipschitz"):
            raise WorkflowError(f"config: {figure} plots per-epoch Lipschitz bounds, but protocol {spec['protocol']} "
                                f"does not log them for {method}; set log_lipschitz: true in scales.{config['scale']}"
                                f".train_linf.{spec['protocol']}")
    return figure_runs(figure)


rule figure_data_lipschitz:
    """The tidy table of thesis figs. B.1-B.2: the layers' l2 norms and their products after every epoch."""
    wildcard_constraints:
        figure="bcp_figB1_lipschitz",
    input:
        lipschitz=lambda w: [f"results/ckpt/{run}/lipschitz.csv" for run in lipschitz_runs(w.figure).values()],
        code=REPO / "bench" / "analysis" / "lipschitz_curves.py",
    output:
        "results/figures/{figure}.tsv",
    params:
        methods=lambda w: list(lipschitz_runs(w.figure)),
        protocol=lambda w: linf_settings("train_linf", config["figures"][w.figure]["protocol"], w.figure),
    log:
        "logs/figures/{figure}.data.log",
    conda:
        "../../envs/certbench.yaml"
    script:
        "../scripts/figure_data_lipschitz.py"
