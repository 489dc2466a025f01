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


def linf_cells(table):
    """(method, paper dataset, test eps) -> verification file, for every measured cell of ``table``."""
    scale, seed = config["scale"], config["seed"]
    cells = {}
    for block in reference_of(table)["blocks"]:
        for method in config["tables"][table]["methods"]:
            setting = {**block, **block.get("overrides", {}).get(method, {})}
            dataset, model = linf_used("datasets", block["dataset"], scale), linf_used("models", setting["model"], scale)
            protocol = block.get("protocol", block["dataset"])
            for section, key in (("train_linf", protocol), ("verify", dataset)):
                if key not in scale_config(scale).get(section, {}):
                    raise WorkflowError(f"config: scales.{scale}.{section} has no entry '{key}' (needed by {table}); "
                                        f"add it to config/config.yaml")
            run = LINF_RUN.format(scale=scale, dataset=dataset, model=model, method=method,
                                  eps=eps_token(setting.get("eps_train", block["eps"])), protocol=protocol, seed=seed)
            cells[(method, block["dataset"], block["eps"])] = f"results/verify/{run}/eps{eps_token(block['eps'])}.tsv"
    return cells


rule train_linf:
    """Certified training of one cell (bench.train + bench.methods.<method>, eps/kappa/beta schedules)."""
    output:
        model="results/ckpt/" + LINF_RUN + "/model.pt",
    params:
        settings=lambda w: scale_config(w.scale)["train_linf"][w.protocol],
    log:
        "logs/train/" + LINF_RUN + ".log",
    threads: config["threads"]
    conda:
        "../../envs/certbench.yaml"
    script:
        "../scripts/train_linf.py"


rule verify_linf:
    """Clean, PGD-100 and bound-verified accuracy at one test eps; one row per test point."""
    input:
        model="results/ckpt/" + LINF_RUN + "/model.pt",
    output:
        rows="results/verify/" + LINF_RUN + "/eps{test_eps}.tsv",
        provenance="results/verify/" + LINF_RUN + "/eps{test_eps}.json",
    params:
        settings=lambda w: scale_config(w.scale)["verify"][w.dataset],
    log:
        "logs/verify/" + LINF_RUN + "/eps{test_eps}.log",
    threads: config["threads"]
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
        report("tables/{table}.md", category="Tables", caption="../report/table.rst"),
    params:
        cells=lambda w: [[m, d, e, path] for (m, d, e), path in linf_cells(w.table).items()],
        reference=lambda w: config["tables"][w.table]["reference"],
        used=lambda w: {b["dataset"]: linf_used("datasets", b["dataset"], config["scale"])
                        for b in reference_of(w.table)["blocks"]},
        scale=config["scale"],
        note=lambda w: scale_config(config["scale"])["note"],
        repo=str(REPO),
    log:
        "logs/tables/{table}.log",
    conda:
        "../../envs/certbench.yaml"
    script:
        "../scripts/table_linf.py"
