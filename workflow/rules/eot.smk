# Thesis ch. 2 (GradDiv): randomized networks, trained by train_linf (their run ids are LINF_RUN's, eps the PGD
# training radius), attacked by EOT-FGSM and EOT-PGD at every radius of their tables, one job per attack.
from bench.protocols import effective_samples

wildcard_constraints:
    attack=r"(fgsm|pgd)_n[1-9]\d*",


def effective_attack(method, attack):
    """The attack file a table's cell reads: a deterministic network's is its one-sample version."""
    kind, samples = attack.rsplit("_n", 1)
    return f"{kind}_n{effective_samples(method, int(samples))}"


def eot_eps(scale, dataset):
    """Every radius (as text) that a table of the eot family prints for the dataset used as ``dataset``, sorted."""
    values = set()
    for table in tables_of("eot"):
        for part in table_parts(**config["tables"][table]["reference"]):
            if any(linf_used("datasets", block["dataset"], scale) == dataset for block in part["blocks"]):
                values |= set(part["eval_eps"])
    return sorted(values, key=float)


def eot_cells(table):
    """(method, paper dataset, attack as printed) -> per-point file of every measured cell of ``table``."""
    ref, cells = config["tables"][table]["reference"], {}
    for key, cell in linf_runs(table).items():
        method, dataset = key[0], key[1]
        settings("attack_eot", config["scale"], cell["dataset"])
        for part in table_parts(**ref):
            for block in [b for b in part["blocks"] if b["dataset"] == dataset and method in b["values"]]:
                for attack in block["values"][method]:
                    cells[(method, dataset, attack)] = (f"results/eot/{cell['run']}/"
                                                        f"{effective_attack(method, attack)}.tsv")
    return cells


rule attack_eot:
    """Accuracy of one trained network under one EOT attack at every radius of its tables (bench.eot)."""
    input:
        model="results/ckpt/" + LINF_RUN + "/model.pt",
        data=dataset_input,
    output:
        rows="results/eot/" + LINF_RUN + "/{attack}.tsv",
        provenance="results/eot/" + LINF_RUN + "/{attack}.json",
    params:
        settings=lambda w: settings("attack_eot", w.scale, w.dataset),
        eps=lambda w: eot_eps(w.scale, w.dataset),
    log:
        "logs/eot/" + LINF_RUN + "/{attack}.log",
    benchmark:
        "benchmarks/eot/" + LINF_RUN + "/{attack}.tsv"
    threads: job_threads("attack_eot")
    resources:
        **job_resources("attack_eot"),
    conda:
        "../../envs/certbench.yaml"
    script:
        "../scripts/attack_eot.py"


rule table_eot:
    """A table of accuracy under EOT attacks (thesis Tables 2.1, A.2, A.3, A.5): the paper's beside the measured."""
    wildcard_constraints:
        table="|".join(tables_of("eot")) or "^$",
    input:
        rows=lambda w: sorted(set(eot_cells(w.table).values())),
        reference=lambda w: REPO / "bench" / "reference" / f"{config['tables'][w.table]['reference']['paper']}.yaml",
        code=REPORT_CODE,
    output:
        markdown="tables/{table}.md",
        html=report("tables/{table}.html", category="Tables", labels={"table": "{table}"},
                    caption="../report/table.rst"),
    params:
        cells=lambda w: [[*key, path] for key, path in eot_cells(w.table).items()],
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
        "../scripts/table_eot.py"
