"""Interactive demos for the ``regularization`` notebook: what λ does to a model.

- ``two_models_1d()`` / ``cliff_vs_smooth()``: the lecture's 1-D two-class
  softmax example, two models with perfect training accuracy, one with a cliff.
- ``overfit_1d_demo()``: the same problem trained with L2 and a λ slider; the
  boundary softens as λ grows and the held-out loss changes.
- ``toy_2d_demo()``: a 2-D two-class set, polynomial features, L1 or L2
  (toggle) and a log-scale λ slider; decision boundary, train/validation
  accuracy and the weights (L1 sets some of them exactly to zero).

Every demo minimizes the lecture's objective

    L(W) = 1/N Σ_i L_i(f(x_i, W), y_i) + λ R(W),   R(W) = Σ W²  (L2)  or  Σ |W|  (L1)

with ``L_i`` the softmax (cross-entropy) loss and ``f(x, W) = φ(x) W``. The
solvers are the demos' own (NumPy, float64, full batch, cold start from W = 0,
so a given λ always gives the same model); they never call the student's graded
functions, so the demos run before the TODOs are done.

Each demo object keeps its controls (``reg_slider``, ``penalty_toggle``) and
the data it plots (``demo.data``), so it can be driven from plain Python:
set ``demo.reg_slider.value`` and read ``demo.data``. ``demo.show()`` displays
the widget, or a static figure of the current state when headless.

The widget's figure is an ``ipywidgets.Image`` whose PNG bytes a slider move
replaces; the demos never print or display into an ``Output`` widget. Writing
into an ``Output`` while a cell runs makes nbclient (nbconvert, papermill) send
comm messages on the shell socket that its execute-reply poller is waiting on,
which can swallow the reply's wake-up: the cell then hangs for one full cell
timeout (jupyter/nbclient#312). A slider move redraws only the artists that
change on one persistent figure (no new figure, no layout pass), and the 2-D
demo fits every λ of the slider's grid at once when it is built, so moving a
slider or flipping the toggle is a lookup plus one PNG encode.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from .widgets import show as _show

__all__ = [
    "softmax_objective",
    "two_models_1d",
    "cliff_vs_smooth",
    "overfit_1d_demo",
    "toy_2d_demo",
    "Overfit1DDemo",
    "Toy2DDemo",
    "PENALTIES",
]

PENALTIES = ("l2", "l1")
# |w| at or below this counts as zero in the "how many weights are zero" read-outs
ZERO_TOL = 1e-8


def _check_reg(reg) -> float:
    try:
        reg = float(reg)
    except (TypeError, ValueError):
        raise TypeError(f"λ (reg) must be a number, got {type(reg).__name__}") from None
    if not math.isfinite(reg) or reg < 0:
        raise ValueError(f"λ (reg) must be a finite number ≥ 0, got {reg}")
    return reg


def _check_penalty(penalty: str) -> str:
    p = str(penalty).strip().lower()
    if p not in PENALTIES:
        raise ValueError(f"unknown penalty {penalty!r}; use 'l2' (λ·ΣW²) or 'l1' (λ·Σ|W|)")
    return p


def _softmax_stats(Phi, y, W):
    """Mean cross-entropy, its gradient w.r.t. W, and the class probabilities."""
    S = Phi @ W
    S = S - S.max(axis=1, keepdims=True)
    E = np.exp(S)
    P = E / E.sum(axis=1, keepdims=True)
    n = Phi.shape[0]
    loss = -np.mean(np.log(np.maximum(P[np.arange(n), y], 1e-300)))
    G = P.copy()
    G[np.arange(n), y] -= 1.0
    return loss, Phi.T @ G / n, P


def softmax_objective(Phi, y, W, penalty: str, reg: float):
    """The demos' objective 1/N Σ L_i + λ R(W) (value only), for checks and read-outs."""
    penalty, reg = _check_penalty(penalty), _check_reg(reg)
    data_loss = _softmax_stats(Phi, y, W)[0]
    r = np.sum(W * W) if penalty == "l2" else np.sum(np.abs(W))
    return float(data_loss + reg * r)


