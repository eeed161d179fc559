"""The optimizer playground: your own update rules, racing on 2-D surfaces.

    from course_utils.playground import Playground
    pg = Playground({"SGD": sgd, "Momentum": sgd_momentum, "Adam": adam})
    pg.show()

Every rule follows the course's interface ``next_w, config = rule(w, dw, config)``.
The playground calls it on a float64 tensor ``w`` of shape ``(2,)`` with the
closed-form gradient ``dw`` of the chosen surface (plus Gaussian noise of
standard deviation σ, to mimic minibatches), and hands the returned ``config``
back at the next step, exactly like a training loop. Every rule gets the same
hyperparameters from the sliders: ``learning_rate``, ``momentum``,
``decay_rate``, ``beta1``, ``beta2``, ``weight_decay`` (a rule reads the keys it
knows and ignores the others, so weight decay only affects ``adam`` (coupled L2)
and ``adamw`` (decoupled)).

A rule that still raises ``NotImplementedError`` is listed as "not implemented
yet"; a rule that raises anything else, returns something unexpected or
diverges is stopped with a one-line message. The others run on.

Everything is computed in plain Python and drawn into a PNG (an
``ipywidgets.Image``), so it can be driven without a browser:

    pg.controls["learning_rate"].value = 0.3
    pg.runs["SGD"].points       # (steps + 1, 2) numpy array of iterates
    pg.runs["SGD"].status       # "ok", "not implemented", "diverged", "error"
"""

from __future__ import annotations

import html
import io
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import torch

from .surfaces import SURFACES, Surface, get_surface

__all__ = ["Run", "run_rule", "Playground", "plot_runs", "STATUS_TEXT", "rule_kind", "reference_run", "RULE_KINDS"]

# Iterates beyond this size count as diverged (or, on a surface unbounded below, escaped).
BLOW_UP = 1e6

STATUS_TEXT = {
    "ok": "",
    "not implemented": "not implemented yet",
    "diverged": "diverged",
    "escaped": "escaped to −∞",
    "error": "error",
}


@dataclass
class Run:
    """The outcome of running one rule: iterates, losses and what happened."""

    name: str
    points: np.ndarray                  # (k + 1, 2): the start and every finite iterate
    losses: np.ndarray                  # (k + 1,): f at those points
    status: str = "ok"                  # one of STATUS_TEXT
    message: str = ""                   # one line for people, empty when ok
    config: dict | None = field(default=None, repr=False)
    trace: list = field(default_factory=list, repr=False)   # record(config) after every step, when asked

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def label(self) -> str:
        extra = STATUS_TEXT.get(self.status, self.status)
        return f"{self.name} ({extra})" if extra else self.name

    @property
    def final(self) -> tuple[float, float]:
        return tuple(self.points[-1])

    @property
    def final_loss(self) -> float:
        return float(self.losses[-1])


def _short(exc: BaseException, limit: int = 120) -> str:
    text = f"{type(exc).__name__}: {exc}".strip()
    text = text.splitlines()[0] if text else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def run_rule(rule: Callable, surface="quadratic", config: Mapping | None = None, steps: int = 100,
             start=None, noise: float = 0.0, seed: int = 0, name: str | None = None,
             noise_draws: np.ndarray | None = None, record: Callable | None = None) -> Run:
    """Run ``rule`` for ``steps`` steps on ``surface`` and record what happens.

    ``record(config)``, when given, is called after every step with the config
    the rule returned; what it returns is kept in ``Run.trace`` (e.g. the
    effective per-coordinate step of an adaptive rule).

    ``config`` is copied (the caller's dict is never changed) and handed back
    to the rule at every step. ``noise`` adds N(0, noise²) to each gradient
    coordinate, drawn from ``seed`` (or taken from ``noise_draws``, shape
    ``(steps, 2)`` standard normals), so every rule sees the same noise.
    Never raises for a rule's mistakes: they end up in ``status``/``message``.
    """
    s = get_surface(surface)
    if not callable(rule):
        raise TypeError(f"rule must be a function rule(w, dw, config) -> (next_w, config); got {type(rule).__name__}")
    steps = int(steps)
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    name = name or getattr(rule, "__name__", "rule")
    x, y = (float(v) for v in (start if start is not None else s.start))
    f, grad = s.value_xy, s.grad_xy
    cfg = dict(config or {})
    draws = None
    if noise:
        draws = noise_draws if noise_draws is not None else np.random.default_rng(seed).standard_normal((steps, 2))
        draws = np.asarray(draws, dtype=np.float64)[:steps] * float(noise)
        draws = draws.tolist()
    xs, ys, losses = [x], [y], [float(f(x, y))]
    trace: list = []
    status, message = "ok", ""
    w = torch.tensor([x, y], dtype=torch.float64)
    for k in range(steps):
        gx, gy = grad(x, y)
        if draws is not None:
            gx += draws[k][0]
            gy += draws[k][1]
        dw = torch.tensor([gx, gy], dtype=torch.float64)
        try:
            out = rule(w, dw, cfg)
        except NotImplementedError:
            status, message = "not implemented", f"{name}: not implemented yet (it raises NotImplementedError)"
            break
        except Exception as exc:  # a student's bug must not break the other rules
            status, message = "error", f"{name} raised {_short(exc)} at step {k + 1}"
            break
        if not (isinstance(out, tuple) and len(out) == 2):
            status, message = "error", f"{name} must return a pair (next_w, config); got {type(out).__name__} at step {k + 1}"
            break
        w, cfg = out
        if not isinstance(w, torch.Tensor) or w.numel() != 2:
            shape = tuple(w.shape) if isinstance(w, torch.Tensor) else type(w).__name__
            status, message = "error", f"{name} returned next_w = {shape}; expected a tensor shaped like w, (2,)"
            break
        if not isinstance(cfg, dict):
            status, message = "error", f"{name} returned config = {type(cfg).__name__}; return the config dict so state carries to the next step"
            break
        x, y = w.detach().reshape(-1).tolist()
        value = float(f(x, y)) if math.isfinite(x) and math.isfinite(y) else math.nan
        if not math.isfinite(value) or abs(x) > BLOW_UP or abs(y) > BLOW_UP:
            if s.minimum is None and math.isfinite(x) and math.isfinite(y):
                status, message = "escaped", f"{name} escaped to f → −∞ at step {k + 1} (this surface has no minimum)"
            else:
                status, message = "diverged", f"{name} diverged at step {k + 1} (learning rate too large, or a wrong sign in the update?)"
            break
        xs.append(x)
        ys.append(y)
        losses.append(value)
        if record is not None:
            trace.append(record(cfg))
    return Run(name, np.column_stack([xs, ys]), np.asarray(losses), status, message, cfg, trace)


