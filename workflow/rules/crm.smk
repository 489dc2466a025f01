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


rule analyse_radii:
    """The certified radius of every evaluated test point of one trained model, LipLT and naive (crm Fig. 1)."""
    input:
        model="results/ckpt/" + LINF_RUN + "/model.pt",
        data=dataset_input,
        code=REPO / "bench" / "analysis" / "radii.py",
    output:
        rows="results/analysis/radii/" + LINF_RUN + "/radii.tsv",
        provenance="results/analysis/radii/" + LINF_RUN + "/radii.json",
    params:
        settings=lambda w: scale_config(w.scale)["verify"][w.dataset],
    log:
        "logs/analysis/radii/" + LINF_RUN + ".log",
    benchmark:
        "benchmarks/analysis/radii/" + LINF_RUN + ".tsv"
    threads: job_threads("analyse_radii")
    resources:
        **job_resources("analyse_radii"),
    conda:
        "../../envs/certbench.yaml"
    script:
        "../scripts/analyse_radii.py"


rule figure_data_radii:
    """The tidy table of crm Fig. 1: every analysed point's radii, per trained model."""
    wildcard_constraints:
        figure="crm_fig1_radii",
    input:
        rows=lambda w: [f"results/analysis/radii/{run}/radii.tsv" for run in figure_runs(w.figure).values()],
    output:
        "results/figures/{figure}.tsv",
    params:
        labels=lambda w: [{"method": method} for method in figure_runs(w.figure)],
    log:
        "logs/figures/{figure}.data.log",
    conda:
        "../../envs/certbench.yaml"
    script:
        "../scripts/figure_data_rows.py"
