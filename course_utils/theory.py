"""Closed-form predictions for gradient descent and momentum on a quadratic, and how to measure them.

On the quadratic f(w) = ½ (w − w*)ᵀ H (w − w*) with H symmetric positive
definite, write H = Q diag(h_1, …, h_n) Qᵀ and z = Qᵀ (w − w*): the error along
the i-th eigendirection. Every rule below acts on each direction separately.

Gradient descent (w ← w − η∇f)::

    z_{t+1} = (1 − ηh) z_t                      rate |1 − ηh|, stable iff 0 < ηh < 2

Heavy ball (v ← ρv + ∇f, w ← w − ηv; the same iterates as v ← ρv − η∇f, w ← w + v)::

    (z_{t+1}, z_t) = M (z_t, z_{t−1}),   M = [[1 + ρ − ηh, −ρ], [1, 0]]

The error shrinks like r^t with r the spectral radius of M. Its eigenvalues
solve λ² − (1 + ρ − ηh) λ + ρ = 0, so with a = 1 + ρ − ηh::

    a² ≥ 4ρ (real, over-damped):   r = (|a| + √(a² − 4ρ)) / 2
    a² < 4ρ (complex, oscillates): r = √ρ

The iteration is stable iff 0 < ηh < 2 + 2ρ, so the largest stable learning
rate over all directions is (2 + 2ρ)/h_max. The eigenvalues are complex iff
(1 − √(ηh))² < ρ < (1 + √(ηh))²; the lower end, ρ = (1 − √(ηh))², is critical
damping (the fastest non-oscillating setting for that direction). The rate of
the whole quadratic is the largest rate over its directions. Polyak's optimum::

    η* = (2 / (√h_min + √h_max))²,  ρ* = ((√κ − 1)/(√κ + 1))²,  rate √ρ* = (√κ − 1)/(√κ + 1)

Nesterov (in the same variables)::

    M = [[(1 + ρ)(1 − ηh), −ρ(1 − ηh)], [1, 0]]

No closed form exists for AdaGrad, RMSProp or Adam: for those the playground
*measures* (effective step η/(√v̂ + ε), regime of (β1, β2)) by running the rule.

Everything here is NumPy, vectorized over arrays of learning rates, momenta and
eigenvalues, so a whole (η, ρ) map costs one call.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "gd_rate", "two_by_two_radius", "heavy_ball_matrix", "heavy_ball_rate", "nesterov_matrix", "nesterov_rate",
    "quadratic_rate", "max_stable_lr", "critical_momentum", "polyak_optimum", "eigendirections",
    "direction_errors", "measured_rate", "rate_map", "DEPART_TOL", "effective_step", "adam_regime_map", "REGIMES",
]

#: A measured per-direction rate "matches" the prediction when |measured − predicted| ≤ DEPART_TOL.
#: Envelope fits of an oscillating error are good to about ±0.01 over 100 steps; a wrong rule
#: (wrong sign, forgotten velocity, dampening) is off by ≥ 0.05 on the playground's quadratics.
DEPART_TOL = 0.03


def gd_rate(lr, h):
    """|1 − ηh|: the factor by which one gradient-descent step shrinks the error along an eigenvalue h."""
    return np.abs(1.0 - np.asarray(lr, dtype=float) * np.asarray(h, dtype=float))


def two_by_two_radius(a, b):
    """Spectral radius of [[a, b], [1, 0]] (elementwise over arrays).

    Its eigenvalues solve λ² − aλ − b = 0, λ = (a ± √(a² + 4b))/2; for a
    negative discriminant both have modulus √(−b).
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    disc = a * a + 4.0 * b
    root = np.sqrt(np.abs(disc))
    real = np.maximum(np.abs(a + root), np.abs(a - root)) / 2.0
    return np.where(disc >= 0, real, np.sqrt(np.abs(b)))


def heavy_ball_matrix(lr: float, momentum: float, h: float) -> np.ndarray:
    """M = [[1 + ρ − ηh, −ρ], [1, 0]], the heavy ball's iteration matrix along eigenvalue h."""
    return np.array([[1.0 + momentum - lr * h, -momentum], [1.0, 0.0]])


def heavy_ball_rate(lr, momentum, h):
    """Spectral radius of the heavy ball's iteration matrix (ρ = 0 gives |1 − ηh|)."""
    lr, momentum, h = np.asarray(lr, float), np.asarray(momentum, float), np.asarray(h, float)
    return two_by_two_radius(1.0 + momentum - lr * h, -momentum)


def nesterov_matrix(lr: float, momentum: float, h: float) -> np.ndarray:
    """M = [[(1 + ρ)(1 − ηh), −ρ(1 − ηh)], [1, 0]], Nesterov's iteration matrix along eigenvalue h."""
    g = 1.0 - lr * h
    return np.array([[(1.0 + momentum) * g, -momentum * g], [1.0, 0.0]])


