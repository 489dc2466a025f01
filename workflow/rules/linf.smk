# l_inf certified training: train -> verify (clean, PGD, bounds) -> table, for the paper tables whose grid
# lives in bench/reference/<paper>.yaml. A run id is
#   {scale}/{dataset}/{model}/{method}/eps{eps}/{protocol}/seed{seed}
# with the dataset and model actually used, eps the *training* radius written as 0.1 or 8_255 (= 8/255),
# and protocol the name of the training settings in scales.<scale>.train_linf.
LINF_RUN = "{scale}/{dataset}/{model}/{method}/eps{eps}/{protocol}/seed{seed}"

wildcard_constraints:
    eps=r"\d+(\.\d+)?(_\d+)?",
    test_eps=r"\d+(\.\d+)?(_\d+)?",
    protocol=r"[a-z0-9_]+",


def eps_token(eps: str) -> str:
    return eps.replace("/", "_")


def linf_used(kind, name, scale):
    return scale_config(scale).get("stand_ins_linf", {}).get(kind, {}).get(name, name)


def table_seeds(table, method):
    """The seeds ``method`` is trained at for ``table``: its ``seeds`` (thesis tables B.2-B.3 repeat each
    training), but the config's seed for tables without them and for the methods of ``single_seed``."""
    spec = config["tables"][table]
    return [config["seed"]] if method in spec.get("single_seed", []) else spec.get("seeds", [config["seed"]])


def linf_runs(table, seed=None):
    """(method, paper dataset, test eps, eps_train, paper model) -> {run, dataset, model, protocol, test_eps} for
    every cell of ``table``: each configured method in every block (of every part) that prints a row for it, but
    quoted blocks. ``run`` is the run id at ``seed`` (the config's by default), ``dataset`` and ``model`` the ones
    used, ``test_eps`` the test radius as a path token. Refuses a method whose protocol trains against another
    ball than the table's."""
    ref, scale, seed = config["tables"][table]["reference"], config["scale"], config["seed"] if seed is None else seed
    cells = {}
    for part in table_parts(ref["paper"], ref["table"]):
        for block in [b for b in part["blocks"] if not b.get("quoted")]:  # quoted blocks and rows: "not run here"
            for method in [m for m in config["tables"][table]["methods"]
                           if m in block["values"] and not quoted_row(block, m)]:
                setting = cell_setting(block, method)
                dataset = linf_used("datasets", block["dataset"], scale)
                protocol = resolve_protocol(linf_settings("train_linf", setting["protocol"], table), method)
                where = f"scales.{scale}.train_linf.{setting['protocol']}"
                try:
                    check_norm(method, protocol_norm(protocol))
                except ValueError as err:
                    raise WorkflowError(f"config: {table}: {err} ({where})")
                if protocol_norm(protocol) != part.get("norm", "linf"):
                    raise WorkflowError(f"config: {table} is a table of {part.get('norm', 'linf')} balls, but {where} "
                                        f"trains {method} against {protocol_norm(protocol)} balls (set its norm)")
                model = linf_used("models", setting["model"], scale)
                run = LINF_RUN.format(scale=scale, dataset=dataset, model=model,
                                      method=method, eps=eps_token(setting["eps_train"]),
                                      protocol=setting["protocol"], seed=seed)
                cells[(method, block["dataset"], block["eps"], setting["eps_train"], setting["model"])] = {
                    "run": run, "dataset": dataset, "model": model, "protocol": setting["protocol"],
                    "test_eps": eps_token(block["eps"])}
    return cells


def linf_settings(section, key, table):
    """scales.<scale>.<section>.<key> of the config, or an error naming what ``table`` misses."""
    scale = config["scale"]
    if key not in scale_config(scale).get(section, {}):
        raise WorkflowError(f"config: scales.{scale}.{section} has no entry '{key}' (needed by {table}); "
                            f"add it to config/config.yaml")
    return scale_config(scale)[section][key]


def linf_cells(table):
    """(*cell key, seed) -> per-point verification file, at every seed of the cell's method."""
    cells = {}
    for seed in sorted({s for method in config["tables"][table]["methods"] for s in table_seeds(table, method)}):
        for key, cell in linf_runs(table, seed).items():
            if seed in table_seeds(table, key[0]):
                linf_settings("verify", cell["dataset"], table)
                cells[(*key, seed)] = f"results/verify/{cell['run']}/eps{cell['test_eps']}.tsv"
    return cells


