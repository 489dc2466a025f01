"""Real datasets through torchvision (checksum-verified) and the offline stand-ins."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from torch.utils.data import Dataset

from bench.data import offline, tiny_imagenet
from bench.data.augment import augmentation
from bench.data.files import DIGITS, HOW_TO, missing_message
from bench.logs import progress as progress_lines


class DatasetNotFound(FileNotFoundError):
    """Raised when a dataset's files are missing or fail their checksum."""


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    shape: tuple[int, int, int]
    num_classes: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    how_to_get: str
    stand_in_for: str | None = None  # offline stand-ins name the dataset they replace


@dataclass(frozen=True)
class _Entry:
    spec: DatasetSpec
    load: Callable[[DatasetSpec, str, Path, bool, str], Dataset]


def _transform(steps: list):
    from torchvision import transforms  # on use: torchvision costs ~1.5 s per process (see bench.data.augment)

    return transforms.Compose(steps + [transforms.ToTensor()])


def _torchvision(cls: str, split_kw: Callable[[str], dict]):
    """Loader for the torchvision dataset class ``cls``; torchvision verifies the MD5 of every file."""

    def load(spec: DatasetSpec, split: str, root: Path, download: bool, augment: str) -> Dataset:
        from torchvision import datasets

        transform = _transform(augmentation(augment, spec.shape))
        folder = root / spec.name
        try:
            return getattr(datasets, cls)(str(folder), download=download, transform=transform, **split_kw(split))
        except RuntimeError as err:  # torchvision: "Dataset not found or corrupted"
            raise DatasetNotFound(missing_message(spec.name, folder, err)) from err

    return load


def _image_folder(subdir: str, size: int):
    def load(spec: DatasetSpec, split: str, root: Path, download: bool, augment: str) -> Dataset:
        folder = root / spec.name / subdir.format(split={"train": "train", "test": "val"}[split])
        if not folder.is_dir():
            raise DatasetNotFound(missing_message(spec.name, folder))
        from torchvision import datasets, transforms

        steps = (augmentation(augment, spec.shape) if augment != "none"
                 else [transforms.Resize(int(size * 1.143)), transforms.CenterCrop(size)])
        return datasets.ImageFolder(str(folder), transform=_transform(steps))

    return load


def _tiny_imagenet(spec: DatasetSpec, split: str, root: Path, download: bool, augment: str) -> Dataset:
    folder = root / spec.name
    try:
        if download:
            tiny_imagenet.fetch(folder)
        if not (folder / tiny_imagenet.FOLDER / "train").is_dir():
            raise FileNotFoundError(folder / tiny_imagenet.FOLDER / "train")
        return tiny_imagenet.tiny_imagenet(folder, split, _transform(augmentation(augment, spec.shape)))
    except (RuntimeError, FileNotFoundError, ValueError) as err:  # a failed MD5, missing files or labels
        raise DatasetNotFound(missing_message(spec.name, folder, err)) from err


def _imagenet(spec: DatasetSpec, split: str, root: Path, download: bool, augment: str) -> Dataset:
    """ImageNet as an image folder (train/<wnid>/*.JPEG, val/<wnid>/*.JPEG: the layout Cohen et al.'s code
    reads), else torchvision's ImageNet from the ILSVRC2012 archives (MD5-checked, unpacked on first use).
    Both order the classes by wnid, so labels agree."""
    folder = root / spec.name
    if (folder / "train").is_dir() and (folder / "val").is_dir() and not (folder / "meta.bin").exists():
        return _image_folder("{split}", 224)(spec, split, root, download, augment)
    from torchvision import datasets, transforms

    steps = (augmentation(augment, spec.shape) if augment != "none"
             else [transforms.Resize(256), transforms.CenterCrop(224)])
    try:  # torchvision checks the MD5 of the ILSVRC2012 archives before parsing them
        return datasets.ImageNet(str(folder), split="train" if split == "train" else "val",
                                 transform=_transform(steps))
    except (RuntimeError, FileNotFoundError) as err:
        raise DatasetNotFound(missing_message(spec.name, folder, err)) from err


def _offline_digits(spec: DatasetSpec, split: str, root: Path, download: bool, augment: str):
    if augment != "none":
        raise ValueError(f"the offline stand-in {spec.name} is stored as tensors and takes no augmentation "
                         f"(got '{augment}'); set augment: none in its training settings")
    return offline.digits(split, spec.shape)


_CIFAR_MEAN, _CIFAR_STD = (0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)
_IMAGENET_MEAN, _IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
# Pixel statistics of the digits train split (measured once; any fixed constant would do).
_DIGITS_MEAN, _DIGITS_STD = 0.3051, 0.3760

