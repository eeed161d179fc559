"""Ungraded tools for checking gradients (CS231n style).

    rel_error(dW, dW_ref)                      # max relative error, a Python float
    grad_check_sparse(f, W, dW, num_checks=10) # spot-check a few coordinates

Run checks in float64: in float32 the round-off of a finite difference is as
large as the errors you are trying to find.
"""

from __future__ import annotations

import math
import random

import torch

__all__ = ["rel_error", "grad_check_sparse"]


def _as_float64(x) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x.detach().to("cpu", torch.float64)
    return torch.as_tensor(x, dtype=torch.float64)


# The course's one reading of a relative error between an analytic and a numeric
# gradient in float64 (the gradients notebook and every helper use these):
REL_ERROR_GOOD = 1e-7   # at or below: the two agree
REL_ERROR_FINE = 1e-5   # at or below: still fine on a big check (round-off adds up over many terms)
REL_ERROR_BUG = 1e-2    # at or above: a bug, unless a kink (SVM, ReLU) or float32 explains it


def verdict(err: float) -> str:
    """The course's reading of a relative error (float64): good, fine, suspicious or bug."""
    if math.isnan(err):
        return "bug (NaN)"
    if err <= REL_ERROR_GOOD:
        return "good"
    if err <= REL_ERROR_FINE:
        return "fine"
    if err < REL_ERROR_BUG:
        return "suspicious: look for a kink or float32 round-off, else a bug"
    return "bug (unless a kink or float32 explains it)"


def rel_error(x, y, eps: float = 1e-8) -> float:
    """Largest relative error ``|x - y| / max(eps, |x| + |y|)`` over all entries.

    ``x`` and ``y`` may be tensors (any device or dtype), NumPy arrays or
    numbers, of broadcastable shapes. Reading in float64 (``verdict``): at or
    below ``REL_ERROR_GOOD`` = 1e-7 the two agree, up to ``REL_ERROR_FINE`` =
    1e-5 is fine on a big check, from ``REL_ERROR_BUG`` = 1e-2 on it is a bug
    unless the function has kinks (SVM, ReLU) near the points compared or the
    computation ran in float32.
    """
    a, b = _as_float64(x), _as_float64(y)
    try:
        diff = (a - b).abs() / ((a.abs() + b.abs()).clamp_min(eps))
    except RuntimeError as exc:
        raise ValueError(f"rel_error: shapes {tuple(a.shape)} and {tuple(b.shape)} do not match") from exc
    if diff.numel() == 0:
        return 0.0
    if torch.isnan(diff).any():
        return math.nan
    return float(diff.max())


def _scalar(value) -> float:
    if isinstance(value, tuple):
        raise TypeError(
            "grad_check_sparse: f returned a tuple; f must return only the loss, "
            "e.g. f = lambda W: softmax_loss(W, X, y, reg)[0]"
        )
    if isinstance(value, torch.Tensor) and value.numel() != 1:
        raise ValueError(f"grad_check_sparse: f must return a scalar, got a tensor of shape {tuple(value.shape)}")
    return float(value)


def grad_check_sparse(f, x, analytic_grad, num_checks: int = 10, h: float = 1e-5, seed: int = 0,
                      verbose: bool = True) -> list[float]:
    """Compare ``analytic_grad`` with centered differences of ``f`` at a few random coordinates.

    ``f(x)`` returns a scalar (a number or a one-element tensor) and
    ``analytic_grad`` has the shape of ``x``. For each of ``num_checks``
    coordinates ``i`` (drawn with ``random.Random(seed)``, so the same seed picks
    the same coordinates) this evaluates ``(f(x + h e_i) - f(x - h e_i)) / (2h)``,
    prints the numeric value, the analytic value and their relative error, and
    returns the list of relative errors. ``x`` is modified in place during the
    check and restored exactly afterwards (also when ``f`` raises).

    Use float64 for ``x``: with float32 the finite difference is dominated by
    round-off and even a correct gradient shows errors around 1e-2.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"grad_check_sparse: x must be a torch.Tensor, got {type(x).__name__}")
    if tuple(analytic_grad.shape) != tuple(x.shape):
        raise ValueError(f"grad_check_sparse: analytic_grad has shape {tuple(analytic_grad.shape)}, x has {tuple(x.shape)}")
    if int(num_checks) != num_checks or num_checks < 1:
        raise ValueError(f"grad_check_sparse: num_checks must be a positive integer, got {num_checks!r}")
    if not h > 0:
        raise ValueError(f"grad_check_sparse: h must be positive, got {h!r}")
    if x.numel() == 0:
        raise ValueError("grad_check_sparse: x is empty")
    if verbose and x.dtype != torch.float64:
        print(f"note: x is {x.dtype}; finite differences are only trustworthy in float64 (x.double())")

    rng = random.Random(seed)
    errors = []
    with torch.no_grad():
        for _ in range(int(num_checks)):
            ix = tuple(rng.randrange(n) for n in x.shape)
            old = x[ix].clone()
            try:
                x[ix] = old + h
                f_plus = _scalar(f(x))
                x[ix] = old - h
                f_minus = _scalar(f(x))
            finally:
                x[ix] = old
            numeric = (f_plus - f_minus) / (2 * h)
            analytic = float(analytic_grad[ix])
            err = rel_error(numeric, analytic)
            errors.append(err)
            if verbose:
                print(f"{str(ix):>14}  numerical: {numeric: .6e}  analytic: {analytic: .6e}  relative error: {err:.3e}")
    return errors