def _new_figure(figsize, pyplot=False):
    """A figure outside pyplot (redraws never pile up in pyplot's registry), or a
    pyplot one for ``widgets.show``'s static path: the inline backend renders only
    pyplot-managed figures as images, and ``show`` closes them after display."""
    if pyplot:
        import matplotlib.pyplot as plt

        return plt.figure(figsize=figsize, layout="constrained")
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, layout="constrained")


FIGURE_DPI = 80


def _png_bytes(fig) -> bytes:
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=FIGURE_DPI)
    return buf.getvalue()


def _png(fig):
    """The figure as a PNG image: displays the same under any matplotlib backend."""
    from IPython.display import Image

    return Image(data=_png_bytes(fig), format="png")


class _LiveFigure:
    """One figure kept for the widget, redrawn by blitting.

    Built once: layout solved, everything that never changes (points, axes,
    ticks, legends) rendered once into a saved background. A slider move
    updates the artists that depend on λ (``fig._demo_artists["animated"]``),
    pastes the background back and draws only those, then encodes the pixels
    as PNG: no layout pass, no tick computation, no new figure.
    """

    def __init__(self, demo):
        self.demo = demo
        self.fig = None

    def _setup(self):
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        fig = self.demo.figure()
        fig.set_dpi(FIGURE_DPI)
        FigureCanvasAgg(fig)
        for art in self._animated(fig):
            art.set_animated(True)
        fig.canvas.draw()                  # solves the constrained layout, draws the static parts
        fig.set_layout_engine("none")      # keep that layout for every later frame
        self.background = fig.canvas.copy_from_bbox(fig.bbox)
        self.fig = fig

    @staticmethod
    def _animated(fig):
        return fig._demo_artists["animated"]()

    def png(self) -> bytes:
        import io

        from PIL import Image

        if self.fig is None:
            self._setup()
        fig = self.fig
        self.demo._update_artists(fig)
        fig.canvas.restore_region(self.background)
        for art in self._animated(fig):
            art.set_animated(True)
            fig.draw_artist(art)
        buf = io.BytesIO()
        Image.fromarray(np.asarray(fig.canvas.buffer_rgba())[..., :3]).save(buf, format="png", compress_level=1)
        return buf.getvalue()


def _accuracy(Phi, y, W) -> float:
    return float(np.mean(np.argmax(Phi @ W, axis=1) == y))


# --- 1-D: the lecture's two-class softmax example ------------------------------

def _fit_1d_l2(Phi, y, reg, max_iter=200, tol=1e-10):
    """Exact minimizer of mean CE + λ·ΣW² for a 2-class softmax on features Phi.

    With two classes the data loss depends only on v = W[:, 1] − W[:, 0], and for
    a fixed v the penalty is smallest at W = [−v/2, v/2], where λ·ΣW² = λ/2·|v|².
    So this is logistic regression in v, solved by damped Newton (a handful of
    2×2 solves): fast enough to recompute on every slider move.
    """
    n, d = Phi.shape
    t = y.astype(float)
    lam = max(reg, 1e-12)  # λ = 0 on separable data has no minimizer; stay finite

    def f(v):
        z = Phi @ v
        return np.mean(np.logaddexp(0.0, z) - t * z) + 0.5 * lam * v @ v

    v = np.zeros(d)
    fv = f(v)
    for _ in range(max_iter):
        z = Phi @ v
        p = 0.5 * (1.0 + np.tanh(0.5 * z))  # stable sigmoid
        g = Phi.T @ (p - t) / n + lam * v
        if np.max(np.abs(g)) < tol:
            break
        H = (Phi * (p * (1 - p))[:, None]).T @ Phi / n + lam * np.eye(d)
        step = np.linalg.solve(H, g)
        a = 1.0
        while a > 1e-10:
            cand = v - a * step
            fc = f(cand)
            if fc <= fv - 1e-4 * a * (g @ step):
                break
            a *= 0.5
        v, fv = cand, fc
    return np.stack([-v / 2, v / 2], axis=1)


def _phi_1d(x):
    x = np.asarray(x, dtype=float).reshape(-1)
    return np.stack([x, np.ones_like(x)], axis=1)