def nesterov_rate(lr, momentum, h):
    """Spectral radius of Nesterov's iteration matrix."""
    lr, momentum, h = np.asarray(lr, float), np.asarray(momentum, float), np.asarray(h, float)
    g = 1.0 - lr * h
    return two_by_two_radius((1.0 + momentum) * g, -momentum * g)


_RATES = {"gd": lambda lr, rho, h: gd_rate(lr, h), "heavy_ball": heavy_ball_rate, "nesterov": nesterov_rate}


def quadratic_rate(lr, momentum, eigenvalues, method: str = "heavy_ball"):
    """The rate of a whole quadratic: the largest per-direction rate over ``eigenvalues``.

    ``lr`` and ``momentum`` may be arrays (broadcast together); the result has their shape.
    ``method`` is ``"gd"``, ``"heavy_ball"`` or ``"nesterov"``.
    """
    try:
        fn = _RATES[method]
    except KeyError:
        raise ValueError(f"method must be one of {sorted(_RATES)}, got {method!r}") from None
    lr, momentum = np.broadcast_arrays(np.asarray(lr, float), np.asarray(momentum, float))
    out = np.zeros(lr.shape)
    for h in np.asarray(eigenvalues, float).reshape(-1):
        out = np.maximum(out, fn(lr, momentum, h))
    return out


def max_stable_lr(eigenvalues, momentum: float = 0.0) -> float:
    """(2 + 2ρ)/h_max: the largest learning rate at which heavy ball (GD for ρ = 0) still converges."""
    return (2.0 + 2.0 * momentum) / float(np.max(eigenvalues))


def critical_momentum(lr, h):
    """ρ = (1 − √(ηh))²: critical damping along eigenvalue h (complex, oscillating, for larger ρ)."""
    return (1.0 - np.sqrt(np.asarray(lr, float) * np.asarray(h, float))) ** 2


def polyak_optimum(h_min: float, h_max: float) -> tuple[float, float, float]:
    """(η*, ρ*, rate*) of the heavy ball on a quadratic with eigenvalues in [h_min, h_max]."""
    k = math.sqrt(h_max / h_min)
    rho = ((k - 1.0) / (k + 1.0)) ** 2
    return (2.0 / (math.sqrt(h_min) + math.sqrt(h_max))) ** 2, rho, math.sqrt(rho)


# --- measuring a trajectory -------------------------------------------------------

def eigendirections(hessian) -> tuple[np.ndarray, np.ndarray]:
    """(eigenvalues ascending, eigenvectors as columns) of a symmetric Hessian, float64."""
    vals, vecs = np.linalg.eigh(np.asarray(hessian, dtype=float))
    return vals, vecs


def direction_errors(points, minimum, eigenvectors) -> np.ndarray:
    """|z_i(t)| = |q_iᵀ (w_t − w*)|, shape (steps + 1, n): the error along each eigendirection."""
    diff = np.asarray(points, float) - np.asarray(minimum, float)
    return np.abs(diff @ np.asarray(eigenvectors, float))


