"""course_utils.plots: what each helper draws, checked on the artists (Agg backend)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from course_utils.plots import (  # noqa: E402
    heatmap, plot_decision_boundary, plot_loss_curves, plot_train_val, show_class_templates,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_loss_curves_one_line_per_history():
    hist = {"SGD": [3.0, 2.0, 1.5], "Adam": [torch.tensor(3.0), torch.tensor(1.0), torch.tensor(0.5)]}
    ax = plot_loss_curves(hist, title="t")
    lines = ax.get_lines()
    assert [l.get_label() for l in lines] == ["SGD", "Adam"]
    np.testing.assert_allclose(lines[1].get_ydata(), [3.0, 1.0, 0.5])
    np.testing.assert_allclose(lines[0].get_xdata(), [0, 1, 2])
    assert ax.get_yscale() == "linear" and ax.get_title() == "t"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["SGD", "Adam"]


def test_loss_curves_log_smooth_and_given_axes():
    fig, ax = plt.subplots()
    y = torch.tensor([4.0, 0.0, 2.0, 6.0, 1.0])
    out = plot_loss_curves({"run": y}, ax=ax, log=True, smooth=2)
    assert out is ax and ax.get_yscale() == "log"
    raw, smooth = ax.get_lines()
    np.testing.assert_allclose(raw.get_ydata(), y.numpy())
    np.testing.assert_allclose(smooth.get_ydata(), [4.0, 2.0, 1.0, 4.0, 3.5])
    assert raw.get_color() == smooth.get_color() and smooth.get_label() == "run"
    ema = plot_loss_curves([1.0, 0.0, 0.0], smooth=0.5).get_lines()[1]
    np.testing.assert_allclose(ema.get_ydata(), [1.0, 0.5, 0.25])
    assert plt.fignum_exists(fig.number), "helpers must not close the caller's figure"


def test_loss_curves_bad_input():
    with pytest.raises(ValueError, match="empty"):
        plot_loss_curves({})
    with pytest.raises(ValueError, match="smooth"):
        plot_loss_curves([1.0, 2.0], smooth=-3)


def test_train_val():
    ax = plot_train_val([0.5, 0.7, 0.9], torch.tensor([0.4, 0.5, 0.5]), x=[1, 5, 10])
    train, val = ax.get_lines()
    assert (train.get_label(), val.get_label()) == ("train", "val")
    np.testing.assert_allclose(train.get_xdata(), [1, 5, 10])
    np.testing.assert_allclose(val.get_ydata(), [0.4, 0.5, 0.5])
    assert ax.get_ylabel() == "accuracy"
    with pytest.raises(ValueError, match="2 validation"):
        plot_train_val([0.1, 0.2, 0.3], [0.1, 0.2])


def test_class_templates_drop_bias_and_rescale():
    H, Wd, C, K = 4, 5, 3, 3
    g = torch.Generator().manual_seed(0)
    W = torch.randn(H * Wd * C + 1, K, generator=g, dtype=torch.float64)
    W[-1] = 1e6  # a bias row that would wreck the rescaling if it were kept
    fig = show_class_templates(W, ["a", "b", "c"], (H, Wd, C))
    axes = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in axes] == ["a", "b", "c"]
    for k, ax in enumerate(axes):
        img = ax.images[0].get_array()
        col = W[:-1, k].numpy()
        want = ((col - col.min()) / (col.max() - col.min())).reshape(H, Wd, C)
        assert img.shape == (H, Wd, C)
        np.testing.assert_allclose(img, want)


def test_class_templates_grey_shared_scale_mean_and_no_bias():
    W = np.zeros((4, 2))
    W[:, 0] = [0, 1, 2, 3]
    W[:, 1] = [0, 0, 0, 6]
    fig = show_class_templates(W, ["x", "y"], (2, 2, 1), bias_trick=False, scale="shared")
    imgs = [ax.images[0] for ax in fig.axes if ax.images]
    np.testing.assert_allclose(imgs[0].get_array(), [[0, 1 / 6], [2 / 6, 3 / 6]])
    assert imgs[0].get_cmap().name == "gray"
    fig = show_class_templates(W, ["x", "y"], (2, 2), bias_trick=False, mean_image=np.full(4, 0.5))
    img = [ax.images[0] for ax in fig.axes if ax.images][1].get_array()
    np.testing.assert_allclose(img, [[0.5, 0.5], [0.5, 1.0]])
    # a caller's figure is reused, and ten classes fill one row
    own = plt.figure()
    assert show_class_templates(np.zeros((13, 10)), range(10), (2, 2, 3)) is not own
    assert show_class_templates(np.zeros((13, 10)), range(10), (2, 2, 3), fig=own) is own


@pytest.mark.parametrize("rows, bias, match", [(12, True, "bias_trick=False"), (13, False, "bias_trick=True"), (7, True, "needs 13")])
def test_class_templates_shape_errors(rows, bias, match):
    with pytest.raises(ValueError, match=match):
        show_class_templates(np.zeros((rows, 2)), ["a", "b"], (2, 2, 3), bias_trick=bias)


def test_class_templates_class_count_error():
    with pytest.raises(ValueError, match="3 class names"):
        show_class_templates(np.zeros((13, 2)), ["a", "b", "c"], (2, 2, 3))


def test_decision_boundary_regions_follow_predict_fn():
    X = torch.tensor([[-1.0, 0.0], [1.0, 0.5], [-0.5, 2.0], [2.0, -1.0]], dtype=torch.float64)
    y = torch.tensor([0, 1, 0, 1])
    seen = {}

    def predict(Z):
        seen["type"], seen["dtype"], seen["grad"] = type(Z), Z.dtype, torch.is_grad_enabled()
        scores = torch.stack([-Z[:, 0], Z[:, 0]], dim=1)  # class 1 right of x = 0
        return scores

    ax = plot_decision_boundary(predict, X, y, resolution=21, margin=0.5)
    assert seen == {"type": torch.Tensor, "dtype": torch.float64, "grad": False}
    mesh = ax.collections[0]
    Z = np.asarray(mesh.get_array()).reshape(21, 21)
    xs = np.linspace(-1.5, 2.5, 21)
    np.testing.assert_array_equal(Z, np.broadcast_to((xs > 0).astype(float), (21, 21)))
    pts = ax.collections[1]
    np.testing.assert_allclose(pts.get_offsets(), X.numpy())
    assert ax.get_xlim() == (-1.5, 2.5)


def test_decision_boundary_numpy_and_labels():
    X = np.array([[0.0, 0.0], [1.0, 1.0]])
    ax = plot_decision_boundary(lambda Z: (Z[:, 1] > 0.5).astype(int), X, [0, 1], resolution=5, margin=0.0)
    Z = np.asarray(ax.collections[0].get_array()).reshape(5, 5)
    np.testing.assert_array_equal(Z[:, 0], [0, 0, 0, 1, 1])


def test_decision_boundary_bad_input():
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        plot_decision_boundary(lambda Z: Z[:, 0], np.zeros((3, 3)), [0, 1, 0])
    with pytest.raises(ValueError, match="2 labels"):
        plot_decision_boundary(lambda Z: Z[:, 0], np.zeros((3, 2)), [0, 1])
    with pytest.raises(ValueError, match="returned 1 values"):
        plot_decision_boundary(lambda Z: np.zeros(1), np.zeros((3, 2)), [0, 1, 0], resolution=4)


def test_heatmap_cells_labels_and_nan():
    V = np.array([[0.1, 0.2, np.nan], [0.4, 0.9, 0.3]])
    ax = heatmap(V, ["1e-3", "1e-2", "1e-1"], [0.0, 1e-4], xlabel="lr", ylabel="reg", highlight_max=True)
    img = ax.images[0].get_array()
    assert img.shape == (2, 3) and bool(img.mask[0, 2]) and not img.mask[1, 1]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1e-3", "1e-2", "1e-1"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["0.0", "0.0001"]
    assert sorted(t.get_text() for t in ax.texts) == ["0.100", "0.200", "0.300", "0.400", "0.900"]
    (box,) = ax.patches
    assert box.get_xy() == (0.5, 0.5)
    assert len(ax.figure.axes) == 2  # the colorbar
    assert ax.get_xlabel() == "lr" and ax.get_ylabel() == "reg"


def test_heatmap_shape_error():
    with pytest.raises(ValueError, match=r"\(3, 2\)"):
        heatmap(np.zeros((2, 3)), ["a", "b"], ["x", "y", "z"])