_ENTRIES: dict[str, _Entry] = {
    "mnist": _Entry(DatasetSpec("mnist", (1, 28, 28), 10, (0.1307,), (0.3081,), HOW_TO["mnist"]),
                    _torchvision("MNIST", lambda s: {"train": s == "train"})),
    "fashion_mnist": _Entry(DatasetSpec("fashion_mnist", (1, 28, 28), 10, (0.2860,), (0.3530,),
                                        HOW_TO["fashion_mnist"]),
                            _torchvision("FashionMNIST", lambda s: {"train": s == "train"})),
    "cifar10": _Entry(DatasetSpec("cifar10", (3, 32, 32), 10, _CIFAR_MEAN, _CIFAR_STD, HOW_TO["cifar10"]),
                      _torchvision("CIFAR10", lambda s: {"train": s == "train"})),
    "svhn": _Entry(DatasetSpec("svhn", (3, 32, 32), 10, (0.438, 0.444, 0.473), (0.198, 0.201, 0.197),
                               HOW_TO["svhn"]),
                   _torchvision("SVHN", lambda s: {"split": s})),
    "stl10": _Entry(DatasetSpec("stl10", (3, 96, 96), 10, (0.4467, 0.4398, 0.4066),
                                (0.2603, 0.2566, 0.2713), HOW_TO["stl10"]),
                    _torchvision("STL10", lambda s: {"split": s})),
    "tinyimagenet": _Entry(
        DatasetSpec("tinyimagenet", (3, 64, 64), 200, (0.4802, 0.4481, 0.3975), (0.2302, 0.2265, 0.2262),
                    HOW_TO["tinyimagenet"]),
        _tiny_imagenet),  # the labelled val/ serves as the test split
    "imagenet": _Entry(
        DatasetSpec("imagenet", (3, 224, 224), 1000, _IMAGENET_MEAN, _IMAGENET_STD,
                    "put ImageNet in data_root/imagenet/ as train/<wnid>/*.JPEG and val/<wnid>/*.JPEG, or place "
                    "ILSVRC2012_img_train.tar, ILSVRC2012_img_val.tar and ILSVRC2012_devkit_t12.tar.gz there "
                    "(licence required: image-net.org; torchvision checks the archives' MD5)"),
        _imagenet),
    "digits": _Entry(DatasetSpec("digits", (1, 8, 8), 10, (_DIGITS_MEAN,), (_DIGITS_STD,), DIGITS),
                     _offline_digits),
    "digits_as_cifar10": _Entry(
        DatasetSpec("digits_as_cifar10", (3, 32, 32), 10, (_DIGITS_MEAN,) * 3, (_DIGITS_STD,) * 3,
                    DIGITS, stand_in_for="cifar10"),
        _offline_digits),
    # ImageNet's stand-in: its own runs (not Table 2's stand-in again) at 16 x 16, so Table 3 takes minutes on a CPU
    "digits_as_imagenet": _Entry(
        DatasetSpec("digits_as_imagenet", (3, 16, 16), 10, (_DIGITS_MEAN,) * 3, (_DIGITS_STD,) * 3,
                    DIGITS, stand_in_for="imagenet"),
        _offline_digits),
    # Tiny ImageNet's, for the l2 tables: twice the 8 x 8 side of CIFAR-10's (digits_rgb8), as 64 is twice 32
    "digits_as_tinyimagenet": _Entry(
        DatasetSpec("digits_as_tinyimagenet", (3, 16, 16), 10, (_DIGITS_MEAN,) * 3, (_DIGITS_STD,) * 3,
                    DIGITS, stand_in_for="tinyimagenet"),
        _offline_digits),
    # STL10's, for thesis ch. 2's tables: three times the 8 x 8 side of CIFAR10's (digits_rgb8), as 96 is 3 x 32
    "digits_as_stl10": _Entry(
        DatasetSpec("digits_as_stl10", (3, 24, 24), 10, (_DIGITS_MEAN,) * 3, (_DIGITS_STD,) * 3,
                    DIGITS, stand_in_for="stl10"),
        _offline_digits),
    # native 8x8 in three channels: l_inf smoke runs, where exact dual (CAP) bounds must stay cheap
    "digits_rgb8": _Entry(
        DatasetSpec("digits_rgb8", (3, 8, 8), 10, (_DIGITS_MEAN,) * 3, (_DIGITS_STD,) * 3, DIGITS),
        _offline_digits),
}

DATASETS = tuple(_ENTRIES)


def dataset_spec(name: str) -> DatasetSpec:
    if name not in _ENTRIES:
        raise KeyError(f"unknown dataset '{name}'; known: {', '.join(DATASETS)}")
    return _ENTRIES[name].spec


def download(name: str, root: str | Path = "data") -> None:
    """Download both splits of ``name`` into ``root`` with torchvision, which checks every file's MD5."""
    for split in ("train", "test"):
        load_dataset(name, split, root, download=True)


def load_dataset(name: str, split: str, root: str | Path = "data", download: bool = False,
                 augment: str = "none") -> Dataset:
    """Load ``split`` ('train' or 'test') of dataset ``name`` from ``root``; ``augment`` names the training
    augmentation (``bench.data.augment``), which only the train split applies.

    Raises ``DatasetNotFound`` naming the missing folder and how to obtain the data.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    entry = _ENTRIES[dataset_spec(name).name]
    return entry.load(entry.spec, split, Path(root), download, augment if split == "train" else "none")


def stack(dataset: Dataset, indices) -> tuple[torch.Tensor, torch.Tensor]:
    """Materialise ``dataset[i]`` for ``indices`` as two tensors (images, labels)."""
    items = [dataset[int(i)] for i in indices]
    return torch.stack([x for x, _ in items]), torch.tensor([int(y) for _, y in items])


def batches(dataset: Dataset, indices: list[int], batch_size: int, device: torch.device, label: str,
            progress: bool = True):
    """(indices, images, labels) of consecutive batches of ``indices`` on ``device``, with progress lines."""
    for start in progress_lines(range(0, len(indices), batch_size), label, unit="batches", enabled=progress):
        idx = indices[start:start + batch_size]
        x, y = stack(dataset, idx)
        yield idx, x.to(device), y.to(device)
