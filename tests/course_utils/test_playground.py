"""The optimizer playground, driven without a browser: set widget values, read trajectories and plot data."""

import math

import numpy as np
import pytest
import torch

from course_utils.playground import Playground, run_rule
from course_utils.surfaces import get_surface

# every Playground renders PNGs: keep these on one xdist worker
pytestmark = pytest.mark.xdist_group("optimizers-playground")


# Student-style rules (the course's interface), written here so the tests do not depend on the notebook.
def sgd(w, dw, config=None):
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    return w - config["learning_rate"] * dw, config


def momentum(w, dw, config=None):
    config = {} if config is None else config
    v = config.get("velocity")
    v = dw.clone() if v is None else config.get("momentum", 0.9) * v + dw
    config["velocity"] = v
    return w - config.get("learning_rate", 1e-2) * v, config


def adam_like(w, dw, config=None):
    config = {} if config is None else config
    t = config.get("t", 0) + 1
    m = config.get("m", torch.zeros_like(w)) * config["beta1"] + (1 - config["beta1"]) * dw
    v = config.get("v", torch.zeros_like(w)) * config["beta2"] + (1 - config["beta2"]) * dw * dw
    config.update(m=m, v=v, t=t)
    mh, vh = m / (1 - config["beta1"] ** t), v / (1 - config["beta2"] ** t)
    return w - config["learning_rate"] * mh / (vh.sqrt() + 1e-8), config


def not_yet(w, dw, config=None):
    raise NotImplementedError("Write this part, then run the check cell below it.")


def broken(w, dw, config=None):
    raise ValueError("shapes do not match")


def returns_none(w, dw, config=None):
    return None


@pytest.fixture
def pg():
    return Playground({"SGD": sgd, "Momentum": momentum, "Adam": adam_like}, steps=50)


def test_initial_state_has_trajectories_and_a_figure(pg):
    assert set(pg.trajectories) == {"SGD", "Momentum", "Adam"}
    s = get_surface("quadratic")
    for name, pts in pg.trajectories.items():
        assert pts.shape == (51, 2)
        assert tuple(pts[0]) == s.start
        assert pg.runs[name].ok
    assert pg.image.value[:8] == b"\x89PNG\r\n\x1a\n"
    xy = pg.lines["SGD"].get_xydata()
    assert np.allclose(xy, pg.trajectories["SGD"])


def test_sgd_trajectory_is_gradient_descent_with_the_slider_learning_rate(pg):
    pg.controls["learning_rate"].value = 0.2
    pts = pg.trajectories["SGD"]
    x, y = get_surface("quadratic").start
    for k in range(5):
        x, y = x - 0.2 * 0.2 * x, y - 0.2 * 4.0 * y
        assert pts[k + 1] == pytest.approx((x, y))


def test_every_slider_that_matters_changes_the_data(pg):
    cases = {
        "learning_rate": 0.3, "momentum": 0.5, "beta1": 0.5, "beta2": 0.9,
        "steps": 20, "noise": 0.5, "start_x": 2.0, "start_y": 1.0,
    }
    for key, value in cases.items():
        before = {n: r.points.copy() for n, r in pg.runs.items()}
        png = pg.image.value
        renders = pg.renders
        pg.controls[key].value = value
        assert pg.renders == renders + 1, f"{key} did not trigger a redraw"
        assert pg.image.value != png, f"{key} did not change the figure"
        changed = [n for n in before if before[n].shape != pg.runs[n].points.shape or not np.allclose(before[n], pg.runs[n].points)]
        assert changed, f"moving {key} changed no trajectory"
    assert len(pg.trajectories["SGD"]) == 21
    assert tuple(pg.trajectories["SGD"][0]) == (2.0, 1.0)


def test_hyperparameters_reach_the_rules_through_config(pg):
    seen = {}

    def spy(w, dw, config=None):
        seen.update(config)
        return w, config

    pg2 = Playground({"spy": spy}, steps=2, momentum=0.7, decay_rate=0.95, beta1=0.8, beta2=0.99, weight_decay=0.1)
    pg2.controls["learning_rate"].value = 0.05
    assert seen["learning_rate"] == pytest.approx(0.05)
    assert (seen["momentum"], seen["decay_rate"], seen["beta1"], seen["beta2"], seen["weight_decay"]) == pytest.approx((0.7, 0.95, 0.8, 0.99, 0.1))