def training_cells(table):
    """Cell key -> (per-epoch training metrics of the cell's run, the model trained, its method's settings)."""
    cells = {}
    for key, cell in linf_runs(table).items():
        protocol = cell["protocol"]
        run_settings = resolve_protocol(linf_settings("train_linf", protocol, table), key[0])
        for needed in ("select_best", "log_target_loss"):
            if not run_settings.get(needed):
                raise WorkflowError(f"config: {table} reads each run's per-epoch {needed} trace; set {needed}: "
                                    f"true in scales.{config['scale']}.train_linf.{protocol}")
        cells[key[:4]] = (f"results/ckpt/{cell['run']}/metrics.csv", cell["model"], run_settings)
    return cells


def cost_cells(table):
    """Cell key -> (metrics.csv, the model trained, model.pt) of every run of a training-cost table."""
    return {key: (f"results/ckpt/{cell['run']}/metrics.csv", cell["model"], f"results/ckpt/{cell['run']}/model.pt")
            for key, cell in linf_runs(table).items()}


def used_datasets(table):
    ref = config["tables"][table]["reference"]
    return {b["dataset"]: linf_used("datasets", b["dataset"], config["scale"])
            for part in table_parts(ref["paper"], ref["table"]) for b in part["blocks"]}


GUIDED_METHODS = ("duet",)  # trained towards a vanilla guide model (its option `guide`)


def guide_option(scale, protocol, method):
    """A guided method's option ``guide``: a method name ("standard" by default) or a model.pt file."""
    return resolve_protocol(scale_config(scale)["train_linf"][protocol], method).get("options", {}).get(
        "guide", "standard")


def guide_run(guide, scale, dataset, model, eps, protocol, seed):
    """The run id that trains the guide method ``guide``: the guided run's protocol, dataset, model and eps at the
    next seed. Duet's vanilla model is pre-trained on its own; one initialisation shared with the certification
    model would make their rotations alike before any guidance."""
    return LINF_RUN.format(scale=scale, dataset=dataset, model=model, method=guide, eps=eps, protocol=protocol,
                           seed=int(seed) + 1)


def guide_path(scale, dataset, model, method, eps, protocol, seed):
    """The guide model.pt of a guided run (Duet), [] for other runs: the run of ``guide_run``, which the DAG trains
    first, or a model.pt file of the user's, which must exist before any job runs."""
    if split_variant(method)[0] not in GUIDED_METHODS:
        return []
    guide = guide_option(scale, protocol, method)
    if guide.endswith(".pt"):
        if not Path(guide).is_file():
            raise WorkflowError(f"config: {method}'s guide model {guide} (scales.{scale}.train_linf.{protocol}"
                                f".per_method.{method}.options.guide) does not exist: train a vanilla model of the "
                                f"same architecture there, or set guide: standard to let the workflow train it")
        return guide
    return f"results/ckpt/{guide_run(guide, scale, dataset, model, eps, protocol, seed)}/model.pt"


def guide_model(w):
    return guide_path(w.scale, w.dataset, w.model, w.method, w.eps, w.protocol, w.seed)


def train_linf_settings(w):
    """The run's resolved protocol; a guided run's option ``guide`` becomes the guide's path."""
    settings = resolve_protocol(scale_config(w.scale)["train_linf"][w.protocol], w.method)
    guide = guide_model(w)
    return {**settings, "options": {**settings.get("options", {}), "guide": guide}} if guide else settings


rule train_linf:
    """Certified training of one cell (bench.train + bench.methods.<method>, eps/kappa/beta schedules)."""
    input:
        data=dataset_input,
        guide=guide_model,
    output:
        model="results/ckpt/" + LINF_RUN + "/model.pt",
        metrics="results/ckpt/" + LINF_RUN + "/metrics.csv",
    params:
        settings=train_linf_settings,
    log:
        "logs/train/" + LINF_RUN + ".log",
    benchmark:
        "benchmarks/train/" + LINF_RUN + ".tsv"
    threads: job_threads("train_linf")
    resources:
        **job_resources("train_linf"),
    conda:
        "../../envs/certbench.yaml"
    script:
        "../scripts/train_linf.py"


