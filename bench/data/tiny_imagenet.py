"""Tiny ImageNet (200 classes of 64 x 64 images; cs231n) read from its archive's own layout.

``tiny-imagenet-200.zip`` unpacks to ``train/<wnid>/images/*.JPEG`` and ``val/images/*.JPEG`` with the labels in
``val/val_annotations.txt``; the papers test on the labelled ``val`` split (its ``test`` split has no labels).
Huang et al.'s and CRM's code move ``val`` into one folder per class first: both layouts are read. Labels are
the wnids' sorted order, as ``ImageFolder`` numbers the train folders.
"""
from __future__ import annotations

from pathlib import Path

from torch.utils.data import Dataset

URL = "http://cs231n.stanford.edu/tiny-imagenet-200.zip"
MD5 = "90528d7ca1a48142e341f4ef8d21d0de"  # of tiny-imagenet-200.zip, as cs231n serves it
FOLDER = "tiny-imagenet-200"


class ValAnnotations(Dataset):
    """The ``val`` split as unpacked: ``val/images/<file>`` labelled by ``val_annotations.txt`` (file, wnid, box)."""

    def __init__(self, val: Path, classes: list[str], transform):
        from torchvision.datasets.folder import default_loader

        index = {wnid: label for label, wnid in enumerate(classes)}
        lines = (val / "val_annotations.txt").read_text().splitlines()
        try:
            self.samples = [(val / "images" / name, index[wnid])
                            for name, wnid, *_ in (line.split("\t") for line in lines if line.strip())]
        except KeyError as err:
            raise ValueError(f"{val / 'val_annotations.txt'} names class {err} that train/ does not have") from err
        self.loader, self.transform = default_loader, transform

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int):
        path, label = self.samples[i]
        return self.transform(self.loader(str(path))), label


def fetch(folder: Path) -> None:
    """Download and unpack the archive into ``folder`` unless it is there; torchvision checks its MD5 first."""
    from torchvision.datasets.utils import download_and_extract_archive

    if not (folder / FOLDER / "train").is_dir():
        download_and_extract_archive(URL, str(folder), md5=MD5)


def tiny_imagenet(folder: Path, split: str, transform) -> Dataset:
    """``split`` ('train' or 'test' = the labelled val images) of the unpacked archive under ``folder``."""
    from torchvision import datasets

    root = folder / FOLDER
    if split == "train":
        return datasets.ImageFolder(str(root / "train"), transform=transform)  # train/<wnid>/images/*.JPEG
    classes = sorted(entry.name for entry in (root / "train").iterdir() if entry.is_dir())
    val = root / "val"
    if (val / "val_annotations.txt").is_file() and (val / "images").is_dir():
        return ValAnnotations(val, classes, transform)
    test = datasets.ImageFolder(str(val), transform=transform)  # val/<wnid>/[images/]*.JPEG, re-arranged
    if test.classes != classes:
        raise ValueError(f"{val} has {len(test.classes)} class folders, {root / 'train'} has {len(classes)}")
    return test
