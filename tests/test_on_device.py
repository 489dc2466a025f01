"""The training set held on the device (bench.data.on_device): the DataLoader's order, augmentations that are
shifted and flipped copies of the image, and a run that trains to the same weights either way."""
from dataclasses import replace

import torch
import torch.nn.functional as F

from bench.data import load_dataset
from bench.data.on_device import DEVICE_AUGMENTATIONS, DeviceBatches, epoch_batches


def test_batches_come_in_the_dataloaders_order():
    data = load_dataset("digits", "train", "data")
    on_device = DeviceBatches(data, torch.device("cpu"))
    for seed in (0, 3):
        loader = epoch_batches(data, None, 64, 0, torch.Generator().manual_seed(seed), None)
        held = epoch_batches(data, on_device, 64, 0, torch.Generator().manual_seed(seed), torch.Generator())
        assert len(held) == len(loader)
        assert all(torch.equal(a, c) and torch.equal(b, d) for (a, b), (c, d) in zip(loader, held))


def test_each_augmented_image_is_a_shifted_or_flipped_copy_padded_as_the_cpu_transform_pads():
    torch.manual_seed(0)
    x = torch.rand(6, 3, 8, 8)
    for name, padding, mode in (("crop4_flip", 4, "constant"), ("flip_crop2_edge", 2, "replicate")):
        out = DEVICE_AUGMENTATIONS[name](x, torch.Generator().manual_seed(1))
        for image, augmented in zip(x, out):
            candidates = [F.pad(version[None], [padding] * 4, mode=mode)[0, :, top:top + 8, left:left + 8]
                          for version in (image, image.flip(2)) for top in range(2 * padding + 1)
                          for left in range(2 * padding + 1)]
            candidates += [c.flip(2) for c in candidates] if name == "crop4_flip" else []
            assert any(torch.equal(augmented, c) for c in candidates), name
        assert not torch.equal(out, x)


def test_a_run_trains_to_the_same_weights_with_its_data_on_the_device(tmp_path):
    from bench.train import RunSpec, TrainSettings, train

    run = RunSpec("digits", "small", "standard", seed=0)
    settings = TrainSettings(epochs=1, batch_size=64, lr=0.01, momentum=0.9, weight_decay=0.0, lr_step_epochs=10,
                             lr_gamma=1.0)
    paths = [train(run, replace(settings, data_on_device=held), tmp_path / str(held), progress=False)
             for held in (False, True)]
    weights = [torch.load(path, weights_only=True)["state_dict"] for path in paths]
    assert all(torch.equal(weights[0][name], weights[1][name]) for name in weights[0])
