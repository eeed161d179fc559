"""course_utils.seed.seed_everything: one call makes python, numpy and torch repeat."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from course_utils.seed import seed_everything


@pytest.fixture(autouse=True)
def _restore_torch_flags(monkeypatch):
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    det = torch.are_deterministic_algorithms_enabled()
    warn = torch.is_deterministic_algorithms_warn_only_enabled()
    yield
    torch.use_deterministic_algorithms(det, warn_only=warn)


def _draws():
    return (random.random(), float(np.random.rand()), torch.rand(3).tolist(), torch.randint(0, 1000, (2,)).tolist())


def test_same_seed_same_draws():
    seed_everything(123)
    a = _draws()
    seed_everything(123)
    b = _draws()
    assert a == b


@pytest.mark.parametrize("draw, own_seed", [
    (random.random, random.seed),
    (np.random.rand, np.random.seed),
    (lambda: torch.rand(2).tolist(), torch.manual_seed),
])
def test_each_library_is_seeded_with_the_seed(draw, own_seed):
    seed_everything(7)
    got = draw()
    own_seed(7)
    assert draw() == got
    own_seed(8)
    assert draw() != got


def test_different_seeds_differ():
    seed_everything(1)
    a = _draws()
    seed_everything(2)
    assert all(x != y for x, y in zip(a, _draws()))


def test_generator_returned_and_seeded():
    g = seed_everything(42)
    assert isinstance(g, torch.Generator) and g.initial_seed() == 42
    first = torch.randn(4, generator=g)
    assert torch.equal(first, torch.randn(4, generator=seed_everything(42)))
    assert torch.equal(first, torch.randn(4, generator=torch.Generator().manual_seed(42)))


def test_large_seed_accepted():
    seed_everything(2**40 + 5)
    a = _draws()
    seed_everything(2**40 + 5)
    assert _draws() == a


def test_deterministic_flag(monkeypatch):
    torch.use_deterministic_algorithms(False)
    seed_everything(0, deterministic=False)
    assert not torch.are_deterministic_algorithms_enabled()
    seed_everything(0)
    assert torch.are_deterministic_algorithms_enabled()
    assert torch.is_deterministic_algorithms_warn_only_enabled(), "warn_only keeps ops without a deterministic kernel usable"
    import os

    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"


def test_cuda_seeded_when_present(monkeypatch):
    calls = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "manual_seed_all", lambda s: calls.append(s))
    seed_everything(5, deterministic=False)
    assert calls and set(calls) == {5}
