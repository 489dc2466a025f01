# Data: every job that reads a real dataset needs its files under data_root. They are checked when the DAG is
# built, so a missing dataset stops the run before any job starts, with the folder and how to get the data.
# With allow_download, a local job downloads (and MD5-checks) each missing dataset once, before the jobs
# that read it. The offline stand-ins are bundled and need nothing.
from snakemake.logging import logger

from bench.data.files import DOWNLOADABLE, missing_files, missing_message

_warned = set()


def dataset_input(w):
    """Input of a job reading dataset ``w.dataset``: nothing when its files are there, the download marker
    when they may be downloaded; otherwise an error (a warning in a dry run, which only shows the plan)."""
    missing = missing_files(w.dataset, config["data_root"])
    if not missing:
        return []
    if config["allow_download"] and w.dataset in DOWNLOADABLE:
        return [f"{config['data_root']}/{w.dataset}/.downloaded"]
    message = missing_message(w.dataset, Path(config["data_root"]) / w.dataset,
                              f"{len(missing)} required files missing, e.g. {missing[0]}")
    if not workflow.dryrun:
        raise WorkflowError(message)
    if w.dataset not in _warned:
        _warned.add(w.dataset)
        logger.warning(f"Dry run: a real run would stop here, before any job: {message}")
    return []


rule download_dataset:
    """Download both splits of a real dataset with torchvision (MD5-checked); only with allow_download."""
    output:
        touch(config["data_root"] + "/{dataset}/.downloaded"),
    log:
        "logs/data/{dataset}.log",
    conda:
        "../../envs/certbench.yaml"
    script:
        "../scripts/download_dataset.py"
