"""Training augmentations by name: a training protocol picks one (``TrainSettings.augment``), so each paper's
own recipe is a config value, not a property of the dataset. Each maps an input shape (C, H, W) to the
torchvision transforms applied before ``ToTensor``. torchvision is imported on use: it costs about 1.5 s per
process (it loads torch._dynamo), which every job of the offline stand-ins would otherwise pay."""
from __future__ import annotations

from typing import Callable

AUGMENTATIONS: dict[str, Callable[..., list]] = {  # (shape, torchvision.transforms) -> transforms
    "none": lambda shape, T: [],
    # Cohen et al. (2019), their code's CIFAR-10 loader: zero-padded random crop of 4 pixels, horizontal flip
    "crop4_flip": lambda shape, T: [T.RandomCrop(shape[1], padding=4), T.RandomHorizontalFlip()],
    # Shi et al. (2021), their code's CIFAR-10 loader: horizontal flip, then a random crop of 2 with edge padding
    "flip_crop2_edge": lambda shape, T: [T.RandomHorizontalFlip(), T.RandomCrop(shape[1], 2, padding_mode="edge")],
    # ImageNet-style training: random resized crop to the input size, horizontal flip
    "resized_crop_flip": lambda shape, T: [T.RandomResizedCrop(shape[1]), T.RandomHorizontalFlip()],
}


def augmentation(name: str, shape: tuple[int, int, int]) -> list:
    if name not in AUGMENTATIONS:
        raise ValueError(f"unknown augmentation '{name}'; known: {', '.join(AUGMENTATIONS)}")
    if name == "none":
        return []
    from torchvision import transforms

    return AUGMENTATIONS[name](shape, transforms)