def test_state_carries_between_steps_and_not_between_recomputes(pg):
    cfg = pg.runs["Adam"].config
    assert cfg["t"] == 50
    pg.controls["steps"].value = 10
    assert pg.runs["Adam"].config["t"] == 10


def test_toggles_select_which_rules_run(pg):
    pg.toggles["Momentum"].value = False
    assert set(pg.runs) == {"SGD", "Adam"}
    assert not pg.lines["Momentum"].get_visible()
    pg.toggles["Momentum"].value = True
    assert set(pg.runs) == {"SGD", "Momentum", "Adam"}


def test_surface_dropdown_resets_start_and_learning_rate(pg):
    pg.controls["surface"].value = "banana"
    s = get_surface("banana")
    assert (pg.controls["start_x"].value, pg.controls["start_y"].value) == pytest.approx(s.start)
    assert pg.controls["learning_rate"].value == pytest.approx(s.default_lr, rel=0.01)
    assert tuple(pg.trajectories["SGD"][0]) == pytest.approx(s.start)
    assert pg.ax.get_xlim() == pytest.approx(s.xlim)
    assert "Rosenbrock" in pg.info_text()
    for name in ("quadratic", "rotated", "saddle", "local_minima"):
        pg.controls["surface"].value = name
        assert pg.surface.name == name and all(len(p) > 1 for p in pg.trajectories.values())


def test_stability_limit_and_best_momentum_are_shown(pg):
    text = pg.info_text()
    assert "2/h_max = 0.5" in text
    assert "η* = 0.668" in text and "ρ* = 0.403" in text
    pg.controls["learning_rate"].value = 0.6
    assert "above 2/h_max" in pg.info_text()
    assert pg.runs["SGD"].status == "diverged"
    pg.controls["best_momentum"].click()
    assert pg.controls["learning_rate"].value == pytest.approx(0.668, rel=0.01)
    assert pg.controls["momentum"].value == pytest.approx(0.40, abs=0.01)
    assert pg.runs["Momentum"].final_loss < 1e-8
    pg.controls["surface"].value = "saddle"
    assert "2/h_max" not in pg.info_text()


def test_not_implemented_rule_is_labelled_and_others_still_run():
    pg = Playground({"SGD": sgd, "Adam": not_yet}, steps=30)
    assert pg.runs["SGD"].ok and len(pg.trajectories["SGD"]) == 31
    assert pg.runs["Adam"].status == "not implemented"
    assert "not implemented yet" in pg.runs["Adam"].label
    labels = [t.get_text() for t in pg.figure.legends[0].get_texts()]
    assert "Adam (not implemented yet)" in labels
    assert "not implemented yet" in pg.info_text()
    assert len(pg.lines["Adam"].get_xydata()) == 0


def test_errors_and_divergence_become_short_messages():
    pg = Playground({"SGD": sgd, "broken": broken, "none": returns_none}, steps=40)
    assert pg.runs["broken"].status == "error"
    assert pg.runs["broken"].message == "broken raised ValueError: shapes do not match at step 1"
    assert pg.runs["none"].status == "error" and "pair (next_w, config)" in pg.runs["none"].message
    assert "Traceback" not in pg.info_text()
    pg.controls["learning_rate"].value = 2.0
    run = pg.runs["SGD"]
    assert run.status == "diverged" and "diverged at step" in run.message
    assert np.isfinite(run.points).all() and np.isfinite(run.losses).all()
    assert pg.image.value[:4] == b"\x89PNG"


def test_saddle_escape_is_not_called_divergence():
    run = run_rule(sgd, "saddle", {"learning_rate": 0.3}, steps=400)
    assert run.status == "escaped"
    assert "no minimum" in run.message


