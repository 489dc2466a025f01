"""The training engine: byte-identical reruns, resume after a real kill, stale checkpoints ignored."""
import logging
import signal
import subprocess
import sys
import time
from dataclasses import replace

import pytest

from bench.io import load_checkpoint
from bench.train import CHECKPOINT, FINAL, RunSpec, TrainSettings, load_trained, train

RUN = RunSpec("digits_as_cifar10", "cnn_small", "cohen", seed=3, sigma=0.25)
FAST = TrainSettings(epochs=2, batch_size=64, lr=0.05, momentum=0.9, weight_decay=1e-4,
                     lr_step_epochs=1, lr_gamma=0.5)


def test_same_config_and_seed_give_identical_bytes(tmp_path):
    first = train(RUN, FAST, tmp_path / "a", progress=False).read_bytes()
    assert train(RUN, FAST, tmp_path / "b", progress=False).read_bytes() == first
    assert train(replace(RUN, seed=4), FAST, tmp_path / "c", progress=False).read_bytes() != first


def test_killed_run_resumes_at_its_last_epoch_and_ends_with_the_same_bytes(tmp_path, caplog):
    settings = replace(FAST, epochs=6, batch_size=8)
    uninterrupted = train(RUN, settings, tmp_path / "full", progress=False).read_bytes()

    killed_dir = tmp_path / "killed"
    script = (f"from bench.train import *; train({RUN!r}, {settings!r}, {str(killed_dir)!r}, progress=False)")
    proc = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.monotonic() + 120
    while not (killed_dir / CHECKPOINT).exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL, "training finished before it could be killed"
    assert not (killed_dir / FINAL).exists()
    epoch_at_kill = load_checkpoint(killed_dir / CHECKPOINT)["epoch"]
    assert 1 <= epoch_at_kill < settings.epochs

    with caplog.at_level(logging.INFO, logger="bench.train"):
        resumed = train(RUN, settings, killed_dir, progress=False)
    assert f"from epoch {epoch_at_kill} of {settings.epochs}" in caplog.text
    assert resumed.read_bytes() == uninterrupted


def test_checkpoint_from_other_settings_is_not_resumed(tmp_path, caplog):
    train(RUN, FAST, tmp_path, progress=False)
    with caplog.at_level(logging.INFO, logger="bench.train"):
        changed = train(RUN, replace(FAST, lr=0.01), tmp_path, progress=False)
    assert "ignoring" in caplog.text and "resuming" not in caplog.text
    assert changed.read_bytes() == train(RUN, replace(FAST, lr=0.01), tmp_path / "fresh",
                                         progress=False).read_bytes()


def test_trained_model_reloads_with_its_run(tmp_path):
    model, run = load_trained(train(RUN, FAST, tmp_path, progress=False))
    assert run == RUN and not model.training


def test_smoothing_method_requires_sigma(tmp_path):
    with pytest.raises(ValueError, match="sigma"):
        train(replace(RUN, sigma=None), FAST, tmp_path, progress=False)
