"""course_utils.theory: the closed forms against float64 linear algebra and against running the iteration."""

import math

import numpy as np
import pytest

from course_utils import theory as T


def _radius_numpy(M):
    return float(np.max(np.abs(np.linalg.eigvals(np.asarray(M, float)))))


@pytest.mark.parametrize("method, matrix", [("heavy_ball", T.heavy_ball_matrix), ("nesterov", T.nesterov_matrix)])
def test_closed_form_rate_equals_spectral_radius_of_the_iteration_matrix(method, matrix):
    rng = np.random.default_rng(0)
    for _ in range(300):
        lr, rho, h = rng.uniform(0, 1.5), rng.uniform(0, 0.99), rng.uniform(0.01, 5)
        want = _radius_numpy(matrix(lr, rho, h))
        assert float(T.quadratic_rate(lr, rho, [h], method)) == pytest.approx(want, rel=1e-7, abs=1e-9)


def test_gd_rate_is_heavy_ball_at_zero_momentum_and_max_over_eigenvalues():
    hs = [0.2, 4.0]
    for lr in (0.05, 0.1, 0.3, 0.49, 0.6):
        assert float(T.quadratic_rate(lr, 0.0, hs)) == pytest.approx(max(abs(1 - lr * h) for h in hs))
        assert float(T.quadratic_rate(lr, 0.0, hs, "gd")) == pytest.approx(max(abs(1 - lr * h) for h in hs))


def test_rate_predicts_the_iteration():
    """Run heavy ball on one eigendirection: the error shrinks by the predicted factor per step."""
    for lr, rho, h in ((0.1, 0.9, 0.2), (0.1, 0.3, 0.5), (0.4, 0.0, 4.0), (0.3, 0.5, 4.0)):
        z_prev = z = 1.0
        growth = []
        for _ in range(3000):
            z, z_prev = z - lr * h * z + rho * (z - z_prev), z
            size = math.hypot(z, z_prev)
            growth.append(size)
            z, z_prev = z / size, z_prev / size
        seen = math.exp(np.mean(np.log(growth[1000:])))
        assert seen == pytest.approx(float(T.heavy_ball_rate(lr, rho, h)), abs=0.01)


def test_stability_limit_critical_damping_and_polyak():
    hs = [0.2, 4.0]
    for rho in (0.0, 0.5, 0.9):
        lim = T.max_stable_lr(hs, rho)
        assert lim == pytest.approx((2 + 2 * rho) / 4.0)
        assert float(T.quadratic_rate(0.999 * lim, rho, hs)) < 1.0 < float(T.quadratic_rate(1.001 * lim, rho, hs))
    # at critical damping the discriminant vanishes: a double real root
    lr, h = 0.3, 0.5
    rho = float(T.critical_momentum(lr, h))
    a = 1 + rho - lr * h
    assert a * a == pytest.approx(4 * rho)
    a_star, rho_star, rate = T.polyak_optimum(0.2, 4.0)
    assert (a_star, rho_star) == pytest.approx((0.668, 0.403), abs=1e-3)
    assert float(T.quadratic_rate(a_star, rho_star, hs)) == pytest.approx(rate, rel=1e-6)
    # the optimum is the best point of a fine map
    lrs, momenta, R = T.rate_map(hs, lr_max=1.0, n_lr=201, n_momentum=100)
    assert R.shape == (100, 201) and R.min() >= rate - 1e-3


def test_measured_rate_recovers_a_known_rate_even_when_it_oscillates():
    t = np.arange(120)
    assert T.measured_rate(0.9 ** t) == pytest.approx(0.9, abs=1e-6)
    osc = np.abs(0.95 ** t * np.cos(0.7 * t + 0.3))
    assert T.measured_rate(osc) == pytest.approx(0.95, abs=T.DEPART_TOL / 3)
    assert T.measured_rate(1.1 ** t[:60]) == pytest.approx(1.1, abs=1e-6)
    assert math.isnan(T.measured_rate([1.0, 0.0, 0.0]))


def test_direction_errors_project_on_eigenvectors():
    H = np.array([[2.0, 1.0], [1.0, 2.0]])
    hs, Q = T.eigendirections(H)
    assert hs == pytest.approx([1.0, 3.0])
    pts = np.array([[1.0, 1.0], [1.0, -1.0]])
    e = T.direction_errors(pts, (0.0, 0.0), Q)
    assert e[0] == pytest.approx([0.0, math.sqrt(2)], abs=1e-12) and e[1] == pytest.approx([math.sqrt(2), 0.0], abs=1e-12)


def test_bad_method_is_a_clear_error():
    with pytest.raises(ValueError, match="method must be one of"):
        T.quadratic_rate(0.1, 0.5, [1.0], "adam")
