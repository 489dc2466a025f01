# The GradDiv figures (thesis ch. 2, app. A): the eot tables' runs (graddiv.yaml's blocks) and, beside them, one run
# per regulariser (adv_bnn_graddiv_<name>). Each figure or panel names its setting (dataset, model, eps_train,
# protocol); the analyses read cached checkpoints and attack files, never retraining.
from bench.protocols import randomized_method

GRADDIV_PAPER = load_paper("graddiv")


def graddiv_run(figure, setting, method):
    """The run id of ``method`` trained in ``setting`` (a figure's or a panel's dataset, model, eps, protocol)."""
    scale = config["scale"]
    linf_settings("train_linf", setting["protocol"], figure)
    return LINF_RUN.format(scale=scale, dataset=linf_used("datasets", setting["dataset"], scale),
                           model=linf_used("models", setting["model"], scale), method=method,
                           eps=eps_token(setting["eps"]), protocol=setting["protocol"], seed=config["seed"])


def graddiv_settings(figure):
    """(setting title, setting) of every panel of ``figure``, or the figure itself when it has no panels."""
    spec = config["figures"][figure]
    return [(panel["title"], panel) for panel in spec["panels"]] if "panels" in spec else [("", spec)]


def graddiv_label(setting, method):
    """The thesis' name of a trained network, with the regulariser its name or its protocol fixes."""
    base = {"standard": "None (standard)", "pgd": "Adv.train", "rse": "RSE", "adv_bnn": "Adv-BNN"}
    if method in base:
        return base[method]
    options = resolve_protocol(scale_config(config["scale"])["train_linf"][setting["protocol"]], method).get(
        "options", {})
    regularizer = method.removeprefix("adv_bnn_graddiv_") if method.startswith("adv_bnn_graddiv_") else options.get(
        "regularizer")
    name = {"kappa": "κ", "mean": "mean", "max": "max", "smoothmax": "smoothmax", "dpp": "DPP"}.get(regularizer)
    prefix = "RSE" if method.startswith("rse") else "Adv-BNN"
    return f"{prefix} + GradDiv-{name}" if name else f"{prefix} + GradDiv"


def graddiv_cells(figure, path):
    """[title, method, label, file] of every network of ``figure``; ``path(run, method, setting)`` names its file."""
    return [[title, method, graddiv_label(setting, method), path(graddiv_run(figure, setting, method), method, setting)]
            for title, setting in graddiv_settings(figure) for method in setting["trained"]]


def concentration_file(figure):
    def path(run, method, setting):
        protocol = resolve_protocol(scale_config(config["scale"])["train_linf"][setting["protocol"]], method)
        if not protocol.get("log_concentration") or not randomized_method(method):
            raise WorkflowError(f"config: {figure} draws {method}'s concentration during training, but protocol "
                                f"{setting['protocol']} does not log it (set log_concentration: true in "
                                f"scales.{config['scale']}.train_linf.{setting['protocol']}.per_method.{method}; "
                                "randomized networks only)")
        return f"results/ckpt/{run}/concentration.csv"
    return path


def attack_file(figure, attack):
    """The file of ``attack`` a network's curve reads (its one-sample version for a deterministic network); the
    setting's radii must be among those the eot tables attack at."""
    def path(run, method, setting):
        dataset = linf_used("datasets", setting["dataset"], config["scale"])
        missing = set(map(float, setting.get("eval_eps", []))) - set(map(float, eot_eps(config["scale"], dataset)))
        if missing:
            raise WorkflowError(f"config: {figure} reads eps {sorted(missing)} on {setting['dataset']}, which no "
                                "eot table attacks at")
        return f"results/eot/{run}/{effective_attack(method, attack)}.tsv"
    return path


def eot_accuracy_cells(figure):
    """[title, method, label, file, attack] of every curve point source of fig. 2.7: a panel attacks with its
    ``attack`` at every radius, or (fig. A.5) with EOT-PGD at each of its ``samples`` sizes."""
    cells = []
    for title, setting in graddiv_settings(figure):
        for attack in [setting["attack"]] if "attack" in setting else [f"pgd_n{n}" for n in setting["samples"]]:
            path = attack_file(figure, attack)
            cells += [[title, method, graddiv_label(setting, method),
                       path(graddiv_run(figure, setting, method), method, setting), attack]
                      for method in setting["trained"]]
    return cells


