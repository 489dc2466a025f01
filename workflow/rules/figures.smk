# Figures: cached checkpoint -> analysis (tidy per-run table) -> figure data (one tidy table) -> plot. A plot rule
# reads only its data file and its plotting module (bench/figures/<figure>.py): editing the module redraws in
# seconds and never retrains; editing analysis code re-runs the analysis from the cached checkpoints.
from bench.analysis import RELAXATIONS, figure_methods
from bench.reference import load_paper


def figure_cell(figure):
    """The run-id fields every model of ``figure`` shares, with the dataset and model used at this scale."""
    spec, scale = config["figures"][figure], config["scale"]
    dataset, model = linf_used("datasets", spec["dataset"], scale), linf_used("models", spec["model"], scale)
    linf_settings("train_linf", spec["protocol"], figure)
    linf_settings("verify", dataset, figure)
    return dict(scale=scale, dataset=dataset, model=model, eps=eps_token(spec["eps"]), protocol=spec["protocol"],
                seed=config["seed"])


def figure_runs(figure):
    """Trained method -> l_inf run id of every model ``figure`` analyses, at the configured scale."""
    cell = figure_cell(figure)
    return {method: LINF_RUN.format(method=method, **cell) for method in figure_methods(config["figures"][figure])}


def traced_runs(figure):
    """Trained method -> run directory of a figure drawn from training traces; its protocol must trace."""
    protocol = config["figures"][figure]["protocol"]
    for method in figure_methods(config["figures"][figure]):
        if not resolve_protocol(linf_settings("train_linf", protocol, figure), method).get("trace_every"):
            raise WorkflowError(f"config: {figure} is drawn from training traces, but protocol {protocol} does not "
                                f"trace {method}; set trace_every (e.g. 50) in scales.{config['scale']}"
                                f".train_linf.{protocol}")
    return {method: f"results/ckpt/{run}" for method, run in figure_runs(figure).items()}


def figure_eps(figure):
    return eps_token(config["figures"][figure]["eps"])


def analysis_settings(name):
    return lambda w: scale_config(w.scale)["analysis"][name]


rule analyse_tightness:
    """Tightness and robust test loss of every relaxation on one trained model (thesis fig. 3.10, C.9)."""
    input:
        model="results/ckpt/" + LINF_RUN + "/model.pt",
        data=dataset_input,
        code=REPO / "bench" / "analysis" / "tightness.py",
    output:
        rows="results/analysis/tightness/" + LINF_RUN + "/eps{test_eps}.tsv",
        provenance="results/analysis/tightness/" + LINF_RUN + "/eps{test_eps}.json",
    params:
        settings=lambda w: scale_config(w.scale)["verify"][w.dataset],
        relaxations=list(RELAXATIONS),
    log:
        "logs/analysis/tightness/" + LINF_RUN + "/eps{test_eps}.log",
    benchmark:
        "benchmarks/analysis/tightness/" + LINF_RUN + "/eps{test_eps}.tsv"
    threads: job_threads("analyse_tightness")
    resources:
        **job_resources("analyse_tightness"),
    conda:
        "../../envs/certbench.yaml"
    script:
        "../scripts/analyse_tightness.py"


rule figure_data_tightness:
    """The tidy table of fig. 3.10 / C.9: every analysed model's rows, labelled with its training method."""
    wildcard_constraints:
        figure="landscape_fig3_10_violins",
    input:
        rows=lambda w: [f"results/analysis/tightness/{run}/eps{figure_eps(w.figure)}.tsv"
                        for run in figure_runs(w.figure).values()],
    output:
        "results/figures/{figure}.tsv",
    params:
        trained=lambda w: list(figure_runs(w.figure)),
        relaxations=lambda w: config["figures"][w.figure]["relaxations"],
    log:
        "logs/figures/{figure}.data.log",
    conda:
        "../../envs/certbench.yaml"
    script:
        "../scripts/figure_data_tightness.py"