def divergence_message(name: str, step: int, ref) -> str | None:
    """What to say when a student's rule diverged, given torch.optim's run (``ref``) at the same setting.

    torch.optim diverging too means the learning rate is too large; torch.optim converging means the rule
    is wrong (most often the sign of the update), not the learning rate. ``None``: nothing to add.
    """
    if ref.status in ("diverged", "escaped"):
        return f"{name} diverged at step {step} (the learning rate is too large: {ref.name} diverges here too)"
    if ref.status == "ok":
        return (f"{name}: your rule diverged at step {step}, but {ref.name} converges at this learning rate: "
                "check the sign of the update (it should move against dw)")
    return None


# --- which rule is which ------------------------------------------------------

#: The course's rule names and the kind of update each one is (theory and reference lookups).
RULE_KINDS = {"sgd": "gd", "sgd_momentum": "heavy_ball", "momentum": "heavy_ball", "nesterov_momentum": "nesterov",
              "nesterov": "nesterov", "adagrad": "adagrad", "rmsprop": "rmsprop", "adam": "adam", "adamw": "adamw"}
ADAPTIVE_KINDS = ("adagrad", "rmsprop", "adam", "adamw")
_REFERENCE_NAMES = {"gd": "sgd", "heavy_ball": "sgd_momentum", "nesterov": "nesterov_momentum", "adagrad": "adagrad",
                    "rmsprop": "rmsprop", "adam": "adam", "adamw": "adamw"}
_TORCH_CLASS = {"gd": "SGD", "heavy_ball": "SGD(momentum)", "nesterov": "SGD(nesterov=True)", "adagrad": "Adagrad",
                "rmsprop": "RMSprop", "adam": "Adam", "adamw": "AdamW"}


def rule_kind(name: str, rule: Callable | None = None) -> str | None:
    """The kind of a rule ("gd", "heavy_ball", "nesterov", "adagrad", ...), from its display name or function name."""
    for key in (name, getattr(rule, "__name__", None)):
        if key:
            k = re.sub(r"[^a-z]+", "_", str(key).lower()).strip("_")
            if k in RULE_KINDS:
                return RULE_KINDS[k]
            k = k.replace("_", "")
            for cand, kind in RULE_KINDS.items():
                if k == cand.replace("_", ""):
                    return kind
    return None


def reference_run(kind: str, surface, config: Mapping, steps: int, start, noise: float = 0.0,
                  noise_draws=None) -> Run:
    """The same run with torch.optim (the oracle) in place of the student's rule."""
    from .optim_adapter import _SPECS, torch_rule

    name = _REFERENCE_NAMES[kind]
    cfg = {k: v for k, v in config.items() if k in _SPECS[name][2]}
    if kind not in ("adam", "adamw"):
        cfg["weight_decay"] = 0.0   # the course's SGD/momentum/AdaGrad/RMSProp take no weight decay
    return run_rule(torch_rule(name), surface, cfg, steps, start, noise,
                    name=f"torch.optim.{_TORCH_CLASS[kind]}", noise_draws=noise_draws)


# --- drawing ------------------------------------------------------------------

_DIR_COLORS = ["#d62728", "#1f77b4", "#2ca02c"]   # eigendirections: slow (smallest h) first
_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]


def _levels(s: Surface, Z: np.ndarray):
    if s.levels:
        return list(s.levels)
    if s.min_value is None:
        return 21
    lo, hi = s.min_value, float(np.nanmax(Z))
    span = max(hi - lo, 1e-9)
    return (lo + np.geomspace(span * 1e-3, span, 16)).tolist()


def _draw_surface(ax, s: Surface, cache: dict):
    if s.name not in cache:
        X, Y, Z = s.grid(100)
        cache[s.name] = (X.numpy(), Y.numpy(), Z.numpy())
    X, Y, Z = cache[s.name]
    ax.contour(X, Y, Z, levels=_levels(s, Z), colors="0.6", linewidths=0.7, linestyles="solid")
    for m in s.local_minima:
        ax.plot(*m, marker="o", ms=5, mfc="none", mec="0.35", ls="none")
    if s.minimum is not None:
        ax.plot(*s.minimum, marker="*", ms=11, color="0.2", ls="none")
    ax.set_xlim(*s.xlim)
    ax.set_ylim(*s.ylim)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title(f"{s.title}: {s.formula}" if len(s.formula) < 40 else s.title, fontsize=10)


def _loss_curve(run: Run, s: Surface):
    steps = np.arange(len(run.losses))
    if s.min_value is None:
        return steps, run.losses
    return steps, np.maximum(run.losses - s.min_value, 1e-16)


def plot_runs(runs, surface="quadratic", fig=None, title: str | None = None, print_messages: bool = True):
    """Contours with every trajectory, and the loss against the step, for a list of ``Run``s."""
    import matplotlib.pyplot as plt

    s = get_surface(surface)
    if fig is None:
        fig = plt.figure(figsize=(10, 4))
    ax, lax = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.15, 1]})
    _draw_surface(ax, s, {})
    for i, run in enumerate(runs):
        color = _COLORS[i % len(_COLORS)]
        ax.plot(run.points[:, 0], run.points[:, 1], "-o", ms=2.2, lw=1.2, color=color, label=run.label)
        lax.plot(*_loss_curve(run, s), lw=1.4, color=color, label=run.label)
    lax.set_yscale("symlog" if s.min_value is None else "log")
    lax.set_xlabel("step")
    lax.set_ylabel("f(w)" if s.min_value is None else "f(w) − f*")
    lax.legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    for run in runs if print_messages else ():
        if run.message:
            print(run.message)
    return fig


# --- the widget ---------------------------------------------------------------

def _png(canvas) -> bytes:
    """The canvas's current pixels as PNG (fast zlib level: the image is redrawn on every change)."""
    from PIL import Image

    w, h = canvas.get_width_height(physical=True)
    buf = io.BytesIO()
    Image.frombuffer("RGBA", (w, h), canvas.buffer_rgba(), "raw", "RGBA", 0, 1).save(buf, format="png", compress_level=1)
    return buf.getvalue()


def _value(widget) -> float:
    """A slider's value to 12 significant digits: a browser's slider arithmetic (0.91 − 0.01 =
    0.9000000000000001) must not change the figure, which depends only on what the readout shows."""
    return float(f"{float(widget.value):.12g}")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "rule"


