"""course_utils.gradcheck: rel_error and the sparse gradient-check printer."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
import torch

from course_utils.gradcheck import grad_check_sparse, rel_error


def test_rel_error_values():
    assert rel_error(1.0, 1.0) == 0.0
    assert rel_error(1.0, 3.0) == pytest.approx(0.5)
    assert rel_error(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 2.2])) == pytest.approx(0.2 / 4.2)
    # max over entries, and symmetric
    a, b = torch.tensor([[1.0, 10.0], [0.0, -1.0]]), torch.tensor([[1.1, 10.0], [0.0, 1.0]])
    assert rel_error(a, b) == pytest.approx(1.0) == rel_error(b, a)
    # both zero: guarded by eps, not nan
    assert rel_error(torch.zeros(3), torch.zeros(3)) == 0.0
    assert rel_error(0.0, 1e-9) == pytest.approx(1e-9 / 1e-8)


def test_rel_error_mixed_inputs_and_dtypes():
    x32 = torch.tensor([1.0, 2.0], dtype=torch.float32)
    assert rel_error(x32, np.array([1.0, 2.0])) == 0.0
    assert isinstance(rel_error(x32, x32.double()), float)
    x = torch.ones(3, requires_grad=True)
    assert rel_error(x * 2, torch.full((3,), 2.0)) == 0.0
    assert rel_error(torch.tensor(2.0), 2) == 0.0
    assert math.isnan(rel_error(torch.tensor([float("nan")]), torch.tensor([1.0])))
    with pytest.raises(ValueError, match="shapes"):
        rel_error(torch.ones(2), torch.ones(3))


def _quadratic(seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    A = torch.randn(4, 3, generator=g, dtype=dtype)
    W = torch.randn(4, 3, generator=g, dtype=dtype)
    f = lambda w: (A * w ** 2).sum() + w.sum() ** 3  # noqa: E731
    grad = 2 * A * W + 3 * W.sum() ** 2
    return f, W, grad


def test_grad_check_sparse_correct_gradient_small_errors(capsys):
    f, W, grad = _quadratic()
    before = W.clone()
    errs = grad_check_sparse(f, W, grad, num_checks=7)
    assert len(errs) == 7 and all(e < 1e-7 for e in errs), errs
    assert torch.equal(W, before), "x must be restored exactly"
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 7 and all("numerical" in l and "analytic" in l and "relative error" in l for l in out)


def test_grad_check_sparse_catches_wrong_gradient(capsys):
    f, W, grad = _quadratic()
    errs = grad_check_sparse(f, W, 2 * grad, num_checks=5, verbose=False)
    assert all(e > 0.3 for e in errs), errs
    assert capsys.readouterr().out == ""


def test_grad_check_sparse_values_match_hand_difference():
    f, W, grad = _quadratic(seed=4)
    # mirror the documented coordinate draw to know which entries are checked
    rng = random.Random(11)
    coords = [tuple(rng.randrange(n) for n in W.shape) for _ in range(3)]
    wrong = grad.clone()
    wrong[coords[1]] += 1.0  # break exactly one checked coordinate
    errs = grad_check_sparse(f, W, wrong, num_checks=3, seed=11, verbose=False)
    bad = [i for i, c in enumerate(coords) if c == coords[1]]
    assert all(errs[i] > 1e-3 for i in bad)
    assert all(errs[i] < 1e-7 for i in range(3) if coords[i] != coords[1])


def test_grad_check_sparse_seeded():
    f, W, grad = _quadratic()
    noisy = grad + torch.linspace(0, 1, grad.numel(), dtype=grad.dtype).reshape(grad.shape)
    a = grad_check_sparse(f, W, noisy, num_checks=6, seed=5, verbose=False)
    b = grad_check_sparse(f, W, noisy, num_checks=6, seed=5, verbose=False)
    c = grad_check_sparse(f, W, noisy, num_checks=6, seed=6, verbose=False)
    assert a == b and a != c


def test_grad_check_sparse_restores_x_when_f_raises():
    W = torch.arange(6, dtype=torch.float64).reshape(2, 3)
    before = W.clone()
    calls = []

    def f(w):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("boom")
        return w.sum()

    with pytest.raises(RuntimeError, match="boom"):
        grad_check_sparse(f, W, torch.ones_like(W), num_checks=2, verbose=False)
    assert torch.equal(W, before)


def test_grad_check_sparse_leaf_requiring_grad_and_float32_note(capsys):
    W = torch.randn(3, 2, generator=torch.Generator().manual_seed(0), requires_grad=True)
    before = W.detach().clone()
    errs = grad_check_sparse(lambda w: (w ** 2).sum(), W, 2 * W.detach(), num_checks=3, h=1e-2)
    assert torch.equal(W.detach(), before) and W.requires_grad
    assert all(e < 1e-3 for e in errs)
    assert "float64" in capsys.readouterr().out


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"analytic_grad": torch.zeros(2, 2)}, ValueError, "shape"),
    ({"num_checks": 0}, ValueError, "num_checks"),
    ({"h": 0.0}, ValueError, "h must be positive"),
])
def test_grad_check_sparse_bad_arguments(kwargs, exc, match):
    W = torch.zeros(3, 2, dtype=torch.float64)
    args = {"f": lambda w: w.sum(), "x": W, "analytic_grad": torch.zeros_like(W)} | kwargs
    with pytest.raises(exc, match=match):
        grad_check_sparse(**args)


def test_grad_check_sparse_f_returning_tuple_is_explained():
    W = torch.zeros(3, dtype=torch.float64)
    with pytest.raises(TypeError, match=r"\[0\]"):
        grad_check_sparse(lambda w: (w.sum(), w), W, torch.zeros(3, dtype=torch.float64), verbose=False)
    with pytest.raises(TypeError, match="torch.Tensor"):
        grad_check_sparse(lambda w: 0.0, np.zeros(3), np.zeros(3))


def test_one_reading_of_relative_errors_across_helpers_and_notebook():
    """Issue 17: the thresholds in course_utils.gradcheck and the gradients notebook agree."""
    import json

    from course_utils import gradcheck
    from tests.helpers.nbgrader_course import REPO

    assert (gradcheck.REL_ERROR_GOOD, gradcheck.REL_ERROR_FINE, gradcheck.REL_ERROR_BUG) == (1e-7, 1e-5, 1e-2)
    assert gradcheck.verdict(1e-8) == "good" and gradcheck.verdict(1e-6) == "fine"
    assert gradcheck.verdict(1e-3).startswith("suspicious") and gradcheck.verdict(0.5).startswith("bug")
    assert "1e-4" not in (gradcheck.rel_error.__doc__ or ""), "the old, inconsistent 'around 1e-4' reading is back"
    nb = json.loads((REPO / "source" / "gradients" / "gradients.ipynb").read_text())
    text = "\n".join("".join(c["source"]) for c in nb["cells"])
    assert "REL_ERROR_FINE" in text and "verdict(" in text, "the notebook must use gradcheck's thresholds"
    assert "err < 1e-5" not in text, "a hard-coded threshold instead of gradcheck.REL_ERROR_FINE"


def test_numeric_gradient_cost_is_measured_at_real_size_with_repeats():
    """Issue 17: the cost demo no longer extrapolates per weight from one run per size."""
    import json

    from tests.helpers.nbgrader_course import REPO

    nb = json.loads((REPO / "source" / "gradients" / "gradients.ipynb").read_text())
    cell = next("".join(c["source"]) for c in nb["cells"] if c["id"] == "09-code")
    assert "per_dim * 30730" not in cell, "the old per-weight extrapolation (ignores that each evaluation grows with D)"
    assert "statistics.median" in cell and "X_big @ W_big" in cell
