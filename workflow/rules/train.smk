rule train:
    """Train one model of one table cell (bench.train + bench.methods.<method>); resumes after a kill."""
    input:
        data=dataset_input,
    output:
        model="results/ckpt/" + RUN + "/model.pt",
    params:
        settings=lambda w: resolve_protocol(settings("train", w.scale, w.dataset), w.method, float(w.sigma)),
    log:
        "logs/train/" + RUN + ".log",
    benchmark:
        "benchmarks/train/" + RUN + ".tsv"
    threads: job_threads("train")
    resources:
        **job_resources("train"),
    conda:
        "../../envs/certbench.yaml"
    script:
        "../scripts/train.py"
