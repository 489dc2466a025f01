"""Dataset registry: name -> (spec, loader).

Every loader returns a torch ``Dataset`` of ``(image, label)`` with images as float tensors in
[0, 1] (C x H x W). Normalisation belongs to the model (see ``bench.models``) so that noise and
perturbation balls live in pixel space, as in all the papers reproduced here.

The registry (torch, torchvision) is imported on first use, so that ``bench.data.files`` (which files a
dataset needs, torch-free) can be read by the Snakefile in any Python environment.
"""
__all__ = ["DATASETS", "DatasetNotFound", "DatasetSpec", "dataset_spec", "download", "load_dataset"]


def __getattr__(name: str):
    if name in __all__:
        from bench.data import registry

        return getattr(registry, name)
    raise AttributeError(f"module 'bench.data' has no attribute '{name}'")