# Protocols with trace_every > 0 also write training traces (bench.traces) beside metrics.csv; the figures of
# thesis sec. 3.3 / app. C read them. Same job, two more declared outputs.
TRACED_PROTOCOLS = sorted({name for scale in config["scales"].values()
                           for name, protocol in scale.get("train_linf", {}).items() if protocol.get("trace_every")})


use rule train_linf as train_linf_traced with:
    output:
        model="results/ckpt/" + LINF_RUN + "/model.pt",
        metrics="results/ckpt/" + LINF_RUN + "/metrics.csv",
        trace="results/ckpt/" + LINF_RUN + "/trace.csv",
        slopes="results/ckpt/" + LINF_RUN + "/relu_slopes.csv",
    wildcard_constraints:
        protocol="|".join(TRACED_PROTOCOLS) or "^$",


# Protocols with log_lipschitz write every layer's operator norm after each epoch (lipschitz.csv, sac fig. 1).
LIPSCHITZ_PROTOCOLS = sorted({name for scale in config["scales"].values()
                              for name, protocol in scale.get("train_linf", {}).items()
                              if protocol.get("log_lipschitz")})
if set(LIPSCHITZ_PROTOCOLS) & set(TRACED_PROTOCOLS):
    raise WorkflowError(f"config: train_linf protocols {sorted(set(LIPSCHITZ_PROTOCOLS) & set(TRACED_PROTOCOLS))} "
                        f"set both trace_every and log_lipschitz; one protocol may set only one of them")


use rule train_linf as train_linf_lipschitz with:
    output:
        model="results/ckpt/" + LINF_RUN + "/model.pt",
        metrics="results/ckpt/" + LINF_RUN + "/metrics.csv",
        lipschitz="results/ckpt/" + LINF_RUN + "/lipschitz.csv",
    wildcard_constraints:
        protocol="|".join(LIPSCHITZ_PROTOCOLS) or "^$",


# (protocol, method) pairs with log_concentration write a randomized network's GradDiv measures per epoch
# (concentration.csv, thesis fig. 2.3). A per-method setting: every method so set must set it in every such protocol.
CONCENTRATION_RUNS = {(name, method) for scale in config["scales"].values()
                      for name, protocol in scale.get("train_linf", {}).items()
                      for method in protocol.get("per_method", {})
                      if resolve_protocol(protocol, method).get("log_concentration")}
CONCENTRATION_PROTOCOLS = sorted({name for name, _ in CONCENTRATION_RUNS})
CONCENTRATION_METHODS = sorted({method for _, method in CONCENTRATION_RUNS})
if len(CONCENTRATION_RUNS) != len(CONCENTRATION_PROTOCOLS) * len(CONCENTRATION_METHODS):
    raise WorkflowError(f"config: log_concentration must be set for the same methods in every protocol that sets it "
                        f"(protocols {CONCENTRATION_PROTOCOLS}, methods {CONCENTRATION_METHODS})")
if set(CONCENTRATION_PROTOCOLS) & set(TRACED_PROTOCOLS + LIPSCHITZ_PROTOCOLS):
    raise WorkflowError(f"config: train_linf protocols "
                        f"{sorted(set(CONCENTRATION_PROTOCOLS) & set(TRACED_PROTOCOLS + LIPSCHITZ_PROTOCOLS))} set "
                        "log_concentration and trace_every or log_lipschitz; one protocol may set only one of them")


use rule train_linf as train_linf_concentration with:
    output:
        model="results/ckpt/" + LINF_RUN + "/model.pt",
        metrics="results/ckpt/" + LINF_RUN + "/metrics.csv",
        concentration="results/ckpt/" + LINF_RUN + "/concentration.csv",
    wildcard_constraints:
        protocol="|".join(CONCENTRATION_PROTOCOLS) or "^$",
        method="|".join(CONCENTRATION_METHODS) or "^$",


ruleorder: train_linf_traced > train_linf_lipschitz > train_linf_concentration > train_linf


