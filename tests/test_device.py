"""Deterministic mode (bench.device): the settings it applies, the clear error for an operation without a
deterministic kernel, the mode in every result's provenance, and same-seed bytes on CUDA where CUDA exists."""
import os
from dataclasses import dataclass, replace

import pytest
import torch
import torch.nn.functional as F

import bench.methods
from bench.device import (CUBLAS_WORKSPACE, NondeterministicOperation, configure_deterministic, describe_device,
                          explain_nondeterminism, resolve_device, set_deterministic)
from bench.io import load_checkpoint
from bench.train import CHECKPOINT, PREVIOUS, RunSpec, TrainSettings, train

RUN = RunSpec("digits", "cnn_small", "standard", seed=1)
FAST = TrainSettings(epochs=1, batch_size=128, lr=0.05, momentum=0.9, weight_decay=1e-4, lr_step_epochs=1,
                     lr_gamma=0.5)
CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine: the GPU "
                          "determinism checks run where one is (e.g. the device machine of bench/perf)")


@pytest.fixture(autouse=True)
def deterministic_again():
    yield
    configure_deterministic(True)
    set_deterministic(True)


def test_a_snakemake_job_runs_in_the_mode_its_config_names(tmp_path):
    from types import SimpleNamespace

    from bench.logs import snakemake_job

    for deterministic in (False, True):
        job = SimpleNamespace(log=[str(tmp_path / "job.log")], config={"deterministic": deterministic}, rule="train",
                              wildcards={}, threads=1, params=SimpleNamespace(keys=lambda: []), output=[])
        with snakemake_job(job):
            assert describe_device(resolve_device("cpu")).endswith(
                "deterministic" if deterministic else "NON-deterministic kernels allowed")
        assert f'"deterministic": {str(deterministic).lower()}' in (tmp_path / "job.log").read_text()


def test_deterministic_mode_sets_the_algorithms_cudnn_and_the_cublas_workspace(monkeypatch):
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    assert resolve_device("cpu", deterministic=True) == torch.device("cpu")
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == CUBLAS_WORKSPACE
    assert torch.are_deterministic_algorithms_enabled() and torch.backends.cudnn.deterministic
    assert not torch.backends.cudnn.benchmark
    assert describe_device(torch.device("cpu")).endswith(", deterministic")
    resolve_device("cpu", deterministic=False)
    assert not torch.are_deterministic_algorithms_enabled() and torch.backends.cudnn.benchmark
    assert describe_device(torch.device("cpu")).endswith("NON-deterministic kernels allowed")


def test_a_workspace_setting_that_breaks_determinism_is_refused(monkeypatch):
    monkeypatch.setenv("CUBLAS_WORKSPACE_CONFIG", ":0:0")
    with pytest.raises(ValueError, match=":4096:8"):
        set_deterministic(True)


def test_an_operation_without_a_deterministic_kernel_is_named_with_the_setting_to_change():
    set_deterministic(True)
    with pytest.raises(NondeterministicOperation, match=r"training of magic: put_ does not have a deterministic "
                                                         r"implementation.*'deterministic: false'"):
        with explain_nondeterminism("training of magic"):
            torch.zeros(3).put_(torch.tensor([0, 0]), torch.tensor([1.0, 2.0]))
    with pytest.raises(RuntimeError, match="something else") as other:  # any other error passes unchanged
        with explain_nondeterminism("training of magic"):
            raise RuntimeError("something else")
    assert type(other.value) is RuntimeError


@dataclass(frozen=True)
class Scatters:
    """A loss through an operation with no deterministic kernel (put_ on CPU, as scatter-adds are on CUDA)."""
    family = "linf"

    def loss(self, model, x, y, ctx):
        logits = model(x)
        logits.detach().clone().put_(torch.tensor([0, 0]), torch.tensor([1.0, 2.0]))
        return F.cross_entropy(logits, y)


def test_training_through_such_an_operation_stops_naming_the_method_and_runs_when_allowed(tmp_path, monkeypatch):
    monkeypatch.setitem(bench.methods.METHODS, "scatters", Scatters())
    run = RunSpec("digits", "cnn_small", "scatters", seed=1)
    with pytest.raises(NondeterministicOperation, match="training of scatters .cnn_small on digits.: put_"):
        train(run, FAST, tmp_path / "a", progress=False)
    model = train(run, FAST, tmp_path / "b", progress=False, deterministic=False)
    assert load_checkpoint(model)["meta"]["trained_on"].endswith("NON-deterministic kernels allowed")


@CUDA
def test_same_seed_gives_the_same_bytes_on_cuda(tmp_path):
    first = train(RUN, FAST, tmp_path / "a", device="cuda", progress=False).read_bytes()
    assert train(RUN, FAST, tmp_path / "b", device="cuda", progress=False).read_bytes() == first


@CUDA
def test_a_resumed_cuda_run_ends_with_the_bytes_of_an_uninterrupted_one(tmp_path):
    settings = replace(FAST, epochs=2)
    whole = train(RUN, settings, tmp_path / "whole", device="cuda", progress=False).read_bytes()
    resumed = tmp_path / "resumed"  # as if killed during epoch 2: only the epoch-1 checkpoint is left
    resumed.mkdir()
    (tmp_path / "whole" / PREVIOUS).rename(resumed / CHECKPOINT)
    assert load_checkpoint(resumed / CHECKPOINT)["rng"]["cuda"] is not None
    assert train(RUN, settings, resumed, device="cuda", progress=False).read_bytes() == whole


def test_verification_stops_on_such_an_operation_instead_of_counting_a_verifier_error(monkeypatch):
    import bench.verify

    def refusing(*args, **kwargs):
        torch.zeros(3).put_(torch.tensor([0, 0]), torch.tensor([1.0, 2.0]))

    set_deterministic(True)
    monkeypatch.setattr(bench.verify, "margin_bounds", refusing)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 10))
    x, y = torch.rand(2, 1, 2, 2), torch.tensor([0, 1])
    with pytest.raises(RuntimeError, match="does not have a deterministic implementation"):
        bench.verify.verify_batch(model, x, y, 0.1, ("crown",), "linf", None)
