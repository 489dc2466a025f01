rule certify_smoothing:
    """Randomized-smoothing CERTIFY of a trained model with its own sigma; one row per test point."""
    input:
        model="results/ckpt/" + RUN + "/model.pt",
        data=dataset_input,
    output:
        certificates="results/cert/" + RUN + "/smoothing.tsv",
        provenance="results/cert/" + RUN + "/smoothing.json",
    params:
        settings=lambda w: settings("certify", w.scale, w.dataset),
    log:
        "logs/certify/" + RUN + ".log",
    benchmark:
        "benchmarks/certify/" + RUN + ".tsv"
    threads: job_threads("certify_smoothing")
    resources:
        **job_resources("certify_smoothing"),
    conda:
        "../../envs/certbench.yaml"
    script:
        "../scripts/certify.py"