rule verify_linf:
    """Clean, PGD-100 and bound-verified accuracy at one test eps, on the ball its protocol trains against (norm:
    linf by default, or l2); one row per test point."""
    input:
        model="results/ckpt/" + LINF_RUN + "/model.pt",
        data=dataset_input,
    output:
        rows="results/verify/" + LINF_RUN + "/eps{test_eps}.tsv",
        provenance="results/verify/" + LINF_RUN + "/eps{test_eps}.json",
    params:
        settings=lambda w: scale_config(w.scale)["verify"][w.dataset],
        norm=lambda w: protocol_norm(resolve_protocol(scale_config(w.scale)["train_linf"][w.protocol], w.method)),
    log:
        "logs/verify/" + LINF_RUN + "/eps{test_eps}.log",
    benchmark:
        "benchmarks/verify/" + LINF_RUN + "/eps{test_eps}.tsv"
    threads: job_threads("verify_linf")
    resources:
        **job_resources("verify_linf"),
    conda:
        "../../envs/certbench.yaml"
    script:
        "../scripts/verify_linf.py"


rule table_linf:
    """An l_inf paper table (paper numbers beside measured ones)."""
    wildcard_constraints:
        table="|".join(tables_of("linf")) or "^$",
    input:
        rows=lambda w: list(linf_cells(w.table).values()),
        reference=lambda w: REPO / "bench" / "reference" / f"{config['tables'][w.table]['reference']['paper']}.yaml",
        code=REPORT_CODE,
    output:
        markdown="tables/{table}.md",
        html=report("tables/{table}.html", category="Tables", labels={"table": "{table}"},
                    caption="../report/table.rst"),
    params:
        cells=lambda w: [[*key, path] for key, path in linf_cells(w.table).items()],
        reference=lambda w: config["tables"][w.table]["reference"],
        used=lambda w: used_datasets(w.table),
        scale=config["scale"],
        note=lambda w: scale_config(config["scale"])["note"],
        repo=str(REPO),
    log:
        "logs/tables/{table}.log",
    conda:
        "../../envs/certbench.yaml"
    script:
        "../scripts/table_linf.py"


rule table_linf_training:
    """A table of training-time quantities (thesis table 3.3: loss early in the ramp-up, best checkpoint)."""
    wildcard_constraints:
        table="|".join(tables_of("linf_training")) or "^$",
    input:
        metrics=lambda w: [path for path, *_ in training_cells(w.table).values()],
        reference=lambda w: REPO / "bench" / "reference" / f"{config['tables'][w.table]['reference']['paper']}.yaml",
        code=REPORT_CODE,
    output:
        markdown="tables/{table}.md",
        html=report("tables/{table}.html", category="Tables", labels={"table": "{table}"},
                    caption="../report/table.rst"),
    params:
        cells=lambda w: [[*key, *value] for key, value in training_cells(w.table).items()],
        reference=lambda w: config["tables"][w.table]["reference"],
        used=lambda w: used_datasets(w.table),
        scale=config["scale"],
        note=lambda w: scale_config(config["scale"])["note"],
        repo=str(REPO),
    log:
        "logs/tables/{table}.log",
    conda:
        "../../envs/certbench.yaml"
    script:
        "../scripts/table_linf_training.py"


rule table_cost:
    """A table of training cost (thesis table 3.1: seconds per epoch, speed-up), from the runs' metrics.csv."""
    wildcard_constraints:
        table="|".join(tables_of("cost")) or "^$",
    input:
        metrics=lambda w: [metrics for metrics, _, _ in cost_cells(w.table).values()],
        models=lambda w: [model_pt for _, _, model_pt in cost_cells(w.table).values()],
        reference=lambda w: REPO / "bench" / "reference" / f"{config['tables'][w.table]['reference']['paper']}.yaml",
        code=REPORT_CODE,
    output:
        markdown="tables/{table}.md",
        html=report("tables/{table}.html", category="Tables", labels={"table": "{table}"},
                    caption="../report/table.rst"),
    params:
        cells=lambda w: [[key[0], key[1], key[4], *value] for key, value in cost_cells(w.table).items()],
        reference=lambda w: config["tables"][w.table]["reference"],
        used=lambda w: used_datasets(w.table),
        scale=config["scale"],
        note=lambda w: scale_config(config["scale"])["note"],
        repo=str(REPO),
    log:
        "logs/tables/{table}.log",
    conda:
        "../../envs/certbench.yaml"
    script:
        "../scripts/table_cost.py"