@lru_cache(maxsize=8)
def _data_1d(n_per_class: int, gap: float, seed: int):
    from .data import make_overfit_1d

    xs = make_overfit_1d(n_per_class=n_per_class, gap=gap, seed=seed, device="cpu")
    x_tr, y_tr, x_te, y_te = (t.numpy() for t in xs)
    return x_tr, y_tr, x_te, y_te


class _Problem1D:
    """The 1-D data set and a per-λ cache of trained models."""

    def __init__(self, n_per_class=4, gap=0.5, seed=0, grid_size=400):
        self.x_train, self.y_train, self.x_test, self.y_test = _data_1d(int(n_per_class), float(gap), int(seed))
        self.Phi_train = _phi_1d(self.x_train)
        self.Phi_test = _phi_1d(self.x_test)
        lo = min(self.x_train.min(), self.x_test.min()) - 0.3
        hi = max(self.x_train.max(), self.x_test.max()) + 0.3
        self.xs = np.linspace(lo, hi, grid_size)
        self._Phi_xs = _phi_1d(self.xs)
        self._cache = {}

    def model(self, reg: float) -> dict:
        reg = _check_reg(reg)
        key = float(f"{reg:.12g}")
        if key not in self._cache:
            W = _fit_1d_l2(self.Phi_train, self.y_train, reg)
            self._cache[key] = self.describe(W, reg)
        return self._cache[key]

    def describe(self, W, reg=None) -> dict:
        """Everything the plots and read-outs show about the model ``W`` (2, 2)."""
        W = np.asarray(W, dtype=float)
        v = W[:, 1] - W[:, 0]
        p1 = _softmax_stats(self._Phi_xs, np.zeros(len(self.xs), dtype=int), W)[2][:, 1]
        train_loss = _softmax_stats(self.Phi_train, self.y_train, W)[0]
        test_loss = _softmax_stats(self.Phi_test, self.y_test, W)[0]
        return {
            "reg": reg,
            "W": W,
            "xs": self.xs,
            "p1": p1,                                   # p(class 1 | x) on the grid
            "boundary": float(-v[1] / v[0]) if v[0] != 0 else float("nan"),
            "steepness": float(abs(v[0]) / 4.0),        # max slope of p(class 1 | x)
            "weight_norm": float(np.sqrt(np.sum(W * W))),
            "train_loss": float(train_loss),
            "train_acc": _accuracy(self.Phi_train, self.y_train, W),
            "test_loss": float(test_loss),
            "test_acc": _accuracy(self.Phi_test, self.y_test, W),
        }


def two_models_1d(cliff_reg: float = 1e-8, smooth_reg: float = 1e-1, n_per_class: int = 4, gap: float = 0.5, seed: int = 0):
    """The lecture's two models on the 1-D set: both classify every training point
    correctly; the nearly unregularized one (λ = ``cliff_reg``) jumps from class 0
    to class 1 like a cliff, the regularized one (λ = ``smooth_reg``) is smooth.

    Returns ``{"cliff": model, "smooth": model, "problem": problem}``; a model is
    a dict with ``W``, ``p1`` on ``xs``, ``steepness``, ``boundary``, losses and accuracies.
    """
    prob = _Problem1D(n_per_class, gap, seed)
    return {"cliff": prob.model(cliff_reg), "smooth": prob.model(smooth_reg), "problem": prob}


def _plot_points_1d(ax, prob):
    rng = np.random.default_rng(0)
    jitter = rng.uniform(-0.04, 0.04, size=len(prob.x_test))
    ax.scatter(prob.x_test, prob.y_test + jitter, s=8, alpha=0.25, c=np.where(prob.y_test == 1, "tab:orange", "tab:blue"),
               label="held-out points")
    ax.scatter(prob.x_train, prob.y_train, s=70, edgecolors="k", c=np.where(prob.y_train == 1, "tab:orange", "tab:blue"),
               zorder=3, label="training points")
    ax.set_xlabel("x")
    ax.set_ylabel("p(class 1 | x)")
    ax.set_ylim(-0.1, 1.1)


