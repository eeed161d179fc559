"""course_utils.device: CUDA > MPS > CPU, the COURSE_DEVICE override, moving data."""

from __future__ import annotations

from collections import namedtuple

import pytest
import torch

from course_utils import device as dev
from course_utils.device import describe_device, get_device, to_device


@pytest.fixture
def machine(monkeypatch):
    """Pretend-hardware: set which accelerators exist."""
    monkeypatch.delenv(dev.ENV_VAR, raising=False)

    def set_(cuda=False, mps=False):
        monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
        monkeypatch.setattr(dev, "_mps_available", lambda: mps)

    return set_


@pytest.mark.parametrize("cuda, mps, want", [
    (True, True, "cuda"), (True, False, "cuda"), (False, True, "mps"), (False, False, "cpu"),
])
def test_preference_order(machine, cuda, mps, want):
    machine(cuda=cuda, mps=mps)
    assert get_device() == torch.device(want)


def test_mps_probe_reads_torch_backend(monkeypatch):
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert dev._mps_available() is True
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert dev._mps_available() is False


@pytest.mark.parametrize("value, want", [("cpu", "cpu"), (" cpu ", "cpu"), ("cuda:1", "cuda:1"), ("mps", "mps")])
def test_env_override(machine, monkeypatch, value, want):
    machine(cuda=True, mps=True)
    monkeypatch.setenv(dev.ENV_VAR, value)
    assert get_device() == torch.device(want)


def test_prefer_argument_beats_env(machine, monkeypatch):
    machine(cuda=True)
    monkeypatch.setenv(dev.ENV_VAR, "cuda")
    assert get_device("cpu") == torch.device("cpu")


def test_empty_env_means_auto(machine, monkeypatch):
    machine(cuda=False, mps=True)
    monkeypatch.setenv(dev.ENV_VAR, "  ")
    assert get_device() == torch.device("mps")


@pytest.mark.parametrize("value", ["gpu", "cuda:x", "tpu0"])
def test_unknown_device_name(machine, monkeypatch, value):
    machine()
    monkeypatch.setenv(dev.ENV_VAR, value)
    with pytest.raises(ValueError) as info:
        get_device()
    assert dev.ENV_VAR in str(info.value) and value in str(info.value) and "cpu" in str(info.value)


@pytest.mark.parametrize("value, missing", [("cuda", "CUDA"), ("cuda:0", "CUDA"), ("mps", "MPS")])
def test_requested_device_missing(machine, monkeypatch, value, missing):
    machine(cuda=False, mps=False)
    monkeypatch.setenv(dev.ENV_VAR, value)
    with pytest.raises(RuntimeError) as info:
        get_device()
    msg = str(info.value)
    assert missing in msg and f"{dev.ENV_VAR}=cpu" in msg


def test_describe_device(machine, monkeypatch):
    machine()
    assert describe_device() == "Using cpu (no GPU found; everything in this course runs fine on the CPU)"
    monkeypatch.setenv(dev.ENV_VAR, "cpu")
    assert describe_device() == f"Using cpu (from {dev.ENV_VAR})"
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda d=None: "Fake GPU")
    assert describe_device("cuda:0") == "Using cuda:0 (Fake GPU)"


def test_to_device_tensor_dtype_rules():
    x = torch.arange(4, dtype=torch.float32)
    labels = torch.arange(4)
    out = to_device(x, "cpu", torch.float64)
    assert out.dtype == torch.float64 and out.device.type == "cpu"
    assert torch.equal(out, x.double())
    kept = to_device(labels, "cpu", torch.float64)
    assert kept.dtype == torch.int64, "labels keep their integer dtype"
    assert to_device(x, "cpu").dtype == torch.float32


def test_to_device_containers():
    Pair = namedtuple("Pair", "X y")
    data = {
        "X": torch.zeros(2, 3), "y": torch.tensor([0, 1]), "name": "digits",
        "parts": [torch.ones(1), (torch.ones(2, dtype=torch.float16), 3)],
        "pair": Pair(torch.ones(2), torch.tensor([1, 0])),
    }
    out = to_device(data, torch.device("cpu"), torch.float64)
    assert type(out) is dict and out["name"] == "digits"
    assert out["X"].dtype == torch.float64 and out["y"].dtype == torch.int64
    assert type(out["parts"]) is list and type(out["parts"][1]) is tuple and out["parts"][1][1] == 3
    assert out["parts"][1][0].dtype == torch.float64
    assert type(out["pair"]) is Pair and out["pair"].X.dtype == torch.float64 and out["pair"].y.dtype == torch.int64


def test_to_device_defaults_to_get_device(machine, monkeypatch):
    machine()
    monkeypatch.setenv(dev.ENV_VAR, "meta")
    out = to_device(torch.ones(2))
    assert out.device.type == "meta"
