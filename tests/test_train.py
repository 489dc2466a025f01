"""The training engine: byte-identical reruns, resume after a real kill, stale checkpoints ignored."""
import logging
import signal
import subprocess
import sys
import time
from dataclasses import replace

import pytest
import torch

from bench.io import load_checkpoint
from bench.train import CHECKPOINT, FINAL, RunSpec, TrainSettings, load_trained, make_optimizer, train

RUN = RunSpec("digits_as_cifar10", "cnn_small", "cohen", seed=3, sigma=0.25)
FAST = TrainSettings(epochs=2, batch_size=64, lr=0.05, momentum=0.9, weight_decay=1e-4,
                     lr_step_epochs=1, lr_gamma=0.5)


def test_same_config_and_seed_give_identical_bytes(tmp_path):
    first = train(RUN, FAST, tmp_path / "a", progress=False).read_bytes()
    assert train(RUN, FAST, tmp_path / "b", progress=False).read_bytes() == first
    assert train(replace(RUN, seed=4), FAST, tmp_path / "c", progress=False).read_bytes() != first


def test_killed_run_resumes_at_its_last_epoch_and_ends_with_the_same_bytes(tmp_path, caplog):
    settings = replace(FAST, epochs=6, batch_size=16)
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


def test_every_epoch_records_its_seconds_and_peak_memory(tmp_path):
    import pandas as pd

    from bench.train import METRICS

    train(RUN, FAST, tmp_path, progress=False)
    metrics = pd.read_csv(tmp_path / METRICS)
    assert len(metrics) == FAST.epochs and (metrics["seconds"] > 0).all()
    assert (metrics["peak_memory_mb"] > 50).all()  # at least the interpreter and torch, in MiB


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


def test_select_best_keeps_the_checkpoint_with_the_lowest_verified_test_error(tmp_path):
    import pandas as pd
    import torch
    import torch.nn.functional as F

    from bench.data import load_dataset
    from bench.data.registry import stack
    from bench.selection import verified_error
    from bench.train import BEST, METRICS

    settings = TrainSettings(epochs=4, batch_size=64, lr=1e-3, momentum=0.0, weight_decay=0.0, lr_step_epochs=10,
                             lr_gamma=0.5, optimizer="adam", rampup_epochs=2, select_best=True, select_skip=3,
                             log_test_metrics=True)
    run = RunSpec("digits", "small", "ibp", seed=0, eps=0.05)
    train(run, settings, tmp_path, progress=False)
    history = pd.read_csv(tmp_path / METRICS)
    best = load_checkpoint(tmp_path / BEST)["meta"]
    assert best["verified_error"] == history["verified_error"].min()
    assert best["epoch"] == history.loc[history["verified_error"].idxmin(), "epoch"]
    test_set = load_dataset("digits", "test")
    model, _ = load_trained(tmp_path / BEST)
    assert verified_error(model, test_set, 0.05, ("ibp",), skip=3) == best["verified_error"]
    # log_test_metrics: the same points' clean and certified accuracy and loss after every epoch (duet figs. 2-3)
    assert ((history["verified_accuracy"] - (100 - history["verified_error"])).abs() < 1e-9).all()
    final, _ = load_trained(tmp_path / FINAL)
    x, y = stack(test_set, list(range(0, len(test_set), 3)))
    with torch.no_grad():
        logits = final(x)
    last = history.iloc[-1]
    assert last["clean_accuracy"] == pytest.approx(100 * float((logits.argmax(1) == y).float().mean()))
    assert last["clean_loss"] == pytest.approx(float(F.cross_entropy(logits, y)), rel=1e-5)
    assert last["certified_loss"] >= last["clean_loss"] and history["verified_accuracy"].iloc[-1] > 0


