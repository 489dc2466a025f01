"""Seconds of one epoch of training batches, CIFAR-sized synthetic images (3x32x32) with crop-and-flip: from a
DataLoader applying torchvision's transforms per image (the default path) against the set held on the device and
augmented there (``data_on_device: true``). On a GPU the second keeps a fast step (IBP on Medium) fed.

    python -m bench.perf.data_on_device [--images 10000] [--batch 128] [--workers 0] [--device auto]
"""
from __future__ import annotations

import argparse
import time

import torch
from torch.utils.data import Dataset

from bench.data.augment import augmentation
from bench.data.on_device import DeviceBatches, epoch_batches
from bench.device import resolve_device


class Synthetic(Dataset):
    def __init__(self, images: int, transform=None):
        self.x, self.y = torch.rand(images, 3, 32, 32), torch.randint(0, 10, (images,))
        self.transform = transform

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i):
        return (self.transform(self.x[i]) if self.transform else self.x[i]), self.y[i]


def epoch_seconds(batches, device: torch.device) -> float:
    began = time.perf_counter()
    for x, y in batches:
        x.to(device, non_blocking=True), y.to(device, non_blocking=True)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - began


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args(argv)
    device = resolve_device(args.device)
    from torchvision import transforms

    torch.manual_seed(0)
    loaded = Synthetic(args.images, transforms.Compose(augmentation("crop4_flip", (3, 32, 32))))
    held = DeviceBatches(Synthetic(args.images), device, "crop4_flip")
    order, noise = torch.Generator().manual_seed(0), torch.Generator(device).manual_seed(0)
    loader = epoch_seconds(epoch_batches(loaded, None, args.batch, args.workers, order, noise), device)
    on_device = epoch_seconds(epoch_batches(loaded, held, args.batch, args.workers, order, noise), device)
    print(f"{args.images} images, batch {args.batch}, {device.type}: DataLoader ({args.workers} workers) "
          f"{loader:.2f} s per epoch, held on the device {on_device:.3f} s (DataLoader / device: {loader / on_device:.2f})")


if __name__ == "__main__":
    main()