TRACE_FIGURES = {"landscape_fig3_6_curves": ["trace"], "landscape_fig3_7_smoothness": ["trace"],
                 "landscape_figC6_C8_relu": ["trace", "relu_slopes"]}


rule figure_data_traces:
    """The tidy table of a figure drawn from training traces (figs. 3.6, 3.7/3.9/C.10, C.6-C.8)."""
    wildcard_constraints:
        figure="|".join(TRACE_FIGURES),
    input:
        traces=lambda w: [f"{run_dir}/{name}.csv" for run_dir in traced_runs(w.figure).values()
                          for name in TRACE_FIGURES[w.figure]],
        code=REPO / "bench" / "analysis" / "trace_tables.py",
    output:
        "results/figures/{figure}.tsv",
    params:
        runs=lambda w: traced_runs(w.figure),
        panels=lambda w: config["figures"][w.figure].get("panels"),
    log:
        "logs/figures/{figure}.data.log",
    conda:
        "../../envs/certbench.yaml"
    script:
        "../scripts/figure_data_traces.py"


def alpha_runs(figure):
    """alpha -> l_inf run id of the figure's method trained with that alpha (a variant: sac_linf-alpha0.05), for
    every alpha of its grid; the protocol must log each layer's Lipschitz bound per epoch."""
    spec = config["figures"][figure]
    if spec["chosen_alpha"] not in spec["alphas"]:
        raise WorkflowError(f"config: figures.{figure}.chosen_alpha {spec['chosen_alpha']} is not one of its "
                            f"alphas {spec['alphas']}")
    if not resolve_protocol(linf_settings("train_linf", spec["protocol"], figure), spec["method"]).get(
            "log_lipschitz"):
        raise WorkflowError(f"config: {figure} plots per-epoch Lipschitz bounds, but protocol {spec['protocol']} "
                            f"does not log them; set log_lipschitz: true in scales.{config['scale']}.train_linf"
                            f".{spec['protocol']}")
    return dict(zip(spec["alphas"], figure_runs(figure).values()))


rule figure_data_alpha:
    """The tidy table of sac fig. 1: per-layer Lipschitz bounds per epoch, clean and certified accuracy of the
    shrunk model, for every alpha of the grid."""
    wildcard_constraints:
        figure="sac_fig1_alpha",
    input:
        lipschitz=lambda w: [f"results/ckpt/{run}/lipschitz.csv" for run in alpha_runs(w.figure).values()],
        verified=lambda w: [f"results/verify/{run}/eps{figure_eps(w.figure)}.tsv"
                            for run in alpha_runs(w.figure).values()],
        code=REPO / "bench" / "analysis" / "alpha_sweep.py",
        reference=REPO / "bench" / "reference" / "sac.yaml",
    output:
        "results/figures/{figure}.tsv",
    params:
        alphas=lambda w: list(alpha_runs(w.figure)),
        chosen=lambda w: config["figures"][w.figure]["chosen_alpha"],
        paper=load_paper("sac")["figure1"],
    log:
        "logs/figures/{figure}.data.log",
    conda:
        "../../envs/certbench.yaml"
    script:
        "../scripts/figure_data_alpha.py"


MODECONN = ("results/analysis/modeconn/{scale}/{dataset}/{model}/eps{eps}/{protocol}/seed{seed}/{w0}/{w1}/"
            "curve_{curve_loss}")


rule analyse_mode_connectivity:
    """A quadratic Bezier curve between two trained models, its control point trained with one method's loss,
    and the robust loss and verified error along it (thesis app. C.5)."""
    input:
        w0="results/ckpt/" + LINF_RUN.replace("{method}", "{w0}") + "/model.pt",
        w1="results/ckpt/" + LINF_RUN.replace("{method}", "{w1}") + "/model.pt",
        data=dataset_input,
        code=REPO / "bench" / "analysis" / "modeconn.py",
    output:
        rows=MODECONN + ".tsv",
        provenance=MODECONN + ".json",
        curve=MODECONN + ".pt",
    params:
        settings=analysis_settings("mode_connectivity"),
    log:
        MODECONN.replace("results/analysis", "logs/analysis") + ".log",
    benchmark:
        MODECONN.replace("results/analysis", "benchmarks/analysis") + ".tsv"
    threads: job_threads("analyse_mode_connectivity")
    resources:
        **job_resources("analyse_mode_connectivity"),
    conda:
        "../../envs/certbench.yaml"
    script:
        "../scripts/analyse_mode_connectivity.py"