def test_steps_with_a_non_finite_loss_are_skipped_and_counted(tmp_path, monkeypatch, caplog):
    import pandas as pd
    import torch

    from bench.methods import METHODS
    from bench.train import METRICS

    class Exploding:
        family, certifiers = "linf", ("ibp",)

        def loss(self, model, x, y, ctx):
            loss = torch.nn.functional.cross_entropy(model(x), y)
            return loss * float("nan") if ctx.epoch == 1 else loss

    monkeypatch.setitem(METHODS, "exploding", Exploding())
    run = RunSpec("digits", "small", "exploding", seed=0, eps=0.1)
    with caplog.at_level(logging.WARNING, logger="bench.train"):
        model, _ = load_trained(train(run, replace(FAST, epochs=3), tmp_path, progress=False))
    history = pd.read_csv(tmp_path / METRICS)
    assert history["skipped_steps"].tolist()[1] > 0 and history["skipped_steps"].tolist()[::2] == [0, 0]
    assert "not finite" in caplog.text
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_an_unreadable_checkpoint_is_moved_aside_and_training_goes_on_from_the_previous_epoch(tmp_path, caplog):
    import pandas as pd

    from bench.train import METRICS, PREVIOUS

    settings = replace(FAST, epochs=3)
    uninterrupted = train(RUN, settings, tmp_path / "full", progress=False).read_bytes()
    damaged = tmp_path / "damaged"
    train(RUN, settings, damaged, progress=False)
    assert load_checkpoint(damaged / PREVIOUS)["epoch"] == 2
    (damaged / FINAL).unlink()
    (damaged / METRICS).unlink()  # as snakemake deletes a job's outputs before it reruns it
    (damaged / CHECKPOINT).write_bytes((damaged / CHECKPOINT).read_bytes()[:1000])  # a damaged disk block

    with caplog.at_level(logging.INFO, logger="bench.train"):
        resumed = train(RUN, settings, damaged, progress=False)
    assert f"cannot read checkpoint {damaged / CHECKPOINT}" in caplog.text and "from epoch 2 of 3" in caplog.text
    assert (damaged / (CHECKPOINT + ".unreadable")).exists()
    assert resumed.read_bytes() == uninterrupted
    stable = ["epoch", "loss", "lr", "eps", "skipped_steps"]  # all but wall time
    pd.testing.assert_frame_equal(pd.read_csv(damaged / METRICS)[stable],
                                  pd.read_csv(tmp_path / "full" / METRICS)[stable])


def test_a_finished_run_rewrites_its_model_and_metrics_from_the_last_checkpoint(tmp_path):
    from bench.train import METRICS

    train(RUN, FAST, tmp_path, progress=False)
    model, metrics = (tmp_path / FINAL).read_bytes(), (tmp_path / METRICS).read_text()
    (tmp_path / FINAL).unlink()
    (tmp_path / METRICS).unlink()
    assert train(RUN, FAST, tmp_path, progress=False).read_bytes() == model
    assert (tmp_path / METRICS).read_text() == metrics


def test_an_unreadable_model_names_the_file_and_how_to_rebuild_it(tmp_path):
    from bench.io import CheckpointError

    path = train(RUN, FAST, tmp_path, progress=False)
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError) as info:
        load_trained(path)
    assert f"cannot read checkpoint {path}" in str(info.value) and "Delete it and rerun" in str(info.value)


@pytest.mark.parametrize("normalize", [True, False])
def test_input_normalisation_follows_the_protocol_and_survives_reloading(tmp_path, normalize):
    from bench.data import dataset_spec
    settings = replace(FAST, epochs=0, normalize=normalize)
    model, _ = load_trained(train(RUN, settings, tmp_path, progress=False))
    spec = dataset_spec(RUN.dataset)
    mean = spec.mean if normalize else (0.0,) * 3
    assert model[0].mean.flatten().tolist() == pytest.approx(mean)
    assert model[0].std.flatten().tolist() == pytest.approx(spec.std if normalize else (1.0,) * 3)


def test_the_exponential_schedule_holds_lr_then_decays_geometrically_to_lr_end():
    settings = TrainSettings(epochs=10, batch_size=1, lr=1e-3, momentum=0.0, weight_decay=0.0, lr_step_epochs=1,
                             lr_gamma=1.0, optimizer="adam", lr_schedule="exponential", lr_end=1e-6, lr_decay_start=4)
    optimizer, scheduler = make_optimizer(torch.nn.Linear(2, 2), settings)
    rates = []
    for _ in range(settings.epochs):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert rates[:4] == [1e-3] * 4 and rates[-1] == pytest.approx(1e-6)
    steps = [later / earlier for earlier, later in zip(rates[3:], rates[4:])]
    assert steps == pytest.approx([1e-3 ** (1 / 6)] * 6)
    with pytest.raises(ValueError, match="lr_end"):
        replace(settings, lr_end=None)
