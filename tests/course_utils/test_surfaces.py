"""course_utils.surfaces: closed-form gradients and Hessians against autograd, and the lecture's numbers."""

import math

import pytest
import torch

from course_utils.surfaces import SURFACES, get_surface


def _points(s, n=7):
    gen = torch.Generator().manual_seed(0)
    lo = torch.tensor([s.xlim[0], s.ylim[0]], dtype=torch.float64)
    hi = torch.tensor([s.xlim[1], s.ylim[1]], dtype=torch.float64)
    return lo + (hi - lo) * torch.rand(n, 2, generator=gen, dtype=torch.float64)


@pytest.mark.parametrize("name", list(SURFACES))
def test_gradient_matches_autograd(name):
    s = get_surface(name)
    for p in _points(s):
        w = p.clone().requires_grad_(True)
        s.value(w).backward()
        assert torch.allclose(s.gradient(p), w.grad, rtol=1e-10, atol=1e-10), (name, p)
        gx, gy = s.grad_xy(float(p[0]), float(p[1]))     # the float fast path the playground uses
        assert math.isclose(gx, float(w.grad[0]), rel_tol=1e-10, abs_tol=1e-10)
        assert math.isclose(gy, float(w.grad[1]), rel_tol=1e-10, abs_tol=1e-10)


@pytest.mark.parametrize("name", list(SURFACES))
def test_hessian_matches_autograd(name):
    s = get_surface(name)
    for p in _points(s, 4):
        want = torch.autograd.functional.hessian(s.value, p)
        assert torch.allclose(s.hessian(p), want, rtol=1e-10, atol=1e-9), (name, p)


@pytest.mark.parametrize("name", list(SURFACES))
def test_grid_gradient_batches(name):
    s = get_surface(name)
    X, Y, Z = s.grid(9)
    pts = torch.stack([X, Y], dim=-1)
    G = s.gradient(pts)
    assert G.shape == (9, 9, 2)
    assert torch.allclose(G[3, 4], s.gradient(pts[3, 4]))
    assert torch.allclose(Z, s.value(pts))


def test_quadratic_numbers_from_the_lecture():
    s = get_surface("quadratic")
    assert s.start == (-5.0, -2.0)
    assert s.f(-5.0, -2.0) == pytest.approx(0.1 * 25 + 2 * 4)
    assert s.hessian_eigenvalues() == pytest.approx((0.2, 4.0))
    assert s.condition_number() == pytest.approx(20.0)
    assert s.stability_limit() == pytest.approx(0.5)
    assert s.stability_limit(momentum=0.5) == pytest.approx(0.75)
    assert s.best_gd_lr() == pytest.approx(2 / 4.2)
    a, b = s.best_heavy_ball()
    assert a == pytest.approx(0.668, abs=1e-3)
    assert b == pytest.approx(0.403, abs=1e-3)


def test_stability_limit_is_sharp_for_gradient_descent():
    s = get_surface("quadratic")
    limit = s.stability_limit()

    def final(lr, steps=300):
        x, y = s.start
        for _ in range(steps):
            gx, gy = s.grad_xy(x, y)
            x, y = x - lr * gx, y - lr * gy
        return s.f(x, y)

    assert final(0.98 * limit) < 1e-3
    assert final(1.02 * limit) > 1e3


def test_best_heavy_ball_beats_nearby_settings():
    s = get_surface("rotated")
    a, b = s.best_heavy_ball()

    def final(lr, mu, steps=150):
        w = torch.tensor(s.start, dtype=torch.float64)
        v = torch.zeros(2, dtype=torch.float64)
        for _ in range(steps):
            v = mu * v + s.gradient(w)
            w = w - lr * v
        return float(s.value(w))

    best = final(a, b)
    assert best < 1e-8
    for lr, mu in ((0.7 * a, b), (a, 0.8 * b), (a, min(0.95, 1.2 * b))):
        assert final(lr, mu) > best


def test_rotated_condition_number_is_100():
    s = get_surface("rotated")
    assert s.condition_number() == pytest.approx(100.0)
    H = s.hessian(torch.zeros(2, dtype=torch.float64))
    assert abs(float(H[0, 1])) > 0.1, "the valley must be rotated (off-diagonal Hessian)"


def test_local_minima_are_minima_and_the_global_is_lowest():
    s = get_surface("local_minima")
    for m in (s.minimum, *s.local_minima):
        gx, gy = s.grad_xy(*m)
        assert abs(gx) < 1e-9 and abs(gy) < 1e-9
        assert torch.linalg.eigvalsh(s.hessian(m)).min() > 0
        if m != s.minimum:
            assert s.f(*m) > s.min_value + 0.1


def test_saddle_has_no_stability_numbers():
    s = get_surface("saddle")
    assert s.minimum is None and s.stability_limit() is None and s.best_heavy_ball() is None
    assert "no stability limit" in s.describe().lower()


def test_unknown_surface_and_bad_shape_are_clear_errors():
    with pytest.raises(KeyError, match="choose one of"):
        get_surface("rosenbrock")
    with pytest.raises(ValueError, match="last dimension is 2"):
        get_surface("quadratic").value(torch.zeros(3))
