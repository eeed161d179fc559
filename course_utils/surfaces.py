"""Two-dimensional loss surfaces for the optimizer playground and the notebook demos.

Every surface gives its value and gradient in closed form, both for torch
tensors whose last dimension holds ``(x, y)`` (a single point of shape ``(2,)``
or a whole grid of shape ``(..., 2)``) and for plain Python floats (the fast
path the playground uses step by step). No autograd is involved.

    from course_utils.surfaces import SURFACES, get_surface
    s = get_surface("quadratic")
    s.value(torch.tensor([-5.0, -2.0]))     # tensor(10.5)
    s.gradient(torch.tensor([-5.0, -2.0]))  # tensor([-1., -8.])
    s.stability_limit()                     # 0.5: gradient descent is stable for lr < 2/h_max

For the quadratics the Hessian is constant, so the classical numbers of the
lecture apply exactly: gradient descent converges iff ``lr < 2/h_max``, the best
constant learning rate is ``2/(h_min + h_max)``, and the heavy-ball method
(``v = ρv + g; w -= αv``) is fastest with ``η* = (2/(√h_min + √h_max))²`` and
``ρ* = ((√κ − 1)/(√κ + 1))²``. For the other surfaces the same numbers are
reported for the Hessian at the (global) minimum, which only holds near it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import torch

__all__ = ["Surface", "SURFACES", "get_surface", "surface_names"]


def _xy(w):
    if not isinstance(w, torch.Tensor):
        w = torch.as_tensor(w, dtype=torch.float64)
    if w.shape[-1:] != (2,):
        raise ValueError(f"surfaces are 2-D: expected a tensor whose last dimension is 2 (x, y), got shape {tuple(w.shape)}")
    return w[..., 0], w[..., 1]


@dataclass(frozen=True)
class Surface:
    """A 2-D test function with closed-form value, gradient and Hessian.

    ``value_xy``/``grad_xy``/``hessian_xy`` take floats (or broadcastable
    tensors for ``value_xy``); the tensor methods ``value``/``gradient``/``hessian``
    wrap them for inputs of shape ``(..., 2)``.
    """

    name: str
    title: str
    formula: str
    value_xy: Callable
    grad_xy: Callable
    hessian_xy: Callable
    start: tuple[float, float]
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    minimum: tuple[float, float] | None = None   # the global minimum (None: unbounded below)
    local_minima: tuple[tuple[float, float], ...] = ()
    quadratic: bool = False                       # Hessian constant: the stability numbers hold everywhere
    default_lr: float = 0.1                       # tuned for SGD / momentum / Nesterov
    adaptive_lr: float = 0.1                      # tuned for AdaGrad / RMSProp / Adam / AdamW
    note: str = ""
    levels: tuple = field(default=(), repr=False)  # contour levels for plots (empty: automatic)

    # --- values -------------------------------------------------------------
    def value(self, w: torch.Tensor) -> torch.Tensor:
        x, y = _xy(w)
        return self.value_xy(x, y)

    def gradient(self, w: torch.Tensor) -> torch.Tensor:
        """Closed-form gradient, same shape, dtype and device as ``w``."""
        x, y = _xy(w)
        gx, gy = self.grad_xy(x, y)
        return torch.stack([torch.as_tensor(gx, dtype=w.dtype, device=w.device).expand_as(x),
                            torch.as_tensor(gy, dtype=w.dtype, device=w.device).expand_as(y)], dim=-1)

    def hessian(self, w) -> torch.Tensor:
        """Closed-form 2x2 Hessian at a single point ``w`` (shape (2,))."""
        if isinstance(w, torch.Tensor):
            dtype, device = w.dtype, w.device
            x, y = (float(v) for v in w.detach().reshape(-1).tolist())
        else:
            dtype, device = torch.float64, None
            x, y = (float(v) for v in w)
        return torch.tensor(self.hessian_xy(x, y), dtype=dtype, device=device)

    def f(self, x: float, y: float) -> float:
        return float(self.value_xy(x, y))

    @property
    def min_value(self) -> float | None:
        return None if self.minimum is None else self.f(*self.minimum)

    # --- the lecture's numbers ---------------------------------------------
    def hessian_eigenvalues(self) -> tuple[float, float] | None:
        """(h_min, h_max) of the Hessian at the global minimum (everywhere for a quadratic)."""
        if self.minimum is None:
            return None
        H = torch.tensor(self.hessian_xy(*self.minimum), dtype=torch.float64)
        lo, hi = torch.linalg.eigvalsh(H).tolist()
        return lo, hi

    def hessian_at_minimum(self) -> torch.Tensor | None:
        """The 2x2 Hessian at the global minimum (float64), or None when there is no minimum."""
        if self.minimum is None:
            return None
        return torch.tensor(self.hessian_xy(*self.minimum), dtype=torch.float64)

    def condition_number(self) -> float | None:
        eig = self.hessian_eigenvalues()
        return None if eig is None else eig[1] / eig[0]

    def stability_limit(self, momentum: float = 0.0) -> float | None:
        """Largest stable learning rate: 2/h_max for gradient descent, (2 + 2ρ)/h_max with heavy-ball momentum ρ."""
        eig = self.hessian_eigenvalues()
        return None if eig is None else (2.0 + 2.0 * momentum) / eig[1]

    def best_gd_lr(self) -> float | None:
        """The constant learning rate that contracts fastest: 2/(h_min + h_max)."""
        eig = self.hessian_eigenvalues()
        return None if eig is None else 2.0 / (eig[0] + eig[1])

    def best_heavy_ball(self) -> tuple[float, float] | None:
        """(η*, ρ*) = ((2/(√h_min + √h_max))², ((√κ − 1)/(√κ + 1))²), the optimal heavy-ball pair."""
        eig = self.hessian_eigenvalues()
        if eig is None:
            return None
        lo, hi = eig
        alpha = (2.0 / (math.sqrt(lo) + math.sqrt(hi))) ** 2
        k = math.sqrt(hi / lo)
        return alpha, ((k - 1.0) / (k + 1.0)) ** 2

    def describe(self) -> str:
        """A short plain-text summary with the stability numbers where they apply."""
        lines = [f"{self.title}: f(x, y) = {self.formula}, start {self.start}"]
        eig = self.hessian_eigenvalues()
        if eig is None:
            lines.append("No minimum (unbounded below): no stability limit applies.")
        else:
            where = "everywhere" if self.quadratic else "at the minimum (only valid near it)"
            a, r = self.best_heavy_ball()
            lines.append(
                f"Hessian eigenvalues {eig[0]:.4g}, {eig[1]:.4g} {where}; condition number κ = {eig[1] / eig[0]:.4g}."
            )
            lines.append(
                f"Gradient descent is stable for lr < 2/h_max = {self.stability_limit():.4g}; "
                f"best lr = 2/(h_min+h_max) = {self.best_gd_lr():.4g}; best heavy ball η* = {a:.4g}, ρ* = {r:.4g}."
            )
        if self.note:
            lines.append(self.note)
        return "\n".join(lines)

    # --- plotting helper -----------------------------------------------------
    def grid(self, n: int = 120):
        """``(X, Y, Z)`` float64 tensors on the plot range, for contour plots."""
        xs = torch.linspace(*self.xlim, n, dtype=torch.float64)
        ys = torch.linspace(*self.ylim, n, dtype=torch.float64)
        Y, X = torch.meshgrid(ys, xs, indexing="ij")
        return X, Y, self.value_xy(X, Y)


# --- the surfaces -------------------------------------------------------------

# d2l's ill-conditioned quadratic: Hessian diag(0.2, 4), κ = 20.
_quadratic = Surface(
    name="quadratic",
    title="Ill-conditioned quadratic",
    formula="0.1x² + 2y²",
    value_xy=lambda x, y: 0.1 * x * x + 2.0 * y * y,
    grad_xy=lambda x, y: (0.2 * x, 4.0 * y),
    hessian_xy=lambda x, y: [[0.2, 0.0], [0.0, 4.0]],
    start=(-5.0, -2.0), xlim=(-5.5, 5.5), ylim=(-3.0, 3.0),
    minimum=(0.0, 0.0), quadratic=True, default_lr=0.1, adaptive_lr=0.5,
)

# A quadratic whose valley is tilted by 30°, eigenvalues 0.02 and 2 (κ = 100):
# no axis-aligned trick (like AdaGrad's per-coordinate scaling) fixes it.
_THETA = math.pi / 6
_C, _S = math.cos(_THETA), math.sin(_THETA)
_L1, _L2 = 0.02, 2.0
# A = R diag(λ1, λ2) Rᵀ with R the rotation by θ: the slow direction is (cos θ, sin θ).
_A11 = _L1 * _C * _C + _L2 * _S * _S
_A22 = _L1 * _S * _S + _L2 * _C * _C
_A12 = (_L1 - _L2) * _C * _S
_rotated = Surface(
    name="rotated",
    title="Rotated quadratic (κ = 100)",
    formula=f"½ wᵀAw, A with eigenvalues {_L1:g} and {_L2:g}, valley rotated by 30°",
    value_xy=lambda x, y: 0.5 * (_A11 * x * x + 2.0 * _A12 * x * y + _A22 * y * y),
    grad_xy=lambda x, y: (_A11 * x + _A12 * y, _A12 * x + _A22 * y),
    hessian_xy=lambda x, y: [[_A11, _A12], [_A12, _A22]],
    start=(-4.0, 0.0), xlim=(-5.0, 5.0), ylim=(-3.0, 3.0),
    minimum=(0.0, 0.0), quadratic=True, default_lr=0.3, adaptive_lr=0.5,
)

# Distill's banana ("Why Momentum Really Works"): a curved valley, minimum at (1, 1/3).
_banana = Surface(
    name="banana",
    title="Rosenbrock-style banana",
    formula="(1 − x)² + 20(3y − x²)²",
    value_xy=lambda x, y: (1.0 - x) ** 2 + 20.0 * (3.0 * y - x * x) ** 2,
    grad_xy=lambda x, y: (-2.0 * (1.0 - x) - 80.0 * x * (3.0 * y - x * x), 120.0 * (3.0 * y - x * x)),
    hessian_xy=lambda x, y: [[2.0 - 240.0 * y + 240.0 * x * x, -240.0 * x], [-240.0 * x, 360.0]],
    start=(-1.2, 0.8), xlim=(-2.0, 2.0), ylim=(-0.5, 1.5),
    minimum=(1.0, 1.0 / 3.0), default_lr=2e-3, adaptive_lr=0.3,
    note="The valley bends: a learning rate that is stable on its floor is far too small along it.",
)

# The saddle x² − y²: the gradient vanishes at the origin, and near the x axis
# it is tiny in the y direction, so plain gradient descent lingers there.
_saddle = Surface(
    name="saddle",
    title="Saddle",
    formula="x² − y²",
    value_xy=lambda x, y: x * x - y * y,
    grad_xy=lambda x, y: (2.0 * x, -2.0 * y),
    hessian_xy=lambda x, y: [[2.0, 0.0], [0.0, -2.0]],
    start=(-4.0, 1e-3), xlim=(-5.0, 5.0), ylim=(-3.0, 3.0),
    minimum=None, default_lr=0.05, adaptive_lr=0.1,
    note="Start just off the x axis: the y gradient is almost zero, so plain gradient descent stalls near (0, 0) before escaping.",
)


# Two tilted double wells, one per coordinate: four minima, one global.
def _wells_value(x, y):
    return (x * x - 4.0) ** 2 / 16.0 + 0.4 * x + (y * y - 1.0) ** 2 / 4.0 + 0.2 * y


def _root(poly_grad, lo, hi):
    """Bisection for a root of a 1-D derivative on [lo, hi] (sign change required)."""
    flo = poly_grad(lo)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        fm = poly_grad(mid)
        if (fm > 0) == (flo > 0):
            lo, flo = mid, fm
        else:
            hi = mid
    return 0.5 * (lo + hi)


def _dwx(x):
    return x * (x * x - 4.0) / 4.0 + 0.4


def _dwy(y):
    return y * (y * y - 1.0) + 0.2


_XG, _XL = _root(_dwx, -3.0, -1.0), _root(_dwx, 1.0, 3.0)
_YG, _YL = _root(_dwy, -2.0, -0.5), _root(_dwy, 0.5, 2.0)
_wells = Surface(
    name="local_minima",
    title="Local minima (two tilted double wells)",
    formula="(x² − 4)²/16 + 0.4x + (y² − 1)²/4 + 0.2y",
    value_xy=_wells_value,
    grad_xy=lambda x, y: (x * (x * x - 4.0) / 4.0 + 0.4, y * (y * y - 1.0) + 0.2),
    hessian_xy=lambda x, y: [[(3.0 * x * x - 4.0) / 4.0, 0.0], [0.0, 3.0 * y * y - 1.0]],
    start=(3.2, 1.9), xlim=(-3.5, 3.5), ylim=(-2.0, 2.2),
    minimum=(_XG, _YG), local_minima=((_XL, _YL), (_XG, _YL), (_XL, _YG)), default_lr=0.1, adaptive_lr=0.3,
    note="Four minima; only the one at the bottom left is global. Plain gradient descent stops in the first one it reaches.",
)

SURFACES: dict[str, Surface] = {s.name: s for s in (_quadratic, _rotated, _banana, _saddle, _wells)}


def surface_names() -> list[str]:
    return list(SURFACES)


def get_surface(name) -> Surface:
    """The surface called ``name`` (a ``Surface`` passes through)."""
    if isinstance(name, Surface):
        return name
    try:
        return SURFACES[name]
    except KeyError:
        raise KeyError(f"unknown surface {name!r}; choose one of {', '.join(SURFACES)}") from None
