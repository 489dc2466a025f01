# Tables depend on certificates, the reference numbers and the report code only: editing a table
# builder re-runs this rule and nothing upstream of it.
REPORT_CODE = sorted(str(p) for p in (REPO / "bench" / "report").glob("*.py"))


rule table_smoothing:
    """A randomized-smoothing paper table (paper numbers beside measured ones)."""
    wildcard_constraints:
        table="|".join(tables_of("smoothing")) or "^$",
    input:
        certificates=lambda w: list(table_certificates(w.table).values()),
        reference=lambda w: REPO / "bench" / "reference" / f"{config['tables'][w.table]['reference']['paper']}.yaml",
        code=REPORT_CODE,
    output:
        markdown="tables/{table}.md",
        html=report("tables/{table}.html", category="Tables", labels={"table": "{table}"},
                    caption="../report/table.rst"),
    params:
        cells=lambda w: [[m, s, path] for (m, s), path in table_certificates(w.table).items()],
        reference=lambda w: config["tables"][w.table]["reference"],
        scale=config["scale"],
        note=lambda w: scale_config(config["scale"])["note"],
        repo=str(REPO),
    log:
        "logs/tables/{table}.log",
    conda:
        "../../envs/certbench.yaml"
    script:
        "../scripts/table_smoothing.py"