def modeconn_curves(figure):
    """(w0, w1, curve loss, rows file) of every curve of the figure: each pair's curve trained with each loss."""
    cell = figure_cell(figure)
    return [(w0, w1, loss, MODECONN.format(w0=w0, w1=w1, curve_loss=loss, **cell) + ".tsv")
            for w0, w1 in config["figures"][figure]["pairs"] for loss in (w0, w1)]


rule analyse_surface:
    """The filter-normalised 2-D surface of one trained model's robust loss (Li et al. 2018)."""
    input:
        model="results/ckpt/" + LINF_RUN + "/model.pt",
        data=dataset_input,
        code=REPO / "bench" / "analysis" / "surface.py",
    output:
        rows="results/analysis/surface/" + LINF_RUN + "/eps{test_eps}.tsv",
        provenance="results/analysis/surface/" + LINF_RUN + "/eps{test_eps}.json",
    params:
        settings=analysis_settings("surface"),
    log:
        "logs/analysis/surface/" + LINF_RUN + "/eps{test_eps}.log",
    benchmark:
        "benchmarks/analysis/surface/" + LINF_RUN + "/eps{test_eps}.tsv"
    threads: job_threads("analyse_surface")
    resources:
        **job_resources("analyse_surface"),
    conda:
        "../../envs/certbench.yaml"
    script:
        "../scripts/analyse_surface.py"


rule figure_data_modeconn:
    """The tidy table of figs. C.3-C.5: every curve's rows, labelled with its end points and training loss."""
    wildcard_constraints:
        figure="landscape_figC3_C5_modeconn",
    input:
        rows=lambda w: [curve[3] for curve in modeconn_curves(w.figure)],
    output:
        "results/figures/{figure}.tsv",
    params:
        labels=lambda w: [{"w0": w0, "w1": w1, "curve_loss": loss} for w0, w1, loss, _ in modeconn_curves(w.figure)],
    log:
        "logs/figures/{figure}.data.log",
    conda:
        "../../envs/certbench.yaml"
    script:
        "../scripts/figure_data_rows.py"


rule figure_data_surface:
    """The tidy table of the loss-surface figure: every trained model's grid, labelled with its method."""
    wildcard_constraints:
        figure="landscape_surface",
    input:
        rows=lambda w: [f"results/analysis/surface/{run}/eps{figure_eps(w.figure)}.tsv"
                        for run in figure_runs(w.figure).values()],
    output:
        "results/figures/{figure}.tsv",
    params:
        labels=lambda w: [{"trained": method} for method in figure_runs(w.figure)],
    log:
        "logs/figures/{figure}.data.log",
    conda:
        "../../envs/certbench.yaml"
    script:
        "../scripts/figure_data_rows.py"


rule plot:
    """figures/<figure>.png and .pdf, drawn by bench/figures/<figure>.py from the figure's tidy table."""
    wildcard_constraints:
        figure="|".join(config["figures"]) or "^$",
    input:
        data="results/figures/{figure}.tsv",
        code=REPO / "bench" / "figures" / "{figure}.py",
        style=REPO / "bench" / "figures" / "style.py",
    output:
        png=report("figures/{figure}.png", category="Figures", labels={"figure": "{figure}"}),
        pdf="figures/{figure}.pdf",
    params:
        eps=lambda w: config["figures"][w.figure].get("eps", ""),
        scale=config["scale"],
    log:
        "logs/figures/{figure}.log",
    conda:
        "../../envs/certbench.yaml"
    script:
        "../scripts/plot.py"