def cliff_vs_smooth(cliff_reg: float = 1e-8, smooth_reg: float = 1e-1, display_figure: bool = True):
    """Print the two models' training accuracy and held-out loss, and draw them."""
    from matplotlib.figure import Figure

    res = two_models_1d(cliff_reg, smooth_reg)
    prob = res["problem"]
    print(f"{'model':<30}{'train acc':>10}{'train loss':>12}{'held-out loss':>15}{'held-out acc':>14}")
    for name, key, reg in (("cliff   (λ = %.0e)" % cliff_reg, "cliff", cliff_reg), ("smooth  (λ = %.0e)" % smooth_reg, "smooth", smooth_reg)):
        m = res[key]
        print(f"{name:<30}{m['train_acc']:>10.0%}{m['train_loss']:>12.3f}{m['test_loss']:>15.3f}{m['test_acc']:>14.0%}")
    fig = Figure(figsize=(7.5, 3.6), layout="constrained")
    ax = fig.add_subplot()
    _plot_points_1d(ax, prob)
    ax.plot(prob.xs, res["cliff"]["p1"], color="tab:red", lw=2, label="cliff model")
    ax.plot(prob.xs, res["smooth"]["p1"], color="tab:green", lw=2, label="smooth model")
    ax.legend(loc="upper left", fontsize=8)
    ax.set_title("Two models, both 100% right on the training points")
    if display_figure:
        from IPython.display import display

        display(_png(fig))
        return None
    return fig


class Overfit1DDemo:
    """The 1-D softmax trained with L2 at the slider's λ.

    ``data`` holds the current model (see ``_Problem1D.describe``); ``curve``
    holds train and held-out loss over the slider's whole λ grid.
    """

    def __init__(self, reg=1e-2, reg_exponents=(-8.0, 1.0), step=0.25, n_per_class=4, gap=0.5, seed=0):
        import ipywidgets as W

        lo, hi = (float(e) for e in reg_exponents)
        if not lo < hi:
            raise ValueError(f"reg_exponents must be (low, high) powers of 10 with low < high, got {reg_exponents}")
        reg = _check_reg(reg)
        if reg <= 0:
            raise ValueError("the slider is logarithmic: start it at a λ > 0, e.g. reg=1e-3")
        self.problem = _Problem1D(n_per_class, gap, seed)
        self.reg_grid = 10.0 ** np.arange(lo, hi + step / 2, step)
        self.reg_slider = W.FloatLogSlider(value=reg, base=10, min=lo, max=hi, step=step, description="λ",
                                           continuous_update=False, readout_format=".1e")
        self.image = W.Image(format="png")
        # stable selectors for the browser tests
        self.reg_slider.add_class("regularization-lambda")
        self.image.add_class("regularization-figure")
        self.widget = W.VBox([self.reg_slider, self.image])
        self._live = _LiveFigure(self)
        self._curve = None
        self.data = self.problem.model(self.reg_slider.value)
        self.reg_slider.observe(self._on_change, names="value")

    @property
    def curve(self) -> dict:
        """Train (data) loss and held-out loss at every λ of the slider's grid."""
        if self._curve is None:
            models = [self.problem.model(r) for r in self.reg_grid]
            self._curve = {
                "reg": self.reg_grid,
                "train_loss": np.array([m["train_loss"] for m in models]),
                "test_loss": np.array([m["test_loss"] for m in models]),
            }
        return self._curve

    def _on_change(self, change):
        self.data = self.problem.model(change["new"])
        self._redraw()

    def _redraw(self):
        self.image.value = self._live.png()

    def figure(self, pyplot=False):
        """A matplotlib figure of the current state (``pyplot=True``: managed by pyplot)."""
        d, c = self.data, self.curve
        fig = _new_figure((10, 3.6), pyplot)
        ax, ax2 = fig.subplots(1, 2, width_ratios=[1.4, 1])
        _plot_points_1d(ax, self.problem)
        cliff = self.problem.model(self.reg_grid[0])
        ax.plot(cliff["xs"], cliff["p1"], color="0.6", lw=1, ls="--", label=f"λ = {self.reg_grid[0]:.0e}")
        model, = ax.plot(d["xs"], d["p1"], color="tab:red", lw=2.5, label="λ of the slider", gid="model")
        boundary = ax.axvline(d["boundary"], color="tab:red", lw=0.8, ls=":")
        ax.legend(loc="upper left", fontsize=8)
        ax2.semilogx(c["reg"], c["train_loss"], "-", color="tab:blue", label="training data loss")
        ax2.semilogx(c["reg"], c["test_loss"], "-", color="tab:orange", label="held-out loss")
        at = ax2.axvline(d["reg"], color="tab:red", lw=1)
        dots, = ax2.plot([d["reg"]] * 2, [d["train_loss"], d["test_loss"]], "o", color="tab:red")
        ax2.set_xlabel("λ")
        ax2.set_ylabel("mean softmax loss")
        ax2.legend(fontsize=8)
        ax2.set_xlim(c["reg"][0] / 1.5, c["reg"][-1] * 1.5)
        fig._demo_artists = dict(ax=ax, ax2=ax2, model=model, boundary=boundary, at=at, dots=dots)
        fig._demo_artists["animated"] = lambda: [model, boundary, at, dots, ax.title, ax2.title]
        self._set_titles(fig)
        return fig

    def _set_titles(self, fig):
        d, a = self.data, fig._demo_artists
        a["ax"].set_title(f"λ = {d['reg']:.1e}: train acc {d['train_acc']:.0%}, held-out acc {d['test_acc']:.0%}, "
                          f"steepness {d['steepness']:.2g}", fontsize=10)
        a["ax2"].set_title(f"held-out loss {d['test_loss']:.3f}", fontsize=10)

    def _update_artists(self, fig):
        """Move the current model's artists to ``self.data`` (the widget's redraw)."""
        d, a = self.data, fig._demo_artists
        a["model"].set_ydata(d["p1"])
        a["boundary"].set_xdata([d["boundary"]] * 2)
        a["at"].set_xdata([d["reg"]] * 2)
        a["dots"].set_data([d["reg"]] * 2, [d["train_loss"], d["test_loss"]])
        self._set_titles(fig)

    def show(self):
        """The widget for a person; a static figure of the current λ when headless."""
        shown = _show(self.widget, lambda: self.figure(pyplot=True))
        if shown is not None:
            self._redraw()
        return None


