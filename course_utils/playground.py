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

__all__ = ["Run", "run_rule", "Playground", "plot_runs", "STATUS_TEXT"]

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
             noise_draws: np.ndarray | None = None) -> Run:
    """Run ``rule`` for ``steps`` steps on ``surface`` and record what happens.

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
                status, message = "diverged", f"{name} diverged at step {k + 1} (learning rate too large?)"
            break
        xs.append(x)
        ys.append(y)
        losses.append(value)
    return Run(name, np.column_stack([xs, ys]), np.asarray(losses), status, message, cfg)


# --- drawing ------------------------------------------------------------------

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


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "rule"


class Playground:
    """Sliders for the hyperparameters, your rules on the chosen surface, one figure.

    ``rules`` maps a display name to an update rule. Attributes for tests and
    notebooks: ``controls`` (name -> widget), ``toggles`` (rule name ->
    Checkbox), ``runs`` (rule name -> Run, for the enabled rules),
    ``trajectories`` (rule name -> (k + 1, 2) array), ``lines``/``loss_lines``
    (rule name -> matplotlib Line2D), ``image`` (the PNG), ``info`` (HTML text),
    ``widget`` (the whole thing).
    """

    def __init__(self, rules: Mapping[str, Callable], surface: str = "quadratic", steps: int = 100,
                 learning_rate: float | None = None, momentum: float = 0.9, decay_rate: float = 0.99,
                 beta1: float = 0.9, beta2: float = 0.999, weight_decay: float = 0.0, noise: float = 0.0,
                 seed: int = 0, enabled=None, dpi: int = 72):
        import ipywidgets as W
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        if not isinstance(rules, Mapping) or not rules:
            raise TypeError("Playground needs a dict of update rules, e.g. Playground({'SGD': sgd, 'Adam': adam})")
        for name, rule in rules.items():
            if not callable(rule):
                raise TypeError(f"rule {name!r} is {type(rule).__name__}, not a function rule(w, dw, config)")
        self.rules = dict(rules)
        self.seed = seed
        s = get_surface(surface)
        self._surface_cache: dict = {}
        self._busy = False
        style = {"description_width": "initial"}
        lay = W.Layout(width="300px")

        def slider(cls, key, desc, value, css, **kw):
            w = cls(value=value, description=desc, continuous_update=False, style=style, layout=lay, **kw)
            w.add_class("playground-control")
            w.add_class(f"playground-{css}")
            self.controls[key] = w
            return w

        self.controls: dict = {}
        slider(W.FloatLogSlider, "learning_rate", "learning rate", learning_rate or s.default_lr, "learning-rate",
               base=10, min=-4, max=1, step=0.05, readout_format=".3g")
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
        best = W.Button(description="use best α*, ρ*", tooltip="set the learning rate and momentum to the optimal heavy-ball pair for this quadratic")
        best.add_class("playground-best-momentum")
        self.controls["best_momentum"] = best
        reset = W.Button(description="reset start", tooltip="move the start point back to this surface's default")
        reset.add_class("playground-reset-start")
        self.controls["reset_start"] = reset

        enabled = set(self.rules) if enabled is None else set(enabled)
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

        self.figure = Figure(figsize=(11, 4.2), dpi=dpi)
        FigureCanvasAgg(self.figure)
        self.ax, self.loss_ax = self.figure.subplots(1, 2, gridspec_kw={"width_ratios": [1.15, 1]})
        self.lines: dict = {}
        self.loss_lines: dict = {}
        self.runs: dict[str, Run] = {}
        self.renders = 0
        self._drawn_surface = None
        self._background = None
        self._background_key = None

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
        hyper = W.VBox([c["learning_rate"], c["momentum"], c["decay_rate"], c["beta1"], c["beta2"], c["weight_decay"]])
        run_box = W.VBox([c["surface"], c["steps"], c["noise"], c["start_x"], c["start_y"], W.HBox([best, reset])])
        self.widget = W.VBox([
            W.HBox([hyper, run_box]),
            W.HBox(list(self.toggles.values()), layout=W.Layout(flex_flow="row wrap")),
            self.image,
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
        """The hyperparameters every rule receives (a fresh dict per rule and recompute)."""
        c = self.controls
        return {k: float(c[k].value) for k in ("learning_rate", "momentum", "decay_rate", "beta1", "beta2", "weight_decay")}

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
        finally:
            self._busy = False
        self.update()

    def _on_best(self, _button=None):
        best = self.surface.best_heavy_ball()
        if best is None:
            return
        self._busy = True
        try:
            self.controls["learning_rate"].value = best[0]
            self.controls["momentum"].value = round(best[1], 2)
        finally:
            self._busy = False
        self.update()

    def _on_reset(self, _button=None):
        s = self.surface
        self._busy = True
        try:
            self.controls["start_x"].value, self.controls["start_y"].value = s.start
        finally:
            self._busy = False
        self.update()

    # --- compute and draw -------------------------------------------------------
    def recompute(self) -> dict:
        c = self.controls
        steps = int(c["steps"].value)
        sigma = float(c["noise"].value)
        draws = np.random.default_rng(self.seed).standard_normal((steps, 2)) if sigma else None
        start = (float(c["start_x"].value), float(c["start_y"].value))
        config = self.config
        self.runs = {
            name: run_rule(self.rules[name], self.surface, config, steps, start, sigma, name=name, noise_draws=draws)
            for name in self.enabled
        }
        return self.runs

    def update(self):
        """Recompute every enabled rule and redraw the figure (what a slider change does)."""
        self.recompute()
        self.redraw()

    def _setup_axes(self):
        s = self.surface
        self.ax.clear()
        self.loss_ax.clear()
        _draw_surface(self.ax, s, self._surface_cache)
        self.lines, self.loss_lines = {}, {}
        for i, name in enumerate(self.rules):
            color = _COLORS[i % len(_COLORS)]
            (self.lines[name],) = self.ax.plot([], [], "-o", ms=2.2, lw=1.3, color=color, animated=True)
            (self.loss_lines[name],) = self.loss_ax.plot([], [], lw=1.5, color=color, animated=True)
        (self._start_marker,) = self.ax.plot([], [], "s", ms=6, color="k")
        self.loss_ax.set_yscale("symlog" if s.min_value is None else "log")
        self.loss_ax.set_xlabel("step")
        self.loss_ax.set_ylabel("f(w)" if s.min_value is None else "f(w) − f*")
        self.loss_ax.grid(True, alpha=0.3)
        self.figure.subplots_adjust(left=0.055, right=0.79, bottom=0.13, top=0.92, wspace=0.2)
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
        legend = self.loss_ax.get_legend()
        if legend is not None:
            legend.remove()
        if handles:
            # outside the axes: trajectories drawn on top never hide it
            self.loss_ax.legend(handles=handles, fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0),
                                borderaxespad=0.0, frameon=False)
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
        start = (float(c["start_x"].value), float(c["start_y"].value))
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
                lline.set_data(*_loss_curve(run, s))
            lline.set_label(run.label)
            lline.set_linestyle("-" if run.ok else "--")
            handles.append(lline)
            labels.append(run.label)
        key = (s.name, start, steps, tuple(labels))
        if key != self._background_key:
            self._draw_background(key, handles)
        else:
            self.figure.canvas.restore_region(self._background)
        for name in self.runs:
            self.ax.draw_artist(self.lines[name])
            self.loss_ax.draw_artist(self.loss_lines[name])

    def redraw(self):
        """Redraw the trajectories over the cached background and publish the PNG."""
        self._draw_state()
        self.image.value = _png(self.figure.canvas)
        self.info.value = self.info_html()
        self.renders += 1

    def info_text(self) -> str:
        """What the info box says, as plain text (stability limit, best momentum, rule messages)."""
        s = self.surface
        lr = float(self.controls["learning_rate"].value)
        rho = float(self.controls["momentum"].value)
        lines = [f"{s.title}: f(x, y) = {s.formula}."]
        eig = s.hessian_eigenvalues()
        if eig is not None:
            where = "" if s.quadratic else " (Hessian at the minimum: only valid near it)"
            limit, limit_m = s.stability_limit(), s.stability_limit(rho)
            a, r = s.best_heavy_ball()
            lines.append(
                f"λmin = {eig[0]:.3g}, λmax = {eig[1]:.3g}, κ = {eig[1] / eig[0]:.3g}{where}. "
                f"Stability limit: SGD needs η < 2/λmax = {limit:.3g}; momentum ρ = {rho:.2f} needs η < (2+2ρ)/λmax = {limit_m:.3g}."
            )
            lines.append(
                f"Best constant η for SGD: 2/(λmin+λmax) = {s.best_gd_lr():.3g}. "
                f"Best momentum setting (heavy ball): η = α* = {a:.3g}, ρ = ρ* = {r:.3g}."
            )
            if lr >= limit:
                lines.append(f"Your η = {lr:.3g} is above 2/λmax = {limit:.3g}: plain SGD diverges here.")
        elif s.note:
            lines.append(s.note)
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