def test_noise_is_reproducible_and_shared_by_rules():
    a = run_rule(sgd, "quadratic", {"learning_rate": 0.1}, steps=30, noise=1.0, seed=3)
    b = run_rule(sgd, "quadratic", {"learning_rate": 0.1}, steps=30, noise=1.0, seed=3)
    c = run_rule(sgd, "quadratic", {"learning_rate": 0.1}, steps=30, noise=0.0)
    assert np.array_equal(a.points, b.points)
    assert not np.allclose(a.points, c.points)


def test_run_rule_does_not_change_the_callers_config():
    cfg = {"learning_rate": 0.1}
    run_rule(momentum, "quadratic", cfg, steps=5)
    assert cfg == {"learning_rate": 0.1}


def test_bad_input_is_a_clear_error():
    with pytest.raises(TypeError, match="dict of update rules"):
        Playground([sgd])
    with pytest.raises(TypeError, match="not a function"):
        Playground({"SGD": 3})
    with pytest.raises(KeyError, match="not among the rules"):
        Playground({"SGD": sgd}, enabled=["Adam"])


def test_widgets_have_stable_descriptions_and_css_classes(pg):
    want = {
        "learning_rate": ("learning rate", "playground-learning-rate"),
        "momentum": ("momentum ρ", "playground-momentum"),
        "decay_rate": ("RMSProp decay", "playground-decay-rate"),
        "beta1": ("β1", "playground-beta1"),
        "beta2": ("β2", "playground-beta2"),
        "weight_decay": ("weight decay", "playground-weight-decay"),
        "steps": ("steps", "playground-steps"),
        "noise": ("gradient noise σ", "playground-noise"),
        "surface": ("surface", "playground-surface"),
    }
    for key, (desc, css) in want.items():
        w = pg.controls[key]
        assert w.description == desc and css in w._dom_classes
    assert type(pg.controls["learning_rate"]).__name__ == "FloatLogSlider"
    for key in ("learning_rate", "momentum", "decay_rate", "beta1", "beta2", "weight_decay", "steps", "noise", "start_x", "start_y"):
        assert pg.controls[key].continuous_update is False, key
    assert "playground-optimizer-sgd" in pg.toggles["SGD"]._dom_classes
    assert "playground" in pg.widget._dom_classes and "playground-figure" in pg.image._dom_classes


def test_headless_show_renders_a_static_figure(monkeypatch, capsys):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import course_utils.widgets as widgets

    shown, rendered = [], []
    original_png = widgets.figure_png
    monkeypatch.setenv("COURSE_HEADLESS", "1")
    monkeypatch.setattr("IPython.display.display", lambda obj, *a, **k: shown.append(obj))
    monkeypatch.setattr(widgets, "figure_png", lambda fig, **k: rendered.append(fig) or original_png(fig, **k))
    pg = Playground({"SGD": sgd, "Adam": not_yet}, steps=20)
    assert pg.show() is None
    # displayed as PNG bytes, so it survives any matplotlib backend
    assert len(shown) == 1 and shown[0].data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(rendered) == 1 and isinstance(rendered[0], matplotlib.figure.Figure)
    fig = rendered[0]
    ax = fig.axes[0]
    lines = [l for l in ax.get_lines() if l.get_label() == "SGD"]
    assert lines and np.allclose(lines[0].get_xydata(), pg.trajectories["SGD"])
    assert "not implemented yet" in capsys.readouterr().out
    assert not plt.fignum_exists(fig.number), "the static figure must be closed after display"


def test_widget_is_displayed_when_not_headless(monkeypatch):
    shown = []
    monkeypatch.setenv("COURSE_HEADLESS", "0")
    monkeypatch.setattr("IPython.display.display", lambda obj, *a, **k: shown.append(obj))
    pg = Playground({"SGD": sgd}, steps=5)
    assert pg.show() is None and shown == [pg.widget]


# --- defaults, theory panel, rate map -----------------------------------------------------

