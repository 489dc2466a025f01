"""The embedded offline default: scikit-learn's 1797 real handwritten digits (8x8, 17 grey levels).

Used only at ``scale=smoke``. Images are upsampled (bilinear) and channel-replicated to the shape of
the dataset they stand in for, so the model and every code path match the paper scale; every table
built from them says it is a stand-in.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import TensorDataset

TEST_SIZE = 400  # fixed split: 1397 train / 400 test images


@lru_cache(maxsize=None)
def _split_indices() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    n = len(load_digits().target)
    order = np.random.default_rng(0).permutation(n)
    return np.sort(order[TEST_SIZE:]), np.sort(order[:TEST_SIZE])


def digits(split: str, shape: tuple[int, int, int]) -> TensorDataset:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    train_idx, test_idx = _split_indices()
    idx = train_idx if split == "train" else test_idx
    images = torch.tensor(bunch.images[idx] / 16.0, dtype=torch.float32).unsqueeze(1)
    channels, height, width = shape
    if (height, width) != images.shape[-2:]:
        images = F.interpolate(images, size=(height, width), mode="bilinear", align_corners=False)
    images = images.clamp(0, 1).expand(-1, channels, -1, -1).contiguous()
    return TensorDataset(images, torch.tensor(bunch.target[idx], dtype=torch.long))