def schedule_marks(setting, method):
    """Epochs the thesis marks with vertical lines: the ends of lambda's warm-up and ramp-up, the lr decays."""
    protocol = resolve_protocol(scale_config(config["scale"])["train_linf"][setting["protocol"]], method)
    warmup = protocol.get("warmup_epochs", 0)
    return [warmup, warmup + protocol.get("rampup_epochs", 0), *protocol.get("lr_milestones", [])]


rule analyse_gradient_samples:
    """100 loss-gradient samples per test image of one randomized network: kappa_hat, rho_hat (figs. 2.4, 2.6, 2.9)."""
    input:
        model="results/ckpt/" + LINF_RUN + "/model.pt",
        data=dataset_input,
        code=REPO / "bench" / "analysis" / "gradient_samples.py",
    output:
        rows="results/analysis/gradient_samples/" + LINF_RUN + "/samples.tsv",
        provenance="results/analysis/gradient_samples/" + LINF_RUN + "/samples.json",
        first="results/analysis/gradient_samples/" + LINF_RUN + "/first.pt",
    params:
        settings=analysis_settings("gradient_samples"),
    log:
        "logs/analysis/gradient_samples/" + LINF_RUN + ".log",
    benchmark:
        "benchmarks/analysis/gradient_samples/" + LINF_RUN + ".tsv"
    threads: job_threads("analyse_gradient_samples")
    resources:
        **job_resources("analyse_gradient_samples"),
    conda:
        "../../envs/certbench.yaml"
    script:
        "../scripts/analyse_gradient_samples.py"


rule analyse_transfer:
    """PGD transfer among 50 fixed sample models of one randomized network (fig. 2.8)."""
    input:
        model="results/ckpt/" + LINF_RUN + "/model.pt",
        data=dataset_input,
        code=REPO / "bench" / "analysis" / "transfer.py",
    output:
        rows="results/analysis/transfer/" + LINF_RUN + "/matrix.tsv",
        provenance="results/analysis/transfer/" + LINF_RUN + "/matrix.json",
    params:
        settings=analysis_settings("transfer"),
    log:
        "logs/analysis/transfer/" + LINF_RUN + ".log",
    benchmark:
        "benchmarks/analysis/transfer/" + LINF_RUN + ".tsv"
    threads: job_threads("analyse_transfer")
    resources:
        **job_resources("analyse_transfer"),
    conda:
        "../../envs/certbench.yaml"
    script:
        "../scripts/analyse_transfer.py"


def graddiv_figure_cells(figure):
    """The files and labels of a GradDiv figure's tidy table, by the data its figure module draws."""
    samples = lambda run, method, setting: f"results/analysis/gradient_samples/{run}/samples.tsv"
    first = lambda run, method, setting: f"results/analysis/gradient_samples/{run}/first.pt"
    spec = config["figures"][figure]
    return {
        "graddiv_fig2_3_concentration": lambda: graddiv_cells(figure, concentration_file(figure)),
        "graddiv_fig2_4_scatter": lambda: graddiv_cells(figure, first),
        "graddiv_fig2_5_loss_increase": lambda: graddiv_cells(figure, attack_file(figure, spec.get("attack"))),
        "graddiv_fig2_6_kappa": lambda: graddiv_cells(figure, samples),
        "graddiv_fig2_7_eot_accuracy": lambda: eot_accuracy_cells(figure),
        "graddiv_fig2_8_transfer": lambda: graddiv_cells(
            figure, lambda run, method, setting: f"results/analysis/transfer/{run}/matrix.tsv"),
        "graddiv_fig2_9_cosine": lambda: graddiv_cells(figure, first),
    }[figure]()


rule figure_data_graddiv:
    """The tidy table of a GradDiv figure (thesis figs. 2.3-2.9, A.1-A.5), from its networks' files."""
    wildcard_constraints:
        figure="graddiv_fig2_[3-9]_[a-z_]+",
    input:
        cells=lambda w: sorted({cell[3] for cell in graddiv_figure_cells(w.figure)}),
        code=REPO / "bench" / "analysis" / "graddiv_figures.py",
    output:
        "results/figures/{figure}.tsv",
    params:
        cells=lambda w: graddiv_figure_cells(w.figure),
        spec=lambda w: config["figures"][w.figure],
        marks=lambda w: {title: schedule_marks(setting, setting["trained"][-1])
                         for title, setting in graddiv_settings(w.figure)},
        paper=GRADDIV_PAPER.get("figures", {}),
    log:
        "logs/figures/{figure}.data.log",
    conda:
        "../../envs/certbench.yaml"
    script:
        "../scripts/figure_data_graddiv.py"