def momentum_wrong_sign(w, dw, config=None):
    """The common bug: v = ρv + η·dw; w += v (uphill)."""
    config = {} if config is None else config
    v = config.get("velocity")
    v = torch.zeros_like(w) if v is None else v
    v = config.get("momentum", 0.9) * v + config.get("learning_rate", 1e-2) * dw
    config["velocity"] = v
    return w + v, config


def adamw_like(w, dw, config=None):
    config = {} if config is None else config
    w = w * (1 - config["learning_rate"] * config["weight_decay"])
    return adam_like(w, dw, config)


def _course_like_rules():
    return {"SGD": sgd, "Momentum": momentum, "Nesterov": momentum, "AdaGrad": adam_like, "RMSProp": adam_like,
            "Adam": adam_like, "AdamW": adamw_like}


def test_default_view_is_readable_and_adamw_differs_from_adam():
    pg = Playground(_course_like_rules(), steps=50)
    assert pg.enabled == ["SGD", "Momentum", "Adam"]
    assert pg.figure.get_dpi() >= 100 and pg.figure.get_size_inches()[0] >= 12
    assert pg.controls["weight_decay"].value > 0
    pg.toggles["AdamW"].value = True
    assert not np.allclose(pg.trajectories["Adam"], pg.trajectories["AdamW"])
    # adaptive rules take their own, surface-tuned learning rate
    s = get_surface("quadratic")
    assert pg.config_for("Adam")["learning_rate"] == pytest.approx(s.adaptive_lr, rel=0.01)
    assert pg.config_for("SGD")["learning_rate"] == pytest.approx(s.default_lr, rel=0.01)
    pg.controls["adaptive_learning_rate"].value = 0.05
    assert pg.config_for("Adam")["learning_rate"] == pytest.approx(0.05) and pg.config_for("Momentum")["learning_rate"] != 0.05
    # nothing clipped: the legend lies inside the figure
    pg.toggles["Nesterov"].value = True
    renderer = pg.figure.canvas.get_renderer()
    box = pg.figure.legends[0].get_window_extent(renderer)
    assert box.x0 >= 0 and box.x1 <= pg.figure.bbox.x1 and box.y0 >= 0


@pytest.mark.parametrize("surface", ["quadratic", "rotated"])
@pytest.mark.parametrize("lr, rho", [(0.1, 0.9), (0.3, 0.5), (0.05, 0.0)])
def test_correct_momentum_matches_the_predicted_rate_per_direction(surface, lr, rho):
    """Tolerance: |measured − predicted| ≤ theory.DEPART_TOL (0.03) in every eigendirection."""
    from course_utils import theory as T

    pg = Playground({"SGD": sgd, "Momentum": momentum}, surface=surface, steps=150)
    pg.set_learning_rate_and_momentum(lr, rho)
    th = pg.theory
    assert th["rule"] == "Momentum" and th["kind"] == "heavy_ball"
    usable = np.isfinite(th["measured"])
    assert usable.any()
    assert np.abs(th["measured"][usable] - th["predicted"][usable]).max() <= T.DEPART_TOL, (th["measured"], th["predicted"])
    assert not th["departs"]
    assert "slowest direction" in pg.info_text()
    # the dominant direction is the one with the largest predicted rate
    assert th["dominant"] == int(np.argmax(th["predicted"]))


def test_gd_theory_for_sgd():
    pg = Playground({"SGD": sgd}, steps=100)
    pg.controls["learning_rate"].value = 0.3
    th = pg.theory
    assert th["kind"] == "gd" and th["predicted"] == pytest.approx([0.94, 0.2])
    assert th["measured"][0] == pytest.approx(0.94, abs=0.01)


def test_wrong_sign_momentum_is_reported_as_departing_and_blamed_on_the_rule():
    pg = Playground({"SGD": sgd, "Momentum": momentum_wrong_sign}, steps=100)
    pg.set_learning_rate_and_momentum(0.1, 0.9)
    assert pg.theory["departs"]
    run = pg.runs["Momentum"]
    assert run.status == "diverged"
    assert "check the sign of the update" in run.message and "learning rate too large" not in run.message
    assert "DEPARTS" in pg._dir_title.get_text()
    # a correct rule at a learning rate where torch.optim diverges too is told so
    good = Playground({"Momentum": momentum}, steps=100)
    good.set_learning_rate_and_momentum(1.2, 0.5)
    assert good.runs["Momentum"].status == "diverged"
    assert "learning rate is too large" in good.runs["Momentum"].message


