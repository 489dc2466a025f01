"""The embedded offline default: scikit-learn's 1797 real handwritten digits (8x8, 17 grey levels).

Used only at ``scale=smoke``. Images are upsampled (bilinear) and channel-replicated to the shape of
the dataset they stand in for, so the model and every code path match the paper scale; every table
built from them says it is a stand-in.
"""
from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import TensorDataset

TEST_SIZE = 400  # fixed split: 1397 train / 400 test images


@lru_cache(maxsize=None)
def _digits() -> tuple[np.ndarray, np.ndarray]:
    """(images (1797, 8, 8) in 0..16, labels): scikit-learn's bundled ``digits.csv.gz``, the file
    ``sklearn.datasets.load_digits`` reads, read directly: importing scikit-learn costs about 2 s per job."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("the smoke scale's digits come with scikit-learn: pip install scikit-learn")
    path = Path(spec.submodule_search_locations[0]) / "datasets" / "data" / "digits.csv.gz"
    data = np.loadtxt(path, delimiter=",")
    return data[:, :-1].reshape(-1, 8, 8), data[:, -1].astype(int)


@lru_cache(maxsize=None)
def _split_indices() -> tuple[np.ndarray, np.ndarray]:
    n = len(_digits()[1])
    order = np.random.default_rng(0).permutation(n)
    return np.sort(order[TEST_SIZE:]), np.sort(order[:TEST_SIZE])


def digits(split: str, shape: tuple[int, int, int]) -> TensorDataset:
    all_images, labels = _digits()
    train_idx, test_idx = _split_indices()
    idx = train_idx if split == "train" else test_idx
    images = torch.tensor(all_images[idx] / 16.0, dtype=torch.float32).unsqueeze(1)
    channels, height, width = shape
    if (height, width) != images.shape[-2:]:
        images = F.interpolate(images, size=(height, width), mode="bilinear", align_corners=False)
    images = images.clamp(0, 1).expand(-1, channels, -1, -1).contiguous()
    return TensorDataset(images, torch.tensor(labels[idx], dtype=torch.long))
