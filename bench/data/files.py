"""Where each real dataset's files live under ``data_root/<name>/``, how to get them, and whether they are
there. Pure Python (no torch): the Snakefile imports it to check the data when it builds the DAG, before any
job runs. Presence only; torchvision checks every file's MD5 when a job loads the data."""
from __future__ import annotations

from pathlib import Path

DOWNLOAD = ("set `allow_download: true` in config/config.yaml (or pass --config allow_download=True) and "
            "torchvision downloads and MD5-checks it into data_root")
DIGITS = "bundled with scikit-learn (sklearn.datasets.load_digits); nothing to download"


def _idx_files(folder: str) -> tuple[str, ...]:
    return tuple(f"{folder}/raw/{kind}-{part}" for kind in ("train", "t10k")
                 for part in ("images-idx3-ubyte", "labels-idx1-ubyte"))


# Required files or folders per real dataset ("a|b": either one); datasets not listed are bundled.
REQUIRED: dict[str, tuple[str, ...]] = {
    "mnist": _idx_files("MNIST"),
    "fashion_mnist": _idx_files("FashionMNIST"),
    "cifar10": tuple(f"cifar-10-batches-py/{f}" for f in
                     ("batches.meta", *(f"data_batch_{i}" for i in range(1, 6)), "test_batch")),
    "svhn": ("train_32x32.mat", "test_32x32.mat"),
    "stl10": tuple(f"stl10_binary/{f}" for f in ("train_X.bin", "train_y.bin", "test_X.bin", "test_y.bin")),
    "tinyimagenet": ("tiny-imagenet-200/train", "tiny-imagenet-200/val"),
    "imagenet": ("train|ILSVRC2012_img_train.tar", "val|ILSVRC2012_img_val.tar"),
}
DOWNLOADABLE = frozenset({"mnist", "fashion_mnist", "cifar10", "svhn", "stl10", "tinyimagenet"})
HOW_TO = {
    **{name: DOWNLOAD for name in DOWNLOADABLE},
    "tinyimagenet": DOWNLOAD + " (cs231n.stanford.edu/tiny-imagenet-200.zip, 248 MB), or unpack that archive "
                    "into data_root/tinyimagenet/ yourself (its val/ as shipped, or one folder per class)",
    "imagenet": "put ImageNet in data_root/imagenet/ as train/<wnid>/*.JPEG and val/<wnid>/*.JPEG (one folder "
                "per class, val sorted by the devkit's labels), or place ILSVRC2012_img_train.tar, "
                "ILSVRC2012_img_val.tar and ILSVRC2012_devkit_t12.tar.gz there (licence required: image-net.org; "
                "torchvision checks the archives' MD5)",
}


def missing_files(name: str, root: str | Path = "data") -> list[Path]:
    """The required files of dataset ``name`` that are not under ``root``; none for a bundled dataset."""
    folder = Path(root) / name
    return [folder / options.split("|")[-1] for options in REQUIRED.get(name, ())
            if not any((folder / option).exists() for option in options.split("|"))]


def missing_message(name: str, folder: str | Path, cause: object = None) -> str:
    """What a user reads when dataset ``name`` is missing or damaged under ``folder``, and how to get it."""
    return (f"dataset '{name}' is missing or corrupted under {folder}" + (f" ({cause})" if cause else "") + ".\n"
            f"How to get it: {HOW_TO.get(name, DIGITS)}\n"
            "Or run the offline default instead: --config scale=smoke.")