def test_rate_map_click_sets_the_sliders_and_changes_the_figure():
    pg = Playground({"SGD": sgd, "Momentum": momentum}, steps=60)
    png, theory_png = pg.image.value, pg.theory_image.value
    # the pixel of (η, ρ) = (0.5, 0.3) in the theory image, as ipyevents reports it (origin top left)
    x, y = pg.map_ax.transData.transform((0.5, 0.3))
    event = {"type": "click", "dataX": float(x), "dataY": float(pg.theory_figure.bbox.height - y)}
    pg._on_theory_click(event)
    assert pg.controls["learning_rate"].value == pytest.approx(0.5, rel=0.02)
    assert pg.controls["momentum"].value == pytest.approx(0.3, abs=0.01)
    assert pg.image.value != png and pg.theory_image.value != theory_png
    assert pg.theory["learning_rate"] == pytest.approx(0.5, rel=0.02)
    # a click outside the map changes nothing
    renders = pg.renders
    pg._on_theory_click({"type": "click", "dataX": 5.0, "dataY": 5.0})
    assert pg.renders == renders


def test_rate_map_is_cached_per_surface():
    pg = Playground({"Momentum": momentum}, steps=20)
    first = pg.rate_map()
    assert pg.rate_map() is first
    pg.controls["surface"].value = "rotated"
    assert pg.rate_map() is not first
    pg.controls["surface"].value = "banana"
    assert pg.theory is None and pg.theory_image.layout.display == "none"


def test_student_predictions_are_drawn_next_to_the_measurement():
    from course_utils import theory as T

    def max_stable_lr(hessian, momentum=0.0):
        return float((2 + 2 * momentum) / torch.linalg.eigvalsh(hessian)[-1])

    def momentum_rate(lr, momentum, hessian):
        return max(float(T.heavy_ball_rate(lr, momentum, h)) for h in torch.linalg.eigvalsh(hessian).tolist())

    pg = Playground({"Momentum": momentum}, steps=80,
                    predictions={"max_stable_lr": max_stable_lr, "momentum_rate": momentum_rate})
    th = pg.theory
    assert th["your_max_stable_lr"] == pytest.approx(0.95) and th["your_momentum_rate"] == pytest.approx(th["rate"])
    assert len(pg._your_rate_line.get_xdata()) > 0
    assert "your max_stable_lr = 0.95" in pg.info_text()

    def not_yet_rate(lr, momentum, hessian):
        raise NotImplementedError

    pg2 = Playground({"Momentum": momentum}, steps=20, predictions={"momentum_rate": not_yet_rate})
    assert pg2.theory["your_momentum_rate"] is None and "momentum_rate is not implemented yet" in pg2.info_text()


def adagrad_like(w, dw, config=None):
    config = {} if config is None else config
    cache = config.get("cache", torch.zeros_like(w)) + dw * dw
    config["cache"] = cache
    return w - config["learning_rate"] * dw / (cache.sqrt() + 1e-10), config


def rmsprop_like(w, dw, config=None):
    config = {} if config is None else config
    d = config["decay_rate"]
    cache = d * config.get("cache", torch.zeros_like(w)) + (1 - d) * dw * dw
    config["cache"] = cache
    return w - config["learning_rate"] * dw / (cache.sqrt() + 1e-8), config


def adam_scalar_math(w, dw, config=None):
    """Correct Adam that only works with float hyperparameters (math.sqrt): the β map must fall back."""
    config = {} if config is None else config
    b1, b2, lr = config["beta1"], config["beta2"], config["learning_rate"]
    t = config.get("t", 0) + 1
    m = b1 * config.get("m", torch.zeros_like(w)) + (1 - b1) * dw
    v = b2 * config.get("v", torch.zeros_like(w)) + (1 - b2) * dw * dw
    config.update(m=m, v=v, t=t)
    step = lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
    return w - step * m / (v.sqrt() + 1e-8 * math.sqrt(1 - b2 ** t)), config