class Playground:
    """Sliders for the hyperparameters, your rules on the chosen surface, one figure, and the theory.

    ``rules`` maps a display name to an update rule. SGD, momentum and Nesterov
    take the slider "learning rate"; AdaGrad, RMSProp, Adam and AdamW take
    "adaptive learning rate" (their steps are already normalized, so one shared
    value would show one family at its worst); both start at the surface's tuned
    defaults. ``predictions`` may hold the student's ``max_stable_lr`` and
    ``momentum_rate``: the theory panel draws them next to the closed form and
    the measurement.

    Attributes for tests and notebooks: ``controls`` (name -> widget),
    ``toggles`` (rule name -> Checkbox), ``runs`` (rule name -> Run, for the
    enabled rules), ``trajectories``, ``lines``/``loss_lines``, ``image`` (the
    PNG), ``info`` (HTML text), ``theory`` (the theory panel's numbers, a dict,
    None off the quadratics), ``theory_image`` (its PNG, clickable rate map),
    ``widget`` (the whole thing).
    """

    def __init__(self, rules: Mapping[str, Callable], surface: str = "quadratic", steps: int = 100,
                 learning_rate: float | None = None, adaptive_learning_rate: float | None = None,
                 momentum: float = 0.9, decay_rate: float = 0.99, beta1: float = 0.9, beta2: float = 0.999,
                 weight_decay: float = 0.05, noise: float = 0.0, seed: int = 0, enabled=None, dpi: int = 100,
                 predictions: Mapping[str, Callable] | None = None, theory: bool = True):
        import ipywidgets as W
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        if not isinstance(rules, Mapping) or not rules:
            raise TypeError("Playground needs a dict of update rules, e.g. Playground({'SGD': sgd, 'Adam': adam})")
        for name, rule in rules.items():
            if not callable(rule):
                raise TypeError(f"rule {name!r} is {type(rule).__name__}, not a function rule(w, dw, config)")
        self.rules = dict(rules)
        self.kinds = {name: rule_kind(name, rule) for name, rule in self.rules.items()}
        self.predictions = dict(predictions or {})
        unknown_pred = set(self.predictions) - {"max_stable_lr", "momentum_rate"}
        if unknown_pred:
            raise KeyError(f"predictions may hold 'max_stable_lr' and 'momentum_rate', not {sorted(unknown_pred)}")
        self.seed = seed
        s = get_surface(surface)
        self._surface_cache: dict = {}
        self._rate_maps: dict = {}
        self._busy = False
        style = {"description_width": "initial"}
        lay = W.Layout(width="320px")

        def slider(cls, key, desc, value, css, **kw):
            w = cls(value=value, description=desc, continuous_update=False, style=style, layout=lay, **kw)
            w.add_class("playground-control")
            w.add_class(f"playground-{css}")
            self.controls[key] = w
            return w

        self.controls: dict = {}
        slider(W.FloatLogSlider, "learning_rate", "learning rate", learning_rate or s.default_lr,
               "learning-rate", base=10, min=-4, max=1, step=0.05, readout_format=".3g")
        slider(W.FloatLogSlider, "adaptive_learning_rate", "adaptive learning rate",
               adaptive_learning_rate or s.adaptive_lr, "adaptive-learning-rate", base=10, min=-4, max=1, step=0.05,
               readout_format=".3g")
        slider(W.FloatSlider, "momentum", "momentum ρ", momentum, "momentum", min=0.0, max=0.99, step=0.01)
        slider(W.FloatSlider, "decay_rate", "RMSProp decay", decay_rate, "decay-rate", min=0.5, max=0.999, step=0.001, readout_format=".3f")
        slider(W.FloatSlider, "beta1", "β1", beta1, "beta1", min=0.0, max=0.99, step=0.01)
        slider(W.FloatSlider, "beta2", "β2", beta2, "beta2", min=0.5, max=0.9999, step=0.0001, readout_format=".4f")
        slider(W.FloatSlider, "weight_decay", "weight decay", weight_decay, "weight-decay", min=0.0, max=1.0, step=0.01)
        slider(W.IntSlider, "steps", "steps", steps, "steps", min=1, max=500, step=1)
        slider(W.FloatSlider, "noise", "gradient noise σ", noise, "noise", min=0.0, max=5.0, step=0.05)
        slider(W.FloatSlider, "start_x", "start x", s.start[0], "start-x", min=s.xlim[0], max=s.xlim[1], step=0.01)
        slider(W.FloatSlider, "start_y", "start y", s.start[1], "start-y", min=s.ylim[0], max=s.ylim[1], step=0.001, readout_format=".3f")
        dd = W.Dropdown(options=[(v.title, k) for k, v in SURFACES.items()], value=s.name, description="surface", style=style, layout=lay)
        dd.add_class("playground-control")
        dd.add_class("playground-surface")
        self.controls["surface"] = dd
        theory_rules = [n for n in self.rules if self.kinds[n] in ("gd", "heavy_ball", "nesterov")]
        default_theory = next((n for n in theory_rules if self.kinds[n] == "heavy_ball"), theory_rules[0] if theory_rules else None)
        td = W.Dropdown(options=theory_rules or ["(none)"], value=default_theory or "(none)", description="theory for",
                        style=style, layout=lay)
        td.add_class("playground-control")
        td.add_class("playground-theory-rule")
        self.controls["theory_rule"] = td
        av = W.Checkbox(value=False, description="adaptive view: effective steps and Adam's (β1, β2) map", indent=False,
                        layout=W.Layout(width="auto"))
        av.add_class("playground-control")
        av.add_class("playground-adaptive-view")
        self.controls["adaptive_view"] = av
        best = W.Button(description="use best η*, ρ*", tooltip="set the learning rate and momentum to the optimal heavy-ball pair for this quadratic")
        best.add_class("playground-best-momentum")
        self.controls["best_momentum"] = best
        reset = W.Button(description="reset start", tooltip="move the start point back to this surface's default")
        reset.add_class("playground-reset-start")
        self.controls["reset_start"] = reset

        if enabled is None:
            # a readable default: at most three rules (SGD, momentum and Adam when they are there)
            preferred = [n for n in self.rules if self.kinds[n] in ("gd", "heavy_ball", "adam")]
            enabled = (preferred + [n for n in self.rules if n not in preferred])[:3]
        enabled = set(enabled)
        unknown = enabled - set(self.rules)
        if unknown:
            raise KeyError(f"enabled names {sorted(unknown)} are not among the rules {list(self.rules)}")
        self.toggles = {}
        for name in self.rules:
            cb = W.Checkbox(value=name in enabled, description=name, indent=False, layout=W.Layout(width="auto"))
            cb.add_class("playground-optimizer")
            cb.add_class(f"playground-optimizer-{_slug(name)}")
            self.toggles[name] = cb

        self.info = W.HTML()
        self.info.add_class("playground-info")
        self.image = W.Image(format="png")
        self.image.add_class("playground-figure")
        self.theory_image = W.Image(format="png")
        self.theory_image.add_class("playground-theory")
        self.adaptive_image = W.Image(format="png", layout=W.Layout(display="none"))
        self.adaptive_image.add_class("playground-adaptive")
        self.click_events = None
        try:  # clicks on the rate map set the sliders (ipyevents; without it the map is only a picture)
            from ipyevents import Event

            self.click_events = Event(source=self.theory_image, watched_events=["click"])
            self.click_events.on_dom_event(self._on_theory_click)
        except ImportError:
            pass

        self.figure = Figure(figsize=(12, 4.6), dpi=dpi)
        FigureCanvasAgg(self.figure)
        self.ax, self.loss_ax = self.figure.subplots(1, 2, gridspec_kw={"width_ratios": [1.15, 1]})
        self.theory_figure = Figure(figsize=(12, 4.2), dpi=dpi)
        FigureCanvasAgg(self.theory_figure)
        self.dir_ax, self.map_ax = self.theory_figure.subplots(1, 2, gridspec_kw={"width_ratios": [1.15, 1]})
        self.show_theory = bool(theory)
        self.adaptive_figure = Figure(figsize=(12, 4.0), dpi=dpi)
        FigureCanvasAgg(self.adaptive_figure)
        self.step_ax, self.beta_ax = self.adaptive_figure.subplots(1, 2, gridspec_kw={"width_ratios": [1.15, 1]})
        self._beta_maps: dict = {}
        self.adaptive: dict | None = None
        self.lines: dict = {}
        self.loss_lines: dict = {}
        self.runs: dict[str, Run] = {}
        self.theory: dict | None = None
        self.renders = 0
        self._drawn_surface = None
        self._background = None
        self._background_key = None
        self._theory_background = None
        self._theory_key = None
        self._theory_sig = None

        for key, w in self.controls.items():
            if key == "surface":
                w.observe(self._on_surface, names="value")
            elif isinstance(w, W.Button):
                continue
            else:
                w.observe(self._on_change, names="value")
        best.on_click(self._on_best)
        reset.on_click(self._on_reset)
        for cb in self.toggles.values():
            cb.observe(self._on_change, names="value")

        c = self.controls
        hyper = W.VBox([c["learning_rate"], c["adaptive_learning_rate"], c["momentum"], c["decay_rate"], c["beta1"],
                        c["beta2"], c["weight_decay"]])
        run_box = W.VBox([c["surface"], c["steps"], c["noise"], c["start_x"], c["start_y"], c["theory_rule"],
                          W.HBox([best, reset])])
        self.widget = W.VBox([
            W.HBox([hyper, run_box]),
            W.HBox(list(self.toggles.values()) + [av], layout=W.Layout(flex_flow="row wrap")),
            self.image,
            self.theory_image,
            self.adaptive_image,
            self.info,
        ])
        self.widget.add_class("playground")
        self.update()

    # --- state ----------------------------------------------------------------
    @property
    def surface(self) -> Surface:
        return get_surface(self.controls["surface"].value)

    @property
    def config(self) -> dict:
        """The hyperparameters the SGD family receives (a fresh dict per rule and recompute)."""
        c = self.controls
        return {k: _value(c[k]) for k in ("learning_rate", "momentum", "decay_rate", "beta1", "beta2", "weight_decay")}

    def config_for(self, name: str) -> dict:
        """The hyperparameters rule ``name`` receives: adaptive rules get the adaptive learning rate."""
        cfg = self.config
        if self.kinds.get(name) in ADAPTIVE_KINDS:
            cfg["learning_rate"] = _value(self.controls["adaptive_learning_rate"])
        return cfg

    @property
    def enabled(self) -> list[str]:
        return [n for n, cb in self.toggles.items() if cb.value]

    @property
    def trajectories(self) -> dict:
        return {n: r.points for n, r in self.runs.items()}

    @property
    def losses(self) -> dict:
        return {n: r.losses for n, r in self.runs.items()}

    # --- callbacks ------------------------------------------------------------
    def _on_change(self, _change=None):
        if not self._busy:
            self.update()

    def _on_surface(self, change):
        s = get_surface(change["new"])
        c = self.controls
        self._busy = True
        try:
            # widen first, so the new default start always fits in the sliders
            for key, (lo, hi), v in (("start_x", s.xlim, s.start[0]), ("start_y", s.ylim, s.start[1])):
                c[key].min, c[key].max = min(lo, c[key].min), max(hi, c[key].max)
                c[key].value = v
                c[key].min, c[key].max = lo, hi
            c["learning_rate"].value = s.default_lr
            c["adaptive_learning_rate"].value = s.adaptive_lr
        finally:
            self._busy = False
        self.update()

    def set_learning_rate_and_momentum(self, lr: float, momentum: float):
        """Set both sliders at once (one recompute), clipped to the sliders' ranges."""
        c = self.controls
        self._busy = True
        try:
            c["learning_rate"].value = float(min(max(lr, 10.0 ** c["learning_rate"].min), 10.0 ** c["learning_rate"].max))
            c["momentum"].value = round(float(min(max(momentum, c["momentum"].min), c["momentum"].max)), 2)
        finally:
            self._busy = False
        self.update()

    def _on_best(self, _button=None):
        best = self.surface.best_heavy_ball()
        if best is not None:
            self.set_learning_rate_and_momentum(*best)

    def _on_reset(self, _button=None):
        s = self.surface
        self._busy = True
        try:
            self.controls["start_x"].value, self.controls["start_y"].value = s.start
        finally:
            self._busy = False
        self.update()

    def rate_map_point(self, px: float, py: float):
        """(η, ρ) under the pixel (px, py) of the theory image (origin top left), or None off the rate map."""
        if self.theory is None:
            return None
        height = self.theory_figure.bbox.height
        disp = (px, height - py)
        if not self.map_ax.bbox.contains(*disp):
            return None
        lr, rho = self.map_ax.transData.inverted().transform(disp)
        return float(lr), float(rho)

    def click_rate_map(self, lr: float, momentum: float):
        """What a click on the rate map at (η, ρ) does: set both sliders."""
        self.set_learning_rate_and_momentum(max(lr, 1e-4), max(momentum, 0.0))

    def _on_theory_click(self, event: dict):
        # ipyevents reports dataX/dataY in the image's own pixels, whatever size it is shown at
        x, y = event.get("dataX"), event.get("dataY")
        if x is None or y is None:
            return
        point = self.rate_map_point(float(x), float(y))
        if point is not None:
            self.click_rate_map(*point)

    # --- compute and draw -------------------------------------------------------
    def recompute(self) -> dict:
        c = self.controls
        steps = int(c["steps"].value)
        sigma = _value(c["noise"])
        draws = np.random.default_rng(self.seed).standard_normal((steps, 2)) if sigma else None
        start = (_value(c["start_x"]), _value(c["start_y"]))
        adaptive = bool(c["adaptive_view"].value)
        self.runs = {
            name: run_rule(self.rules[name], self.surface, self.config_for(name), steps, start, sigma, name=name,
                           noise_draws=draws, record=self._recorder(name) if adaptive else None)
            for name in self.enabled
        }
        for name, run in self.runs.items():
            if run.status == "diverged" and self.kinds.get(name):
                self._explain_divergence(name, run, steps, start, sigma, draws)
        self.theory = self._compute_theory(steps, start, sigma, draws) if self.show_theory else None
        self.adaptive = self._compute_adaptive(steps, start, draws) if adaptive else None
        return self.runs

    def _recorder(self, name):
        from . import theory as T

        kind = self.kinds.get(name)
        if kind not in ADAPTIVE_KINDS:
            return None

        def record(cfg):
            try:
                return T.effective_step(kind, cfg)
            except Exception:  # a half-written rule's state must not break the playground
                return None

        return record

    BETA1S = np.linspace(0.0, 0.99, 12)
    BETA2S = 1.0 - np.geomspace(0.5, 1e-4, 12)

    def beta_map(self, adam_name: str, steps: int, start, draws=None):
        """(codes, how) of the student's Adam over the (β1, β2) grid, cached per surface and settings."""
        from . import theory as T

        cfg = self.config_for(adam_name)
        cfg.pop("beta1", None)
        cfg.pop("beta2", None)
        key = (self.surface.name, adam_name, id(self.rules[adam_name]), steps, tuple(start),
               tuple(sorted(cfg.items())), None if draws is None else _value(self.controls["noise"]))
        if key not in self._beta_maps:
            self._beta_maps[key] = T.adam_regime_map(self.rules[adam_name], self.surface, cfg, steps, start,
                                                     self.BETA1S, self.BETA2S, draws)
        return self._beta_maps[key]

    def _compute_adaptive(self, steps, start, draws) -> dict:
        """Effective per-coordinate steps of the enabled adaptive rules, and Adam's (β1, β2) regime map."""
        steps_of = {n: np.array([t for t in r.trace if t is not None]) for n, r in self.runs.items()
                    if self.kinds.get(n) in ADAPTIVE_KINDS and r.trace and any(t is not None for t in r.trace)}
        adam_name = next((n for n in self.rules if self.kinds[n] == "adam"), None)
        codes, how, note = None, "", ""
        if adam_name is not None:
            probe = run_rule(self.rules[adam_name], self.surface, self.config_for(adam_name), 1, start)
            if probe.status == "not implemented":
                note = f"{adam_name} is not implemented yet: no (β1, β2) map"
            else:
                codes, how = self.beta_map(adam_name, steps, start, draws)
        return {"effective_steps": steps_of, "beta_codes": codes, "beta_how": how, "adam": adam_name, "note": note}

    def _explain_divergence(self, name, run, steps, start, sigma, draws):
        """Blame the rule, not the learning rate, when torch.optim converges where the rule blew up."""
        kind = self.kinds[name]
        ref = reference_run(kind, self.surface, self.config_for(name), steps, start, sigma, draws)
        run.message = divergence_message(name, len(run.points), ref) or run.message

    def _student_prediction(self, key, *args):
        fn = self.predictions.get(key)
        if fn is None:
            return None, ""
        try:
            value = fn(*args)
            if isinstance(value, torch.Tensor):
                if value.numel() != 1:
                    return None, f"your {key} returned a tensor of shape {tuple(value.shape)}, not one number"
                value = value.item()
            value = float(value)
        except NotImplementedError:
            return None, f"your {key} is not implemented yet"
        except Exception as exc:  # the student's prediction must not break the playground
            return None, f"your {key} raised {_short(exc)}"
        return value, ""

    def _compute_theory(self, steps, start, sigma, draws) -> dict | None:
        """Per-eigendirection errors of the theory rule, predicted vs measured, for the quadratic surfaces."""
        from . import theory as T

        s = self.surface
        name = self.controls["theory_rule"].value
        if not s.quadratic or name not in self.rules:
            return None
        kind = self.kinds[name]
        H = s.hessian_at_minimum()
        hs, Q = T.eigendirections(H.numpy())
        cfg = self.config_for(name)
        lr, rho = cfg["learning_rate"], (cfg["momentum"] if kind != "gd" else 0.0)
        run = self.runs.get(name) or run_rule(self.rules[name], s, cfg, steps, start, sigma, name=name, noise_draws=draws)
        errors = T.direction_errors(run.points, s.minimum, Q)
        method = {"gd": "gd", "heavy_ball": "heavy_ball", "nesterov": "nesterov"}[kind]
        predicted = np.array([float(T.quadratic_rate(lr, rho, [h], method)) for h in hs])
        measured = np.array([T.measured_rate(errors[:, i]) for i in range(len(hs))])
        dominant = int(np.argmax(predicted))
        usable = np.isfinite(measured)
        departs = bool(run.status in ("ok", "diverged") and not sigma and usable.any()
                       and np.any(np.abs(measured[usable] - predicted[usable]) > T.DEPART_TOL))
        limit_pred, limit_msg = self._student_prediction("max_stable_lr", H.clone(), rho)
        rate_pred, rate_msg = (self._student_prediction("momentum_rate", lr, rho, H.clone())
                               if kind in ("gd", "heavy_ball") else (None, ""))
        return {
            "rule": name, "kind": kind, "run": run, "learning_rate": lr, "momentum": rho,
            "eigenvalues": hs, "eigenvectors": Q, "errors": errors, "predicted": predicted, "measured": measured,
            "rate": float(predicted.max()), "measured_rate": float(np.nanmax(measured)) if usable.any() else float("nan"),
            "dominant": dominant, "departs": departs, "noise": sigma,
            "your_max_stable_lr": limit_pred, "your_momentum_rate": rate_pred,
            "prediction_notes": [m for m in (limit_msg, rate_msg) if m],
        }

    def update(self):
        """Recompute every enabled rule and redraw the figure (what a slider change does)."""
        self.recompute()
        self.redraw()

    def _setup_axes(self):
        s = self.surface
        self.ax.clear()
        self.loss_ax.clear()
        _draw_surface(self.ax, s, self._surface_cache)
        if s.quadratic:
            # the Hessian's eigendirections through the minimum: the axes of the theory panel
            hs, Q = np.linalg.eigh(self.surface.hessian_at_minimum().numpy())
            span = 0.9 * min(s.xlim[1] - s.xlim[0], s.ylim[1] - s.ylim[0]) / 2
            for i, (h, color) in enumerate(zip(hs, _DIR_COLORS)):
                dx, dy = Q[:, i] * span
                mx, my = s.minimum
                self.ax.plot([mx - dx, mx + dx], [my - dy, my + dy], ls=":", lw=1.4, color=color)
                self.ax.annotate(f"h = {h:.3g}", (mx + dx, my + dy), fontsize=9, color=color,
                                 xytext=(2, 2), textcoords="offset points")
        self.lines, self.loss_lines = {}, {}
        for i, name in enumerate(self.rules):
            color = _COLORS[i % len(_COLORS)]
            (self.lines[name],) = self.ax.plot([], [], "-o", ms=2.5, lw=1.5, color=color, animated=True)
            (self.loss_lines[name],) = self.loss_ax.plot([], [], lw=1.8, color=color, animated=True)
        (self._start_marker,) = self.ax.plot([], [], "s", ms=6, color="k")
        self.loss_ax.set_yscale("symlog" if s.min_value is None else "log")
        self.loss_ax.set_xlabel("step")
        self.loss_ax.set_ylabel("f(w)" if s.min_value is None else "f(w) − f*")
        self.loss_ax.grid(True, alpha=0.3)
        # the legend goes below the plots, across the figure: long labels are never cut
        self.figure.subplots_adjust(left=0.06, right=0.985, bottom=0.2, top=0.93, wspace=0.18)
        self._drawn_surface = s.name

    def _loss_limits(self, start):
        """Fixed y-limits of the loss plot for a start point, so the background can be reused."""
        s = self.surface
        f0 = s.f(*start)
        if s.min_value is None:
            return -1e12, max(abs(f0), 1.0) * 10
        return 1e-12, max(f0 - s.min_value, 1e-6) * 30

    def _draw_background(self, key, handles):
        """Everything but the trajectories (contours, axes, start marker, legend), drawn once per key."""
        start, steps = key[1], key[2]
        self._start_marker.set_data([start[0]], [start[1]])
        self.loss_ax.set_xlim(0, max(steps, 1))
        self.loss_ax.set_ylim(*self._loss_limits(start))
        for legend in list(self.figure.legends):
            legend.remove()
        if handles:
            self.figure.legend(handles=handles, loc="lower center", ncol=min(len(handles), 4), fontsize=10,
                               frameon=False, bbox_to_anchor=(0.5, 0.0))
        canvas = self.figure.canvas
        canvas.draw()
        self._background = canvas.copy_from_bbox(self.figure.bbox)
        self._background_key = key

    def _draw_state(self):
        """Set the trajectory artists from ``self.runs`` and draw them over the cached background."""
        s = self.surface
        if self._drawn_surface != s.name:
            self._setup_axes()
            self._background_key = None
        c = self.controls
        start = (_value(c["start_x"]), _value(c["start_y"]))
        steps = int(c["steps"].value)
        every = max(1, steps // 60)
        handles, labels = [], []
        for name in self.rules:
            line, lline = self.lines[name], self.loss_lines[name]
            run = self.runs.get(name)
            if run is None:
                for art in (line, lline):
                    art.set_data([], [])
                    art.set_visible(False)
                continue
            line.set_visible(True)
            lline.set_visible(True)
            if run.status == "not implemented":
                line.set_data([], [])
                lline.set_data([], [])
            else:
                line.set_data(run.points[:, 0], run.points[:, 1])
                line.set_markevery(every)
                steps_, gap = _loss_curve(run, s)
                if s.min_value is not None:   # clip at the axis floor: round-off must not change the figure
                    gap = np.maximum(gap, self._loss_limits(start)[0])
                lline.set_data(steps_, gap)
            label = run.label
            lline.set_label(label)
            lline.set_linestyle("-" if run.ok else "--")
            handles.append(lline)
            labels.append(label)
        key = (s.name, start, steps, tuple(labels))
        if key != self._background_key:
            self._draw_background(key, handles)
        else:
            self.figure.canvas.restore_region(self._background)
        for name in self.runs:
            self.ax.draw_artist(self.lines[name])
            self.loss_ax.draw_artist(self.loss_lines[name])

    # --- the theory panel -------------------------------------------------------
    def rate_map(self, method: str = "heavy_ball"):
        """(lrs, momenta, R) for the current quadratic, cached per surface and method."""
        from . import theory as T

        s = self.surface
        key = (s.name, method)
        if key not in self._rate_maps:
            hs = s.hessian_eigenvalues()
            self._rate_maps[key] = T.rate_map(hs, lr_max=1.15 * (2.0 + 2.0 * 0.99) / hs[1], method=method)
        return self._rate_maps[key]

    def _setup_theory(self, key):
        """Static parts of the theory panel: the rate map, its curves and the axes (drawn once per key)."""
        from . import theory as T

        th = self.theory
        fig = self.theory_figure
        self.dir_ax.clear()
        self.map_ax.clear()
        s = self.surface
        hs = th["eigenvalues"]
        method = "nesterov" if th["kind"] == "nesterov" else "heavy_ball"
        lrs, momenta, R = self.rate_map(method)
        import matplotlib

        cmap = matplotlib.colormaps["viridis"].with_extremes(over="0.85")
        self.map_ax.imshow(R, origin="lower", aspect="auto", extent=(lrs[0], lrs[-1], momenta[0], momenta[-1]),
                           cmap=cmap, vmin=float(np.nanmin(R)), vmax=1.0, interpolation="nearest")
        rho_line = np.linspace(0, momenta[-1], 50)
        self.map_ax.plot((2 + 2 * rho_line) / hs[-1], rho_line, color="k", lw=1.6, ls="--", label="stable iff η < (2 + 2ρ)/h_max")
        lr_line = np.linspace(1e-9, lrs[-1], 300)
        for h, color in zip(hs, _DIR_COLORS):
            crit = T.critical_momentum(lr_line, h)
            ok = (lr_line * h <= 1.0) & (crit <= momenta[-1])
            self.map_ax.plot(lr_line[ok], crit[ok], color=color, lw=1.3, label=f"critical damping, h = {h:.3g}")
        a, r, rate = T.polyak_optimum(hs[0], hs[-1])
        self.map_ax.plot([a], [r], marker="*", ms=13, color="w", mec="k", ls="none", label=f"optimum (η*, ρ*), rate {rate:.3f}")
        self.map_ax.set_xlim(lrs[0], lrs[-1])
        self.map_ax.set_ylim(momenta[0], momenta[-1])
        self.map_ax.set_xlabel("learning rate η   (click to set η and ρ)")
        self.map_ax.set_ylabel("momentum ρ")
        self.map_ax.legend(fontsize=9, loc="upper right", framealpha=0.85)
        steps = key[2]
        e0 = max(float(np.max(th["errors"][0])), 1e-12)
        self.dir_ax.set_yscale("log")
        self.dir_ax.set_xlim(0, max(steps, 1))
        self.dir_ax.set_ylim(1e-8 * e0, 100 * e0)
        self.dir_ax.set_xlabel("step")
        self.dir_ax.set_ylabel("|error along eigendirection|")
        self.dir_ax.grid(True, alpha=0.3)
        self._dir_measured, self._dir_predicted = [], []
        from matplotlib.lines import Line2D

        proxies = []
        for i, (h, color) in enumerate(zip(hs, _DIR_COLORS)):
            (m,) = self.dir_ax.plot([], [], lw=1.8, color=color, animated=True)
            (p,) = self.dir_ax.plot([], [], lw=1.4, ls="--", color=color, animated=True)
            self._dir_measured.append(m)
            self._dir_predicted.append(p)
            proxies.append(Line2D([], [], color=color, lw=1.8, label=f"h = {h:.3g}: measured (solid), predicted (dashed)"))
        (self._your_rate_line,) = self.dir_ax.plot([], [], lw=1.4, ls=":", color="k", animated=True)
        proxies.append(Line2D([], [], color="k", lw=1.4, ls=":", label="your momentum_rate"))
        self.dir_ax.legend(handles=proxies, fontsize=9, loc="lower left", framealpha=0.85)
        (self._map_point,) = self.map_ax.plot([], [], marker="o", ms=9, mfc="r", mec="w", mew=1.5, ls="none", animated=True)
        (self._map_your_limit,) = self.map_ax.plot([], [], marker="|", ms=18, mew=2.5, color="r", ls="none", animated=True)
        self._dir_title = self.dir_ax.text(0.0, 1.02, "", transform=self.dir_ax.transAxes, fontsize=10, animated=True)
        self._map_title = self.map_ax.text(0.0, 1.02, "", transform=self.map_ax.transAxes, fontsize=10, animated=True)
        fig.subplots_adjust(left=0.06, right=0.985, bottom=0.13, top=0.9, wspace=0.18)
        fig.canvas.draw()
        self._theory_background = fig.canvas.copy_from_bbox(fig.bbox)
        self._theory_key = key

    def _draw_theory(self):
        th = self.theory
        if th is None:
            return
        c = self.controls
        start = (_value(c["start_x"]), _value(c["start_y"]))
        key = (self.surface.name, start, int(c["steps"].value), th["rule"], th["kind"])
        if key != self._theory_key:
            self._setup_theory(key)
        else:
            self.theory_figure.canvas.restore_region(self._theory_background)
        errors = th["errors"]
        t = np.arange(len(errors))
        steps = int(c["steps"].value)
        tt = np.arange(steps + 1)
        # clip at the axis floor: below it only round-off is left, and a figure must not depend on round-off
        floor, top = self.dir_ax.get_ylim()
        for i in range(len(th["eigenvalues"])):
            self._dir_measured[i].set_data(t, np.clip(errors[:, i], floor, 10 * top))
            r = th["predicted"][i]
            with np.errstate(over="ignore", under="ignore"):
                self._dir_predicted[i].set_data(tt, np.clip(max(errors[0, i], floor) * r ** tt, floor, 10 * top))
        yours = th["your_momentum_rate"]
        if yours is not None and np.isfinite(yours) and yours >= 0:
            with np.errstate(over="ignore", under="ignore"):
                self._your_rate_line.set_data(tt, np.clip(float(np.max(errors[0])) * yours ** tt, floor, 10 * top))
        else:
            self._your_rate_line.set_data([], [])
        lr, rho = th["learning_rate"], th["momentum"]
        self._map_point.set_data([lr], [rho])
        lim = th["your_max_stable_lr"]
        self._map_your_limit.set_data(([lim], [rho]) if lim is not None and np.isfinite(lim) else ([], []))
        d = th["dominant"]
        verdict = "  DEPARTS from the prediction" if th["departs"] else ""
        self._dir_title.set_text(f"{th['rule']}: slowest direction h = {th['eigenvalues'][d]:.3g}{verdict}")
        self._dir_title.set_color("#c00000" if th["departs"] else "k")
        seen = f"{th['measured_rate']:.3f}" if np.isfinite(th["measured_rate"]) else "— (" + (th["run"].label or "no run") + ")"
        self._map_title.set_text(f"rate: predicted {th['rate']:.3f}, measured from {th['rule']} {seen}")
        for art in (*self._dir_measured, *self._dir_predicted, self._your_rate_line, self._dir_title):
            self.dir_ax.draw_artist(art)
        for art in (self._map_point, self._map_your_limit, self._map_title):
            self.map_ax.draw_artist(art)

    def _draw_adaptive(self):
        import matplotlib
        from matplotlib.colors import ListedColormap
        from matplotlib.patches import Patch

        from . import theory as T

        ad = self.adaptive
        fig = self.adaptive_figure
        self.step_ax.clear()
        self.beta_ax.clear()
        for i, name in enumerate(self.rules):
            eff = ad["effective_steps"].get(name)
            if eff is None or eff.ndim != 2 or eff.shape[1] < 2:
                continue
            color = _COLORS[i % len(_COLORS)]
            t = np.arange(1, len(eff) + 1)
            self.step_ax.plot(t, eff[:, 0], color=color, lw=1.8, label=f"{name}: x")
            self.step_ax.plot(t, eff[:, 1], color=color, lw=1.4, ls="--", label=f"{name}: y")
        self.step_ax.set_yscale("log")
        self.step_ax.set_xlabel("step")
        self.step_ax.set_ylabel("effective step η/(√v̂ + ε)")
        self.step_ax.grid(True, alpha=0.3)
        if self.step_ax.lines:
            self.step_ax.legend(fontsize=8, ncol=2, loc="best")
        else:
            self.step_ax.text(0.5, 0.5, "tick AdaGrad, RMSProp, Adam or AdamW\n(written) to see their effective steps",
                              ha="center", va="center", transform=self.step_ax.transAxes, fontsize=10)
        sigma = _value(self.controls["noise"])
        self.step_ax.set_title("per-coordinate step of your adaptive rules" + (f" (noise σ = {sigma:g})" if sigma else ""),
                               fontsize=10)
        codes = ad["beta_codes"]
        if codes is not None:
            cmap = ListedColormap(["#2ca02c", "#ffbf00", "#d62728"])
            x_edges = np.concatenate([[-0.045], (self.BETA1S[1:] + self.BETA1S[:-1]) / 2, [1.035]])
            gaps = 1.0 - self.BETA2S
            y_mid = np.sqrt(gaps[1:] * gaps[:-1])
            y_edges = np.concatenate([[gaps[0] * 1.4], y_mid, [gaps[-1] / 1.4]])
            self.beta_ax.pcolormesh(x_edges, y_edges, codes, cmap=cmap, vmin=-0.5, vmax=2.5, shading="flat")
            self.beta_ax.set_yscale("log")
            self.beta_ax.invert_yaxis()
            b1, b2 = _value(self.controls["beta1"]), _value(self.controls["beta2"])
            self.beta_ax.plot([b1], [max(1.0 - b2, 1e-5)], marker="o", ms=9, mfc="w", mec="k", ls="none")
            self.beta_ax.set_xlabel("β1")
            self.beta_ax.set_ylabel("1 − β2 (log scale)")
            self.beta_ax.legend(handles=[Patch(color=c, label=r) for c, r in zip(cmap.colors, T.REGIMES)],
                                fontsize=8, loc="lower left", framealpha=0.85)
            self.beta_ax.set_title(f"your {ad['adam']} on this surface after {int(self.controls['steps'].value)} steps",
                                   fontsize=10)
        else:
            self.beta_ax.set_axis_off()
            self.beta_ax.text(0.5, 0.5, ad["note"] or "no Adam rule in this playground", ha="center", va="center",
                              transform=self.beta_ax.transAxes, fontsize=10)
        fig.subplots_adjust(left=0.06, right=0.985, bottom=0.14, top=0.9, wspace=0.18)
        fig.canvas.draw()

    def redraw(self):
        """Redraw the trajectories (and the theory panel) over cached backgrounds and publish the PNGs."""
        self._draw_state()
        self.image.value = _png(self.figure.canvas)
        if self.theory is not None:
            # sliders that do not touch the theory rule (β1, β2, decay, other rules) keep its PNG
            th, c = self.theory, self.controls
            sig = (self.surface.name, th["rule"], th["learning_rate"], th["momentum"], _value(c["steps"]),
                   _value(c["start_x"]), _value(c["start_y"]), th["noise"], th["run"].status,
                   th["your_max_stable_lr"], th["your_momentum_rate"])
            if sig != self._theory_sig:
                self._draw_theory()
                self.theory_image.value = _png(self.theory_figure.canvas)
                self._theory_sig = sig
            self.theory_image.layout.display = None
        else:
            self.theory_image.layout.display = "none"
        if self.adaptive is not None:
            self._draw_adaptive()
            self.adaptive_image.value = _png(self.adaptive_figure.canvas)
            self.adaptive_image.layout.display = None
        else:
            self.adaptive_image.layout.display = "none"
        self.info.value = self.info_html()
        self.renders += 1

    def theory_text(self) -> list[str]:
        """The theory panel in words: dominant direction, predicted and measured rates, the verdict."""
        from . import theory as T

        th = self.theory
        if th is None:
            return []
        hs, Q, d = th["eigenvalues"], th["eigenvectors"], th["dominant"]
        vec = ", ".join(f"{v:.2f}" for v in Q[:, d])
        if th["run"].status in ("not implemented", "error"):
            seen = f"nothing measured yet ({th['run'].label})"
        else:
            seen = f"measured {th['measured_rate']:.4f} from your rule"
        lines = [
            f"Theory for {th['rule']} (η = {th['learning_rate']:.3g}, ρ = {th['momentum']:.2f}): the slowest direction is "
            f"h = {hs[d]:.3g}, eigenvector ({vec}); predicted rate {th['rate']:.4f} per step, {seen}."
        ]
        per = "; ".join(f"h = {h:.3g}: predicted {p:.4f}, measured {m:.4f}"
                        for h, p, m in zip(hs, th["predicted"], th["measured"]))
        lines.append(f"Per direction: {per}.")
        if th["noise"]:
            lines.append("Gradient noise is on: the rates only hold until the error reaches the noise floor.")
        elif th["departs"]:
            run = th["run"]
            how = "diverged" if run.status == "diverged" else "departs from the prediction"
            lines.append(f"Your {th['rule']} {how} (its measured rate is off by more than {T.DEPART_TOL:g} in some direction): "
                         "theory and torch.optim agree here, so check your rule (the sign of the update, the velocity kept in config).")
        y_lim, y_rate = th["your_max_stable_lr"], th["your_momentum_rate"]
        if y_lim is not None or y_rate is not None:
            parts = []
            if y_lim is not None:
                parts.append(f"your max_stable_lr = {y_lim:.4g} (closed form {T.max_stable_lr(hs, th['momentum']):.4g})")
            if y_rate is not None:
                parts.append(f"your momentum_rate = {y_rate:.4g} (closed form {th['rate']:.4g})")
            lines.append("Your predictions: " + "; ".join(parts) + ".")
        lines += th["prediction_notes"]
        return lines

    def info_text(self) -> str:
        """What the info box says, as plain text (stability limit, best momentum, theory, rule messages)."""
        s = self.surface
        lr = _value(self.controls["learning_rate"])
        rho = _value(self.controls["momentum"])
        lines = [f"{s.title}: f(x, y) = {s.formula}."]
        eig = s.hessian_eigenvalues()
        if eig is not None:
            where = "" if s.quadratic else " (Hessian at the minimum: only valid near it)"
            limit, limit_m = s.stability_limit(), s.stability_limit(rho)
            a, r = s.best_heavy_ball()
            lines.append(
                f"Hessian eigenvalues h_min = {eig[0]:.3g}, h_max = {eig[1]:.3g}, κ = {eig[1] / eig[0]:.3g}{where}. "
                f"Stability limit: SGD needs η < 2/h_max = {limit:.3g}; momentum ρ = {rho:.2f} needs η < (2+2ρ)/h_max = {limit_m:.3g}."
            )
            lines.append(
                f"Best constant η for SGD: 2/(h_min+h_max) = {s.best_gd_lr():.3g}. "
                f"Best momentum setting (heavy ball): η* = {a:.3g}, ρ* = {r:.3g}."
            )
            if lr >= limit:
                lines.append(f"Your η = {lr:.3g} is above 2/h_max = {limit:.3g}: plain SGD diverges here.")
        elif s.note:
            lines.append(s.note)
        lines += self.theory_text()
        for run in self.runs.values():
            if run.message:
                lines.append(run.message)
        return "\n".join(lines)

    def info_html(self) -> str:
        return "<br>".join(html.escape(line) for line in self.info_text().splitlines())

    # --- display ----------------------------------------------------------------
    def static_figure(self):
        """A pyplot figure of the current state (what headless runs show instead of the widget)."""
        import matplotlib.pyplot as plt

        runs = list(self.runs.values())
        fig = plot_runs(runs, self.surface, fig=plt.figure(figsize=(10, 4)), print_messages=False)
        fig.text(0.01, 0.01, "static preview: open the notebook in JupyterLab to move the sliders", fontsize=8, color="0.4")
        print(self.info_text())
        return fig

    def show(self) -> None:
        """Display the widget, or a static figure of its initial state when headless.

        Returns None, so ``pg.show()`` as the last line of a cell displays it once.
        """
        from .widgets import show

        show(self.widget, self.static_figure)

    def _ipython_display_(self):
        self.show()
