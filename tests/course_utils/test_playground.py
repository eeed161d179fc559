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
    assert "2/λmax = 0.5" in text
    assert "α* = 0.668" in text and "ρ* = 0.403" in text
    pg.controls["learning_rate"].value = 0.6
    assert "above 2/λmax" in pg.info_text()
    assert pg.runs["SGD"].status == "diverged"
    pg.controls["best_momentum"].click()
    assert pg.controls["learning_rate"].value == pytest.approx(0.668, rel=0.01)
    assert pg.controls["momentum"].value == pytest.approx(0.40, abs=0.01)
    assert pg.runs["Momentum"].final_loss < 1e-8
    pg.controls["surface"].value = "saddle"
    assert "2/λmax" not in pg.info_text()


def test_not_implemented_rule_is_labelled_and_others_still_run():
    pg = Playground({"SGD": sgd, "Adam": not_yet}, steps=30)
    assert pg.runs["SGD"].ok and len(pg.trajectories["SGD"]) == 31
    assert pg.runs["Adam"].status == "not implemented"
    assert "not implemented yet" in pg.runs["Adam"].label
    labels = [t.get_text() for t in pg.loss_ax.get_legend().get_texts()]
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
