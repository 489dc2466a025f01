"""A training set held on the training device (``TrainSettings.data_on_device``, issue 12): MNIST, CIFAR-10 and
SVHN fit in a GPU's memory many times over, so a fast step (IBP on Medium) is no longer bound by the DataLoader's
workers. Batches are index gathers, and the augmentation runs on the device as tensor operations.

The epoch's order is the DataLoader's: the same generator draws the loader's base seed and then the permutation,
as ``torch.utils.data.RandomSampler`` does, so without augmentation a run trains to the same bytes either way
(tested). The device augmentations draw from their own generator: the same seed gives the same bytes, but not
those of the torchvision transforms of the CPU path.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from bench.data.registry import stack


def _crop_flip(padding: int, mode: str, flip_first: bool):
    def augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """A random crop of the image padded by ``padding`` on each side, and a horizontal flip with p = 1/2."""
        n, c, h, w = x.shape
        flips = (torch.rand(n, generator=generator, device=generator.device) < 0.5).to(x.device).view(n, 1, 1, 1)
        offsets = torch.randint(0, 2 * padding + 1, (2, n), generator=generator, device=generator.device).to(x.device)
        if flip_first:
            x = torch.where(flips, x.flip(3), x)
        padded = F.pad(x, [padding] * 4, mode=mode)
        rows = offsets[0].view(n, 1, 1, 1) + torch.arange(h, device=x.device).view(1, 1, h, 1)
        cols = offsets[1].view(n, 1, 1, 1) + torch.arange(w, device=x.device).view(1, 1, 1, w)
        cropped = padded[torch.arange(n, device=x.device).view(n, 1, 1, 1),
                         torch.arange(c, device=x.device).view(1, c, 1, 1), rows, cols]
        return cropped if flip_first else torch.where(flips, cropped.flip(3), cropped)
    return augment


DEVICE_AUGMENTATIONS = {  # bench.data.augment's, as tensor operations
    "none": lambda x, generator: x,
    "crop4_flip": _crop_flip(4, "constant", flip_first=False),
    "flip_crop2_edge": _crop_flip(2, "replicate", flip_first=True),
}


class DeviceBatches:
    """The un-augmented training set as two tensors on ``device``; ``epoch`` yields its shuffled batches."""

    def __init__(self, dataset: Dataset, device: torch.device, augment: str = "none"):
        if augment not in DEVICE_AUGMENTATIONS:
            raise ValueError(f"augmentation '{augment}' has no device version (known: "
                             f"{', '.join(DEVICE_AUGMENTATIONS)}); train with data_on_device: false")
        x, y = stack(dataset, range(len(dataset)))
        self.x, self.y, self.augment = x.to(device), y.to(device), DEVICE_AUGMENTATIONS[augment]

    def epoch(self, batch_size: int, order: torch.Generator, noise: torch.Generator) -> "Epoch":
        """Batches in the order a ``DataLoader(shuffle=True, generator=order)`` draws; ``noise`` (on the device)
        drives the augmentation."""
        torch.empty((), dtype=torch.int64).random_(generator=order)  # the loader's base seed, drawn first
        return Epoch(self, torch.randperm(len(self.y), generator=order).to(self.y.device), batch_size, noise)


class Epoch:
    def __init__(self, data: DeviceBatches, permutation: torch.Tensor, batch_size: int, noise: torch.Generator):
        self.data, self.permutation, self.batch_size, self.noise = data, permutation, batch_size, noise

    def __len__(self) -> int:
        return -(-len(self.permutation) // self.batch_size)

    def __iter__(self):
        for start in range(0, len(self.permutation), self.batch_size):
            index = self.permutation[start:start + self.batch_size]
            yield self.data.augment(self.data.x[index], self.noise), self.data.y[index]


def epoch_batches(train_set: Dataset, on_device: DeviceBatches | None, batch_size: int, num_workers: int,
                  order: torch.Generator, noise: torch.Generator):
    """One epoch's shuffled batches: from the device copy when there is one, else from a DataLoader."""
    if on_device is not None:
        return on_device.epoch(batch_size, order, noise)
    return DataLoader(train_set, batch_size, shuffle=True, drop_last=False, num_workers=num_workers, generator=order)
