"""Dataset registry: name -> (spec, loader).

Every loader returns a torch ``Dataset`` of ``(image, label)`` with images as float tensors in
[0, 1] (C x H x W). Normalisation belongs to the model (see ``bench.models``) so that noise and
perturbation balls live in pixel space, as in all the papers reproduced here.
"""
from bench.data.registry import (
    DATASETS,
    DatasetNotFound,
    DatasetSpec,
    dataset_spec,
    load_dataset,
)

__all__ = ["DATASETS", "DatasetNotFound", "DatasetSpec", "dataset_spec", "load_dataset"]
