"""The regularization demos, driven without a browser: set a control, check the data.

The solvers are checked against torch.autograd (optimality conditions at the
returned weights), and the sliders against what the lecture says λ does.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from course_utils import regularization_demo as rd

pytestmark = pytest.mark.xdist_group("regularization-demo")


@pytest.fixture(scope="module")
def demo_1d():
    return rd.overfit_1d_demo(reg=1e-2)


@pytest.fixture(scope="module")
def demo_2d():
    return rd.toy_2d_demo(penalty="l2", reg=1e-3)


def _data_grad(Phi, y, W):
    """Gradient of the mean softmax loss at W, by autograd (an independent oracle)."""
    Wt = torch.tensor(W, dtype=torch.float64, requires_grad=True)
    X = torch.tensor(Phi, dtype=torch.float64)
    loss = torch.nn.functional.cross_entropy(X @ Wt, torch.tensor(y, dtype=torch.int64))
    loss.backward()
    return Wt.grad.numpy()


# --- 1-D ------------------------------------------------------------------------

def test_two_models_both_fit_training_data_but_cliff_is_worse_held_out():
    res = rd.two_models_1d(cliff_reg=1e-8, smooth_reg=1e-1)
    cliff, smooth = res["cliff"], res["smooth"]
    assert cliff["train_acc"] == 1.0 and smooth["train_acc"] == 1.0
    assert cliff["steepness"] > 3 * smooth["steepness"]
    assert cliff["test_loss"] > smooth["test_loss"] + 0.2
    # the cliff's probability jumps over a much narrower band of x
    width = lambda m: np.ptp(m["xs"][(m["p1"] > 0.1) & (m["p1"] < 0.9)])  # noqa: E731
    assert width(cliff) < width(smooth) / 3


def test_1d_solver_is_the_l2_regularized_softmax_minimizer():
    prob = rd._Problem1D()
    for reg in (1e-4, 1e-2, 1.0):
        W = prob.model(reg)["W"]
        g = _data_grad(prob.Phi_train, prob.y_train, W) + 2 * reg * W
        assert np.max(np.abs(g)) < 1e-8, f"gradient of 1/N ΣL_i + λΣW² is not 0 at λ={reg}: {g}"


def test_1d_slider_softens_the_boundary_and_shrinks_the_weights(demo_1d):
    seen = []
    for reg in (1e-6, 1e-4, 1e-2, 1e0):
        demo_1d.reg_slider.value = reg
        d = demo_1d.data
        assert d["reg"] == pytest.approx(reg)
        seen.append(d)
    norms = [d["weight_norm"] for d in seen]
    steep = [d["steepness"] for d in seen]
    assert all(a > b for a, b in zip(norms, norms[1:])), f"larger λ must give smaller weights: {norms}"
    assert all(a > b for a, b in zip(steep, steep[1:])), f"larger λ must give a softer boundary: {steep}"
    # the plotted curve is the model's, and it changed with the slider
    slopes = [np.max(np.abs(np.diff(d["p1"]) / np.diff(d["xs"]))) for d in seen]
    assert slopes[0] > 5 * slopes[-1]
    # held-out loss first improves as the cliff softens
    assert seen[2]["test_loss"] < seen[0]["test_loss"]
    assert seen[0]["train_loss"] < seen[-1]["train_loss"]


def test_1d_figure_plots_the_current_model(demo_1d):
    demo_1d.reg_slider.value = 1e-1
    fig = demo_1d.figure()
    line = next(ln for ax in fig.axes for ln in ax.get_lines() if ln.get_gid() == "model")
    np.testing.assert_allclose(line.get_ydata(), demo_1d.data["p1"])
    demo_1d.reg_slider.value = 1e-5
    line2 = next(ln for ax in demo_1d.figure().axes for ln in ax.get_lines() if ln.get_gid() == "model")
    assert not np.allclose(line.get_ydata(), line2.get_ydata())


def test_1d_curve_covers_the_slider_grid(demo_1d):
    c = demo_1d.curve
    assert c["reg"][0] == pytest.approx(10.0 ** demo_1d.reg_slider.min)
    assert c["reg"][-1] == pytest.approx(10.0 ** demo_1d.reg_slider.max)
    # underfitting at the top: training loss rises with λ
    assert c["train_loss"][-1] > c["train_loss"][0]
    assert np.argmin(c["test_loss"]) not in (0, len(c["reg"]) - 1), "held-out loss should be best at a middle λ"


def test_cliff_vs_smooth_prints_and_draws(capsys):
    fig = rd.cliff_vs_smooth(display_figure=False)
    out = capsys.readouterr().out
    assert "cliff" in out and "smooth" in out and "held-out loss" in out
    assert len(fig.axes[0].get_lines()) == 2


# --- 2-D ------------------------------------------------------------------------

def test_2d_larger_reg_gives_smaller_weights(demo_2d):
    demo_2d.penalty_toggle.value = "l2"
    norms = []
    for reg in (1e-4, 1e-2, 1e0):
        demo_2d.reg_slider.value = reg
        assert demo_2d.data["penalty"] == "l2" and demo_2d.data["reg"] == pytest.approx(reg)
        norms.append(demo_2d.data["l2_norm"])
    assert norms[0] > norms[1] > norms[2], norms
    demo_2d.penalty_toggle.value = "l1"
    l1 = []
    for reg in (1e-4, 1e-2, 1e-1):
        demo_2d.reg_slider.value = reg
        l1.append(demo_2d.data["l1_norm"])
    assert l1[0] > l1[1] > l1[2], l1


def test_2d_l1_gives_more_zeros_than_l2(demo_2d):
    for reg in (1e-3, 1e-2, 1e-1):
        demo_2d.reg_slider.value = reg
        demo_2d.penalty_toggle.value = "l2"
        l2 = demo_2d.data
        demo_2d.penalty_toggle.value = "l1"
        l1 = demo_2d.data
        assert l1["n_zero"] > l2["n_zero"] + 10, (reg, l1["n_zero"], l2["n_zero"])
        assert l2["n_zero"] == 0
    zeros = [demo_2d.model("l1", r)["n_zero"] for r in (1e-3, 1e-2, 1e-1)]
    assert zeros[0] < zeros[1] < zeros[2], zeros


def test_2d_boundary_and_accuracy_change_with_reg(demo_2d):
    demo_2d.penalty_toggle.value = "l2"
    demo_2d.reg_slider.value = 1e-5
    small = demo_2d.data
    demo_2d.reg_slider.value = 1e-1
    large = demo_2d.data
    assert not np.allclose(small["p1_grid"], large["p1_grid"], atol=1e-3)
    assert small["train_acc"] > large["train_acc"], "less regularisation must fit the training set better"
    assert large["val_acc"] > small["val_acc"], "with 40 noisy points, some regularisation must help validation"


def test_2d_solver_meets_optimality_conditions(demo_2d):
    Phi, y = demo_2d.Phi_train, demo_2d.y_train
    # L2: ∇(1/N ΣL_i) + 2λW = 0
    W = demo_2d.model("l2", 1e-2)["W"]
    assert np.max(np.abs(_data_grad(Phi, y, W) + 2e-2 * W)) < 1e-6
    # L1: ∇data + λ·sign(W) = 0 where W ≠ 0, and |∇data| ≤ λ where W = 0
    reg = 1e-2
    W = demo_2d.model("l1", reg)["W"]
    g = _data_grad(Phi, y, W)
    nz = np.abs(W) > rd.ZERO_TOL
    assert np.max(np.abs(g[nz] + reg * np.sign(W[nz]))) < 1e-5
    assert np.max(np.abs(g[~nz])) <= reg * (1 + 1e-3)


def test_2d_figure_shows_the_current_weights(demo_2d):
    demo_2d.penalty_toggle.value = "l1"
    demo_2d.reg_slider.value = 1e-2
    fig = demo_2d.figure()
    bars = [p for ax in fig.axes for p in ax.patches if p.get_gid() == "weights"]
    np.testing.assert_allclose([b.get_height() for b in bars], demo_2d.data["W"][:, 1])
    assert len(bars) == len(demo_2d.data["feature_names"]) == 28


def test_2d_models_are_cached_and_deterministic(demo_2d):
    a = demo_2d.model("l1", 1e-3)
    assert demo_2d.model("l1", 1e-3) is a
    fresh = rd.toy_2d_demo(penalty="l1", reg=1e-3)
    np.testing.assert_array_equal(fresh.data["W"], a["W"])


def test_table_prints_both_penalties(demo_2d, capsys):
    demo_2d.table(regs=(1e-3, 1e-1))
    out = capsys.readouterr().out
    assert "L1 zeros" in out and "L2 zeros" in out
    assert len(out.strip().splitlines()) == 3


# --- display and bad input ----------------------------------------------------------

def test_headless_show_displays_a_static_figure(monkeypatch, demo_1d, demo_2d):
    import IPython.display
    import matplotlib.pyplot as plt

    shown = []
    monkeypatch.setenv("COURSE_HEADLESS", "1")
    monkeypatch.setattr(IPython.display, "display", lambda obj, *a, **k: shown.append(obj))
    for demo in (demo_1d, demo_2d):
        assert demo.show() is None
    assert len(shown) == 2
    assert all(getattr(img, "data", b"")[:8] == b"\x89PNG\r\n\x1a\n" for img in shown), shown
    assert not plt.get_fignums(), "static figures must be closed after display"


def test_interactive_show_displays_the_widget(monkeypatch, demo_2d):
    import IPython.display

    shown = []
    monkeypatch.setenv("COURSE_HEADLESS", "0")
    monkeypatch.setattr(IPython.display, "display", lambda obj, *a, **k: shown.append(obj))
    demo_2d.show()
    assert shown and shown[0] is demo_2d.widget


@pytest.mark.parametrize("kwargs, exc, words", [
    ({"penalty": "l3"}, ValueError, "unknown penalty"),
    ({"reg": -1.0}, ValueError, "≥ 0"),
    ({"reg": 0.0}, ValueError, "logarithmic"),
    ({"reg": "big"}, TypeError, "must be a number"),
    ({"degree": 0}, ValueError, "degree"),
    ({"reg_exponents": (0, -3)}, ValueError, "low < high"),
])
def test_2d_bad_input_says_what_to_fix(kwargs, exc, words):
    with pytest.raises(exc, match=words):
        rd.toy_2d_demo(**kwargs)


def test_1d_bad_input_says_what_to_fix():
    with pytest.raises(ValueError, match="low < high"):
        rd.overfit_1d_demo(reg_exponents=(1, -1))
    with pytest.raises(ValueError, match="finite"):
        rd.overfit_1d_demo(reg=float("nan"))
    with pytest.raises(ValueError, match="unknown penalty"):
        rd.softmax_objective(np.ones((2, 2)), np.array([0, 1]), np.zeros((2, 2)), "l0", 1.0)