def overfit_1d_demo(reg: float = 1e-2, **kwargs) -> Overfit1DDemo:
    """Build the 1-D overfitting demo (call ``.show()`` to display it)."""
    return Overfit1DDemo(reg=reg, **kwargs)


# --- 2-D: polynomial features, L1 vs L2 ----------------------------------------

def _monomial_powers(degree: int):
    return [(i - j, j) for i in range(degree + 1) for j in range(i + 1)]


_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def _monomial_name(p):
    def part(var, k):
        return "" if k == 0 else var if k == 1 else var + str(k).translate(_SUPERSCRIPT)

    name = part("x₁", p[0]) + part("x₂", p[1])
    return name or "1"


class _PolyFeatures:
    """φ(x): every monomial x1^a·x2^b with a + b ≤ degree, each standardized on
    the training set (the constant stays 1), so one λ treats all features alike."""

    def __init__(self, X_train, degree):
        self.powers = _monomial_powers(degree)
        self.names = [_monomial_name(p) for p in self.powers]
        self.mu_in = X_train.mean(axis=0)
        self.sd_in = X_train.std(axis=0)
        raw = self._raw(X_train)
        self.mu = raw.mean(axis=0)
        self.sd = raw.std(axis=0)
        self.mu[0], self.sd[0] = 0.0, 1.0

    def _raw(self, X):
        Z = (X - self.mu_in) / self.sd_in
        return np.stack([Z[:, 0] ** a * Z[:, 1] ** b for a, b in self.powers], axis=1)

    def __call__(self, X):
        return (self._raw(np.asarray(X, dtype=float)) - self.mu) / self.sd


def _fit_2d(Phi, y, penalty, reg, iters=3000):
    """min_W 1/N Σ softmax loss + λ R(W) by FISTA (accelerated proximal gradient).

    L2 is smooth and goes into the gradient (2λW). L1 goes through its proximal
    step, soft-thresholding, which sets weights exactly to zero; plain steps
    along λ·sign(W) would only make them hover around zero. A fixed iteration
    budget from W = 0 makes each λ's model deterministic (and, for tiny λ on
    separable data, acts like early stopping).
    """
    return _fit_2d_path(Phi, y, penalty, [reg], iters)[0]


