"""Dataset-level CERTIFY: per-sample file format, resume after a kill, stale partial files dropped."""
import pandas as pd
import pytest

import bench.certify as certify_module
from bench.certify import COLUMNS, SmoothingSettings, certify_smoothing
from bench.train import RunSpec, TrainSettings, train

SETTINGS = SmoothingSettings(n0=20, n=200, alpha=0.001, batch_size=100, skip=40, max_points=6)
STABLE = ["idx", "label", "predict", "radius", "correct", "pa_lower"]  # all but wall time


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    settings = TrainSettings(epochs=2, batch_size=64, lr=0.05, momentum=0.9, weight_decay=0.0,
                             lr_step_epochs=10, lr_gamma=0.1)
    run = RunSpec("digits_as_cifar10", "cnn_small", "cohen", seed=0, sigma=0.5)
    return train(run, settings, tmp_path_factory.mktemp("run"), progress=False)


def test_writes_one_reloadable_row_per_test_point(model_path, tmp_path):
    out = tmp_path / "smoothing.tsv"
    certify_smoothing(model_path, 0.5, SETTINGS, out, progress=False)
    frame = pd.read_csv(out, sep="\t")
    assert list(frame.columns) == COLUMNS
    assert frame["idx"].tolist() == [0, 40, 80, 120, 160, 200]
    assert ((frame["predict"] == -1) <= (frame["radius"] == 0)).all()
    assert (frame["correct"] == (frame["predict"] == frame["label"])).all()
    assert out.with_suffix(".json").exists() and not out.with_name(out.name + ".partial").exists()


def test_killed_certification_resumes_with_identical_rows(model_path, tmp_path, monkeypatch):
    full = certify_smoothing(model_path, 0.5, SETTINGS, tmp_path / "full.tsv", progress=False)

    out = tmp_path / "killed.tsv"
    calls = {"n": 0}
    real = certify_module.Smooth.certify

    def dies_on_fourth_point(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt  # what a kill looks like from the file's point of view
        return real(self, *args, **kwargs)

    monkeypatch.setattr(certify_module.Smooth, "certify", dies_on_fourth_point)
    with pytest.raises(KeyboardInterrupt):
        certify_smoothing(model_path, 0.5, SETTINGS, out, progress=False)
    partial = out.with_name(out.name + ".partial")
    with open(partial, "a") as handle:
        handle.write("120\t3\t3\t0.1")  # a row the kill cut in half
    monkeypatch.setattr(certify_module.Smooth, "certify", real)

    calls["n"] = 0
    resumed = certify_smoothing(model_path, 0.5, SETTINGS, out, progress=False)
    pd.testing.assert_frame_equal(resumed[STABLE].reset_index(drop=True), full[STABLE].reset_index(drop=True))


def test_partial_file_from_other_settings_is_discarded(model_path, tmp_path):
    out = tmp_path / "smoothing.tsv"
    partial = out.with_name(out.name + ".partial")
    partial.write_text("\t".join(COLUMNS) + "\n0\t9\t9\t9.0\t1\t0.1\t0.99\n")
    frame = certify_smoothing(model_path, 0.5, SETTINGS, out, progress=False)
    assert len(frame) == 6 and frame.loc[frame["idx"] == 0, "radius"].item() != 9.0


def test_the_fast_path_is_opt_in_and_changes_few_predictions(repo):
    import torch
    import yaml

    from bench.data import dataset_spec
    from bench.models import build_model
    from bench.models.fast_path import FastBase

    assert SmoothingSettings(n0=1, n=1, alpha=0.001, batch_size=1).fast_path is False
    config = yaml.safe_load((repo / "config/config.yaml").read_text())
    assert not any(settings.get("fast_path") for scale in config["scales"].values()
                   for settings in scale["certify"].values())   # never on for the shipped scales
    torch.manual_seed(0)
    spec = dataset_spec("digits_as_cifar10")
    model = build_model("cnn_small", spec).eval()
    x = torch.rand(256, *spec.shape)
    with torch.no_grad():
        exact, fast = model(x), FastBase(model)(x)
    assert fast.dtype == torch.float32 and fast.shape == exact.shape
    assert (fast.argmax(1) == exact.argmax(1)).float().mean() >= 0.95 and torch.allclose(fast, exact, atol=0.1)
