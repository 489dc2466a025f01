# crm Table 2: the mean pairwise Lipschitz constants of each dataset's CRM model, naive and LipLT. Table 1 is an
# l_inf-family table (table_linf) on l2 balls.


rule analyse_pairwise_lipschitz:
    """Every trained model of a pairwise-Lipschitz table: its mean L_ij, L_i + L_j and sqrt(2) L, naive and LipLT."""
    wildcard_constraints:
        table="|".join(tables_of("pairwise_lipschitz")) or "^$",
    input:
        models=lambda w: [f"results/ckpt/{cell['run']}/model.pt" for cell in linf_runs(w.table).values()],
        code=REPO / "bench" / "analysis" / "pairwise_lipschitz.py",
    output:
        rows="results/analysis/pairwise_lipschitz/{scale}/{table}.tsv",
        provenance="results/analysis/pairwise_lipschitz/{scale}/{table}.json",
    params:
        cells=lambda w: [[key[0], key[1], key[4], f"results/ckpt/{cell['run']}/model.pt"]
                         for key, cell in linf_runs(w.table).items()],
    log:
        "logs/analysis/pairwise_lipschitz/{scale}/{table}.log",
    benchmark:
        "benchmarks/analysis/pairwise_lipschitz/{scale}/{table}.tsv"
    threads: job_threads("analyse_pairwise_lipschitz")
    resources:
        **job_resources("analyse_pairwise_lipschitz"),
    conda:
        "../../envs/certbench.yaml"
    script:
        "../scripts/analyse_pairwise_lipschitz.py"


rule table_pairwise_lipschitz:
    """A pairwise-Lipschitz table (crm Table 2)."""
    wildcard_constraints:
        table="|".join(tables_of("pairwise_lipschitz")) or "^$",
    input:
        rows=lambda w: f"results/analysis/pairwise_lipschitz/{config['scale']}/{w.table}.tsv",
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
        "../scripts/table_pairwise_lipschitz.py"