def _fit_2d_path(Phi, y, penalty, regs, iters=3000):
    """``_fit_2d`` for every λ in ``regs`` at once: K independent FISTA runs
    stacked along a leading axis (one Python loop, K times the arithmetic).
    Returns W with shape (K, D, C)."""
    n, d = Phi.shape
    C = int(y.max()) + 1
    K = len(regs)
    # the K runs side by side as columns: W[:, k*C:(k+1)*C] is run k's (D, C) matrix,
    # so each iteration is two BLAS products whatever K is
    regs = np.repeat(np.asarray([_check_reg(r) for r in regs], dtype=float), C)[None, :]
    # the softmax loss's gradient is (σ_max(Φ)²/(2N))-Lipschitz for two classes (≤ σ²/N in general)
    smax2 = np.linalg.norm(Phi, 2) ** 2
    lip = smax2 / n * (0.5 if C == 2 else 1.0) + (2 * regs if penalty == "l2" else 0.0 * regs)
    eta = 1.0 / lip
    Y = np.zeros((n, 1, C))
    Y[np.arange(n), 0, y] = 1.0
    W = np.zeros((d, K * C))
    Z = W.copy()
    t = 1.0
    thresh = eta * regs
    for _ in range(iters):
        S = (Phi @ Z).reshape(n, K, C)
        S -= S.max(axis=2, keepdims=True)
        E = np.exp(S)
        G = Phi.T @ ((E / E.sum(axis=2, keepdims=True) - Y).reshape(n, K * C) / n)
        if penalty == "l2":
            W_new = Z - eta * (G + 2 * regs * Z)
        else:
            U = Z - eta * G
            W_new = np.sign(U) * np.maximum(np.abs(U) - thresh, 0.0)
        t_new = 0.5 * (1 + math.sqrt(1 + 4 * t * t))
        Z = W_new + ((t - 1) / t_new) * (W_new - W)
        W, t = W_new, t_new
    return W.reshape(d, K, C).transpose(1, 0, 2).copy()


