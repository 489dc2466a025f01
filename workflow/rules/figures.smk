# Figures: cached checkpoint -> analysis (tidy per-run table) -> figure data (one tidy table) -> plot. A plot rule
# reads only its data file and its plotting module (bench/figures/<figure>.py): editing the module redraws in
# seconds and never retrains; editing analysis code re-runs the analysis from the cached checkpoints.
from bench.analysis import RELAXATIONS


def figure_runs(figure):
    """Trained method -> l_inf run id of every model ``figure`` analyses, at the configured scale."""
    spec, scale = config["figures"][figure], config["scale"]
    dataset, model = linf_used("datasets", spec["dataset"], scale), linf_used("models", spec["model"], scale)
    linf_settings("train_linf", spec["protocol"], figure)
    linf_settings("verify", dataset, figure)
    return {method: LINF_RUN.format(scale=scale, dataset=dataset, model=model, method=method,
                                    eps=eps_token(spec["eps"]), protocol=spec["protocol"], seed=config["seed"])
            for method in spec["trained"]}


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
        rows=lambda w: [f"results/analysis/tightness/{run}/eps{eps_token(config['figures'][w.figure]['eps'])}.tsv"
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
    log:
        "logs/figures/{figure}.log",
    conda:
        "../../envs/certbench.yaml"
    script:
        "../scripts/plot.py"