def test_adaptive_view_shows_adagrad_stall_under_noise():
    pg = Playground({"AdaGrad": adagrad_like, "RMSProp": rmsprop_like, "Adam": adam_like}, steps=200, noise=1.0)
    assert pg.adaptive is None and pg.adaptive_image.layout.display == "none"
    pg.controls["adaptive_view"].value = True
    eff = pg.adaptive["effective_steps"]
    assert set(eff) == {"AdaGrad", "RMSProp", "Adam"} and eff["AdaGrad"].shape == (200, 2)
    # the effective step of AdaGrad keeps shrinking (like 1/√t); RMSProp's levels off
    ada, rms = eff["AdaGrad"][:, 0], eff["RMSProp"][:, 0]
    assert ada[-1] < 0.6 * ada[50]
    assert rms[-1] > 0.6 * rms[50]
    assert pg.adaptive_image.value[:4] == b"\x89PNG" and pg.adaptive_image.layout.display is None


def test_beta_map_runs_the_students_adam_batched_and_cached():
    from course_utils import theory as T

    pg = Playground({"Adam": adam_like}, steps=60)
    pg.controls["adaptive_view"].value = True
    codes = pg.adaptive["beta_codes"]
    assert codes.shape == (len(pg.BETA2S), len(pg.BETA1S)) and pg.adaptive["beta_how"] == "batched"
    assert set(np.unique(codes)) <= {0, 1, 2} and (codes == 0).any()
    # each cell is what a plain run of the rule at that (β1, β2) does
    s = get_surface("quadratic")
    for i, j in ((0, 0), (5, 7), (11, 11)):
        cfg = {**pg.config_for("Adam"), "beta1": float(pg.BETA1S[j]), "beta2": float(pg.BETA2S[i])}
        run = run_rule(adam_like, s, cfg, 60, s.start)
        gap = run.final_loss - s.min_value if run.ok else math.inf
        want = 0 if gap <= 1e-3 * (s.f(*s.start) - s.min_value) else (2 if not gap <= 10 * (s.f(*s.start) - s.min_value) else 1)
        assert codes[i, j] == want, (i, j)
    # cached: moving β1 reuses the map; a rule that cannot batch falls back and agrees
    pg.controls["beta1"].value = 0.5
    assert pg.adaptive["beta_codes"] is codes
    slow, how = T.adam_regime_map(adam_scalar_math, s, pg.config_for("Adam"), 60, s.start, pg.BETA1S, pg.BETA2S)
    assert how == "one by one" and np.array_equal(slow, codes)


def nesterov_like(w, dw, config=None):
    """torch.optim.SGD(nesterov=True): b = ρb + g; w -= η(g + ρb)."""
    config = {} if config is None else config
    rho = config.get("momentum", 0.9)
    b = config.get("velocity")
    b = dw.clone() if b is None else rho * b + dw
    config["velocity"] = b
    return w - config.get("learning_rate", 1e-2) * (dw + rho * b), config


def test_nesterov_theory_matches_a_nesterov_rule():
    """A correct Nesterov rule: its per-direction rates follow Nesterov's 2x2 matrix (within DEPART_TOL)."""
    from course_utils import theory as T

    pg = Playground({"Nesterov": nesterov_like}, steps=150)
    for lr, rho in ((0.2, 0.6), (0.1, 0.9), (0.4, 0.3)):
        pg.set_learning_rate_and_momentum(lr, rho)
        th = pg.theory
        assert th["kind"] == "nesterov"
        assert th["predicted"] == pytest.approx([float(T.nesterov_rate(lr, rho, h)) for h in th["eigenvalues"]])
        usable = np.isfinite(th["measured"])
        assert usable.any() and np.abs(th["measured"][usable] - th["predicted"][usable]).max() <= T.DEPART_TOL, (lr, rho, th["measured"], th["predicted"])