def measured_rate(errors, floor: float = 1e-10, window: int = 8, burn_in: int = 5) -> float:
    """The per-step factor r fitted to ``errors`` (one direction, |z_t|) ≈ C r^t.

    An oscillating error (complex eigenvalues) touches zero now and then, so the
    fit is a least-squares line through log of the running maximum over
    ``window`` steps (the envelope), after ``burn_in`` steps (the slower mode
    needs a few steps to dominate) and only while the envelope is above
    ``floor`` times its start (round-off). Returns NaN with fewer than 4 usable
    points; a diverging error gives r > 1.
    """
    e = np.asarray(errors, float)
    if e.size < 4 or not np.isfinite(e[0]):
        return float("nan")
    n = e.size
    env = np.array([np.max(e[t:t + window]) for t in range(n)])
    env = np.where(np.isfinite(env), env, np.nan)
    start = env[0] if env[0] > 0 else np.nanmax(env)
    if not start or not np.isfinite(start):
        return float("nan")
    t = np.arange(n)
    keep = (t >= min(burn_in, n // 3)) & np.isfinite(env) & (env > floor * start) & (t <= n - window)
    if keep.sum() < 4:
        keep = np.isfinite(env) & (env > floor * start)
        if keep.sum() < 4:
            # dropped below the floor at once (e.g. a direction already at its minimum)
            return float("nan")
    slope = np.polyfit(t[keep], np.log(env[keep]), 1)[0]
    return float(math.exp(slope))


def rate_map(eigenvalues, lr_max: float, momentum_max: float = 0.99, n_lr: int = 121, n_momentum: int = 100,
             method: str = "heavy_ball"):
    """``(lrs, momenta, R)``: the predicted rate on a grid, R[i, j] for momenta[i], lrs[j]."""
    lrs = np.linspace(0.0, lr_max, n_lr)
    momenta = np.linspace(0.0, momentum_max, n_momentum)
    L, P = np.meshgrid(lrs, momenta)
    return lrs, momenta, quadratic_rate(L, P, eigenvalues, method)


# --- adaptive rules: measured, not predicted ----------------------------------------

_EPS = {"adagrad": 1e-10, "rmsprop": 1e-8, "adam": 1e-8, "adamw": 1e-8}


def effective_step(kind: str, config: dict):
    """η/(√v̂ + ε) per coordinate, read from the state an adaptive rule keeps in its config.

    AdaGrad and RMSProp keep ``cache`` (v̂ = cache); Adam and AdamW keep ``v``
    and the step count ``t`` (v̂ = v/(1 − β2^t)). Returns a list of floats, or
    None when the state is not there (yet).
    """
    import torch

    lr = float(config.get("learning_rate", 1e-2))
    eps = float(config.get("epsilon", _EPS.get(kind, 1e-8)))
    if kind in ("adagrad", "rmsprop"):
        v = config.get("cache")
    elif kind in ("adam", "adamw"):
        v, t = config.get("v"), config.get("t")
        if not isinstance(t, (int, float)) or t < 1 or v is None:
            return None
        v = v / (1.0 - float(config.get("beta2", 0.999)) ** t)
    else:
        return None
    if not isinstance(v, torch.Tensor):
        return None
    return (lr / (v.detach().to(torch.float64).sqrt() + eps)).reshape(-1).tolist()


#: The regimes of the (β1, β2) map, in the order of their codes 0, 1, 2.
REGIMES = ("converges", "oscillates", "diverges")


def _classify(gap, gap0, finite):
    """0 converges (gap below 1e-3 of the start), 2 diverges (non-finite or grew 10x), else 1 (bounded, not converged)."""
    gap = np.where(finite, gap, np.inf)
    code = np.ones(gap.shape, dtype=int)
    code[gap <= 1e-3 * gap0] = 0
    code[~(gap <= 10.0 * gap0)] = 2
    return code


def adam_regime_map(adam, surface, config: dict, steps: int, start, beta1s, beta2s, noise_draws=None):
    """Run the student's own ``adam`` on every (β1, β2) of a grid and classify the outcome.

    All grid points run at once: ``w`` has shape (len(beta2s) · len(beta1s), 2)
    and ``config["beta1"]``/``config["beta2"]`` are column tensors, so a rule
    written with tensor arithmetic steps every point in one call. A rule that
    cannot take tensor hyperparameters (e.g. ``math.sqrt(1 - beta2 ** t)``), or
    whose batched result differs from a plain run, is run point by point.
    Returns ``(codes, how)``: codes[i, j] in 0/1/2 (see REGIMES) for beta2s[i],
    beta1s[j], and "batched" or "one by one".
    """
    import torch

    from .surfaces import get_surface

    s = get_surface(surface)
    B1, B2 = np.meshgrid(np.asarray(beta1s, float), np.asarray(beta2s, float))
    n = B1.size
    f0 = s.f(*start)
    gap0 = max(f0 - (s.min_value if s.min_value is not None else f0 - 1.0), 1e-12)
    fmin = s.min_value if s.min_value is not None else -np.inf
    draws = None if noise_draws is None else torch.as_tensor(np.asarray(noise_draws, float), dtype=torch.float64)

    def run(b1, b2, count):
        w = torch.tensor(start, dtype=torch.float64).repeat(count, 1)
        cfg = {**config, "beta1": b1, "beta2": b2}
        for k in range(steps):
            g = s.gradient(w)
            if draws is not None:
                g = g + draws[k]
            w, cfg = adam(w, g, cfg)
        return w

    def outcome(w):
        w = w.detach().to(torch.float64)
        finite = torch.isfinite(w).all(dim=-1).numpy() & (w.abs().max(dim=-1).values < 1e6).numpy()
        value = s.value(torch.where(torch.isfinite(w), w, torch.zeros_like(w))).numpy()
        return _classify(value - fmin, gap0, finite)

    how = "batched"
    try:
        with np.errstate(all="ignore"):
            b1 = torch.tensor(B1.reshape(-1, 1), dtype=torch.float64)
            b2 = torch.tensor(B2.reshape(-1, 1), dtype=torch.float64)
            w = run(b1, b2, n)
            if not (isinstance(w, torch.Tensor) and tuple(w.shape) == (n, 2)):
                raise TypeError("batched run returned the wrong shape")
            # the batched run must agree with a plain run at one grid point
            j = n // 2
            one = run(float(B1.reshape(-1)[j]), float(B2.reshape(-1)[j]), 1)
            a, b = w[j].detach(), one.reshape(-1).detach()
            if torch.isfinite(b).all() and not torch.allclose(a, b, rtol=1e-9, atol=1e-12):
                raise ValueError("batched run differs from a plain run")
            codes = outcome(w)
    except Exception:
        how = "one by one"
        codes = np.empty(n, dtype=int)
        for j, (x1, x2) in enumerate(zip(B1.reshape(-1), B2.reshape(-1))):
            try:
                with np.errstate(all="ignore"):
                    codes[j] = outcome(run(float(x1), float(x2), 1).reshape(1, 2))[0]
            except Exception:
                codes[j] = 2
    return codes.reshape(B1.shape), how
