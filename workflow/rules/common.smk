# Map table cells to run ids and run ids to config settings. A run id is a readable path:
#   {scale}/{dataset}/{model}/{method}/sigma{sigma}/seed{seed}
# where dataset and model are the ones actually used at that scale (stand-ins at smoke scale).
import sys
from pathlib import Path

REPO = Path(workflow.basedir)
sys.path.insert(0, str(REPO))  # bench.reference needs only PyYAML, so this works in any Snakemake env

from bench.protocols import check_norm, protocol_norm, resolve_protocol, split_variant
from bench.reference import cell_setting, quoted_row, reference_table, table_parts, table_rows
RUN = "{scale}/{dataset}/{model}/{method}/sigma{sigma}/seed{seed}"

wildcard_constraints:
    scale="smoke|paper",
    dataset=r"[^/]+",
    model=r"[^/]+",
    method=r"[^/]+",
    sigma=r"\d+(\.\d+)?",
    seed=r"\d+",


def scale_config(scale):
    return config["scales"][scale]


def used(kind, name, scale):
    """The dataset or model that stands in for ``name`` at ``scale`` (itself when none does)."""
    return scale_config(scale)["stand_ins"].get(kind, {}).get(name, name)


def job_threads(rule):
    return lambda w: scale_config(w.scale)["resources"][rule]["threads"]


def job_resources(rule):
    """Memory, runtime (minutes) and GPUs of one job of compute ``rule``, from ``scales.<scale>.resources`` of
    the job's own scale; the SLURM executor turns them into the sbatch request (``gpu`` into ``--gpus``)."""
    return {key: (lambda w, key=key: scale_config(w.scale)["resources"][rule][key])
            for key in ("mem_mb", "runtime", "gpu")}


def settings(section, scale, dataset):
    table = scale_config(scale)[section]
    if dataset not in table:
        raise WorkflowError(f"config: scales.{scale}.{section} has no settings for dataset '{dataset}'; "
                            f"add scales.{scale}.{section}.{dataset} to config/config.yaml")
    return table[dataset]


def reference_rows(table):
    """Row key -> label of the paper table (all its parts) that config table ``table`` rebuilds."""
    ref = config["tables"][table]["reference"]
    return table_rows(ref["paper"], ref["table"])


def tables_of(family):
    return [name for name, spec in config["tables"].items() if spec.get("family", "smoothing") == family]


def table_certificates(table):
    """Per-sample certificate files of every measured cell of ``table`` at the configured scale."""
    spec, scale = config["tables"][table], config["scale"]
    dataset, model = used("datasets", spec["dataset"], scale), used("models", spec["model"], scale)
    for section in ("train", "certify"):
        settings(section, scale, dataset)
    return {(method, float(sigma)): f"results/cert/{scale}/{dataset}/{model}/{method}/sigma{sigma:g}/"
                                    f"seed{config['seed']}/smoothing.tsv"
            for method in spec["methods"] for sigma in spec["sigmas"]}


for _table, _spec in config["tables"].items():
    _unknown = set(_spec["methods"]) - set(reference_rows(_table))
    if _unknown:
        raise WorkflowError(f"config: tables.{_table}.methods has {sorted(_unknown)}, which are not rows of "
                            f"that paper table; its rows are {sorted(reference_rows(_table))}")