class Toy2DDemo:
    """Two moons, polynomial features of ``degree``, trained with L1 or L2."""

    def __init__(self, penalty="l2", reg=1e-3, reg_exponents=(-5.0, 0.0), step=0.25, degree=6,
                 n_train=40, n_val=400, noise=0.3, seed=0, iters=3000, grid_size=120):
        import ipywidgets as W

        from .data import make_toy_2d

        penalty = _check_penalty(penalty)
        reg = _check_reg(reg)
        if reg <= 0:
            raise ValueError("the slider is logarithmic: start it at a λ > 0, e.g. reg=1e-3")
        if int(degree) < 1:
            raise ValueError(f"degree must be ≥ 1, got {degree}")
        lo, hi = (float(e) for e in reg_exponents)
        if not lo < hi:
            raise ValueError(f"reg_exponents must be (low, high) powers of 10 with low < high, got {reg_exponents}")
        Xtr, ytr = make_toy_2d("moons", n=n_train, noise=noise, seed=seed, device="cpu")
        Xva, yva = make_toy_2d("moons", n=n_val, noise=noise, seed=seed + 1, device="cpu")
        self.X_train, self.y_train = Xtr.numpy(), ytr.numpy()
        self.X_val, self.y_val = Xva.numpy(), yva.numpy()
        self.features = _PolyFeatures(self.X_train, int(degree))
        self.Phi_train = self.features(self.X_train)
        self.Phi_val = self.features(self.X_val)
        allX = np.concatenate([self.X_train, self.X_val])
        pad = 0.4
        self.gx = np.linspace(allX[:, 0].min() - pad, allX[:, 0].max() + pad, grid_size)
        self.gy = np.linspace(allX[:, 1].min() - pad, allX[:, 1].max() + pad, grid_size)
        GX, GY = np.meshgrid(self.gx, self.gy)
        self._Phi_grid = self.features(np.stack([GX.ravel(), GY.ravel()], axis=1))
        self.iters = int(iters)
        self._cache = {}
        self._weights = {}
        self.reg_grid = 10.0 ** np.arange(lo, hi + step / 2, step)
        for p in PENALTIES:   # every slider position, both penalties: a move is then a lookup
            for r, W_r in zip(self.reg_grid, _fit_2d_path(self.Phi_train, self.y_train, p, self.reg_grid, self.iters)):
                self._weights[(p, float(f"{r:.12g}"))] = W_r

        self.penalty_toggle = W.ToggleButtons(options=[("L2: λ·ΣW²", "l2"), ("L1: λ·Σ|W|", "l1")], value=penalty,
                                              description="penalty", style={"description_width": "initial"})
        self.reg_slider = W.FloatLogSlider(value=reg, base=10, min=lo, max=hi, step=step, description="λ",
                                           continuous_update=False, readout_format=".1e")
        self.image = W.Image(format="png")
        # stable selectors for the browser tests
        self.penalty_toggle.add_class("regularization-penalty")
        self.reg_slider.add_class("regularization-lambda")
        self.reg_slider.add_class("regularization-lambda-2d")
        self.image.add_class("regularization-figure")
        self.widget = W.VBox([W.HBox([self.penalty_toggle, self.reg_slider]), self.image])
        self._live = _LiveFigure(self)
        self.data = self.model(penalty, self.reg_slider.value)
        self.penalty_toggle.observe(self._on_change, names="value")
        self.reg_slider.observe(self._on_change, names="value")

    def model(self, penalty: str, reg: float) -> dict:
        """Train (or fetch from the cache) the model for ``penalty`` and λ = ``reg``."""
        penalty, reg = _check_penalty(penalty), _check_reg(reg)
        key = (penalty, float(f"{reg:.12g}"))
        if key not in self._cache:
            W = self._weights.get(key)
            if W is None:
                W = _fit_2d(self.Phi_train, self.y_train, penalty, reg, self.iters)
            S = self._Phi_grid @ W
            p1 = 1.0 / (1.0 + np.exp(np.clip(S[:, 0] - S[:, 1], -500, 500)))
            self._cache[key] = {
                "penalty": penalty,
                "reg": reg,
                "W": W,
                "feature_names": list(self.features.names),
                "p1_grid": p1.reshape(len(self.gy), len(self.gx)),
                "train_acc": _accuracy(self.Phi_train, self.y_train, W),
                "val_acc": _accuracy(self.Phi_val, self.y_val, W),
                "train_loss": float(_softmax_stats(self.Phi_train, self.y_train, W)[0]),
                "val_loss": float(_softmax_stats(self.Phi_val, self.y_val, W)[0]),
                "objective": softmax_objective(self.Phi_train, self.y_train, W, penalty, reg),
                "l2_norm": float(np.sqrt(np.sum(W * W))),
                "l1_norm": float(np.sum(np.abs(W))),
                "n_zero": int(np.sum(np.abs(W) <= ZERO_TOL)),
                "n_weights": int(W.size),
            }
        return self._cache[key]

    def _on_change(self, change):
        self.data = self.model(self.penalty_toggle.value, self.reg_slider.value)
        self._redraw()

    def _redraw(self):
        self.image.value = self._live.png()

    def figure(self, pyplot=False):
        """A matplotlib figure of the current state (``pyplot=True``: managed by pyplot)."""
        d = self.data
        fig = _new_figure((11, 4.4), pyplot)
        ax, ax2 = fig.subplots(1, 2, width_ratios=[1, 1.3])
        # imshow renders much faster than contourf, which keeps slider redraws quick
        img = ax.imshow(d["p1_grid"], origin="lower", extent=(self.gx[0], self.gx[-1], self.gy[0], self.gy[-1]),
                        cmap="RdBu_r", vmin=0, vmax=1, alpha=0.35, aspect="auto", interpolation="bilinear")
        val = ax.scatter(self.X_val[:, 0], self.X_val[:, 1], s=6, alpha=0.3,
                         c=np.where(self.y_val == 1, "tab:red", "tab:blue"), label="validation")
        train = ax.scatter(self.X_train[:, 0], self.X_train[:, 1], s=40, edgecolors="k",
                           c=np.where(self.y_train == 1, "tab:red", "tab:blue"), label="training")
        ax.set_xlim(self.gx[0], self.gx[-1])
        ax.set_ylim(self.gy[0], self.gy[-1])
        # legend above the axes: it stays in the static background
        ax.legend(loc="lower left", bbox_to_anchor=(0, 1.07), ncols=2, fontsize=9, frameon=False, borderaxespad=0)
        # two classes: the softmax's class-0 column stays the negative of class 1's
        # (both start at 0 and get opposite gradients), so one column says it all
        w = d["W"][:, 1]
        idx = np.arange(len(w))
        bars = ax2.bar(idx, w, color=np.where(w >= 0, "tab:red", "tab:blue"), gid="weights")
        zeros, = ax2.plot([], [], "kx", ms=6, label="exactly 0")
        ax2.axhline(0, color="k", lw=0.5)
        ax2.set_xticks(idx, d["feature_names"], rotation=90, fontsize=10)
        ax2.set_xlim(-0.7, len(w) - 0.3)
        ax2.set_ylabel("weight (class 1 column of W), symlog")
        ax2.legend(fontsize=9, loc="upper right")
        # one fixed weight axis for every λ and both penalties (a redraw never
        # recomputes ticks); symlog shows weights from 0.01 to 50 side by side
        top = 1.15 * max(float(np.max(np.abs(W_r[:, 1]))) for W_r in self._weights.values())
        ax2.set_yscale("symlog", linthresh=0.1)
        ax2.set_ylim(-top, top)
        a = fig._demo_artists = dict(ax=ax, ax2=ax2, img=img, contour=None, bars=bars, zeros=zeros)
        # the probability image is redrawn, so everything drawn over it is redrawn too
        a["animated"] = lambda: [img, val, a["contour"], train, *bars, zeros, ax.title, ax2.title]
        self._update_artists(fig)
        return fig

    def _update_artists(self, fig):
        """Point every artist that depends on λ or the penalty at ``self.data``."""
        d, a = self.data, fig._demo_artists
        a["img"].set_data(d["p1_grid"])
        if a["contour"] is not None:
            a["contour"].remove()
        a["contour"] = a["ax"].contour(self.gx, self.gy, d["p1_grid"], levels=[0.5], colors="k", linewidths=1.5)
        w = d["W"][:, 1]
        for bar, h in zip(a["bars"], w):
            bar.set_height(h)
            bar.set_color("tab:red" if h >= 0 else "tab:blue")
        zero = np.abs(w) <= ZERO_TOL
        idx = np.arange(len(w))
        a["zeros"].set_data(idx[zero], np.zeros(zero.sum()))
        name = "L2" if d["penalty"] == "l2" else "L1"
        a["ax"].set_title(f"{name}, λ = {d['reg']:.1e}: train acc {d['train_acc']:.0%}, val acc {d['val_acc']:.0%}",
                          fontsize=10)
        a["ax2"].set_title(f"{d['n_zero']} of {d['n_weights']} weights are 0; "
                           f"ΣW² = {d['l2_norm'] ** 2:.3g}, Σ|W| = {d['l1_norm']:.3g}", fontsize=10)

    def table(self, regs=(1e-4, 1e-3, 1e-2, 1e-1)):
        """Print, for each λ, validation accuracy and zero weights under L2 and L1."""
        print(f"{'λ':>8} | {'L2 val acc':>10} {'L2 zeros':>9} | {'L1 val acc':>10} {'L1 zeros':>9}")
        rows = []
        for r in regs:
            a, b = self.model("l2", r), self.model("l1", r)
            rows.append((r, a, b))
            print(f"{r:>8.0e} | {a['val_acc']:>10.0%} {a['n_zero']:>5}/{a['n_weights']:<3} | "
                  f"{b['val_acc']:>10.0%} {b['n_zero']:>5}/{b['n_weights']:<3}")
        return None

    def show(self):
        """The widget for a person; a static figure of the current state when headless."""
        shown = _show(self.widget, lambda: self.figure(pyplot=True))
        if shown is not None:
            self._redraw()
        return None


def toy_2d_demo(penalty: str = "l2", reg: float = 1e-3, **kwargs) -> Toy2DDemo:
    """Build the 2-D L1/L2 demo (call ``.show()`` to display it)."""
    return Toy2DDemo(penalty=penalty, reg=reg, **kwargs)
