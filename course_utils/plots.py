"""Small plotting helpers the notebooks share (matplotlib only).

Each function draws into ``ax`` (or ``fig``) when given, otherwise into a new
figure, and returns what it drew into; nothing is closed or shown, so the
caller decides. Tensors on any device are accepted wherever arrays are.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["plot_loss_curves", "plot_train_val", "show_class_templates", "plot_decision_boundary", "heatmap"]


def _np(values, dtype=np.float64) -> np.ndarray:
    """Tensors (any device, requires_grad or not), lists of 0-d tensors, arrays -> NumPy."""
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a course dependency
        torch = None
    if torch is not None and isinstance(values, torch.Tensor):
        return values.detach().to("cpu", torch.float64).numpy().astype(dtype, copy=False)
    if torch is not None and isinstance(values, (list, tuple)) and any(isinstance(v, torch.Tensor) for v in values):
        values = [float(v) if isinstance(v, torch.Tensor) else v for v in values]
    return np.asarray(values, dtype=dtype)


def _new_ax(ax, figsize=(6, 4)):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize)
    return ax


def _smooth(y: np.ndarray, smooth) -> np.ndarray:
    """Moving average over ``smooth`` points (an int >= 2), or an EMA with factor ``smooth`` in (0, 1)."""
    if isinstance(smooth, float) and 0 < smooth < 1:
        out = np.empty_like(y)
        acc = y[0]
        for i, v in enumerate(y):
            acc = smooth * acc + (1 - smooth) * v
            out[i] = acc
        return out
    window = int(smooth)
    if window != smooth or window < 1:
        raise ValueError(f"smooth must be a window size (int >= 1) or an EMA factor in (0, 1), got {smooth!r}")
    window = min(window, len(y))
    kernel = np.ones(window) / window
    # average over the points seen so far at the start, so the curve keeps its length
    head = np.cumsum(y[: window - 1]) / np.arange(1, window)
    return np.concatenate([head, np.convolve(y, kernel, mode="valid")])


def plot_loss_curves(histories, ax=None, log: bool = False, smooth=None, xlabel: str = "iteration",
                     ylabel: str = "loss", title: str | None = None):
    """One line per entry of ``histories`` (``{"SGD": losses, "Adam": losses}``).

    A single list is also accepted. ``log=True`` uses a log y axis (non-positive
    values are masked). ``smooth`` (moving-average window, or EMA factor in
    (0, 1)) draws the smoothed curve over a faint copy of the raw one.
    Returns the Axes.
    """
    if not isinstance(histories, Mapping):
        histories = {ylabel: histories}
    if not histories:
        raise ValueError("plot_loss_curves: histories is empty; pass {'name': [loss, ...]}")
    ax = _new_ax(ax)
    for name, values in histories.items():
        y = _np(values).reshape(-1)
        x = np.arange(len(y))
        if smooth is not None and len(y) > 1:
            (raw,) = ax.plot(x, y, alpha=0.25, linewidth=1)
            ax.plot(x, _smooth(y, smooth), color=raw.get_color(), label=str(name))
        else:
            ax.plot(x, y, label=str(name))
    if log:
        ax.set_yscale("log", nonpositive="mask")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    if len(histories) > 1 or smooth is not None:
        ax.legend()
    ax.grid(True, alpha=0.3)
    return ax


def plot_train_val(train_acc, val_acc, ax=None, x=None, xlabel: str = "epoch", ylabel: str = "accuracy",
                   title: str | None = None):
    """Training and validation curves (accuracy by default) on one Axes; returns it.

    ``x`` gives the positions of the points (default 0, 1, 2, ...); a widening
    gap between the curves is the overfitting the lecture talks about.
    """
    train, val = _np(train_acc).reshape(-1), _np(val_acc).reshape(-1)
    if x is None:
        if len(train) != len(val):
            raise ValueError(f"plot_train_val: {len(train)} training but {len(val)} validation values; pass x= for each, or equal lengths")
        xs_t = xs_v = np.arange(len(train))
    else:
        xs_t = xs_v = _np(x).reshape(-1)
        if not len(xs_t) == len(train) == len(val):
            raise ValueError(f"plot_train_val: x has {len(xs_t)} points, train {len(train)}, val {len(val)}; they must match")
    ax = _new_ax(ax)
    ax.plot(xs_t, train, marker="o", markersize=3, label="train")
    ax.plot(xs_v, val, marker="o", markersize=3, label="val")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend()
    ax.grid(True, alpha=0.3)
    return ax


def show_class_templates(W, classes, image_shape, mean_image=None, bias_trick: bool = True, fig=None,
                         ncols: int | None = None, scale: str = "per_class", title: str | None = None):
    """Show each column of a linear classifier's ``W`` (D[+1], C) as an image.

    With ``bias_trick=True`` the last row of ``W`` is the bias and is dropped.
    Each template is rescaled to [0, 1] for display: ``scale="per_class"``
    stretches every class to its own min..max (shapes stand out),
    ``scale="shared"`` maps all classes with one range (magnitudes compare).
    With ``mean_image`` (flattened, in [0, 1]) the template is shown as
    ``mean_image + weights``, the weights scaled to ±0.5, clipped to [0, 1].
    ``image_shape`` is (H, W, C); C = 1 is shown in grey. Returns the Figure.
    """
    Wn = _np(W)
    if Wn.ndim != 2:
        raise ValueError(f"show_class_templates: W must be 2-D (D, C), got shape {Wn.shape}")
    image_shape = tuple(int(s) for s in image_shape)
    if len(image_shape) == 2:
        image_shape = image_shape + (1,)
    pixels = math.prod(image_shape)
    expected = pixels + (1 if bias_trick else 0)
    if Wn.shape[0] != expected:
        raise ValueError(
            f"show_class_templates: W has {Wn.shape[0]} rows, but image_shape {image_shape} "
            f"{'plus the bias row ' if bias_trick else ''}needs {expected}"
            f"{' (set bias_trick=False if W has no bias row)' if Wn.shape[0] == pixels else ''}"
            f"{' (set bias_trick=True to drop the bias row)' if Wn.shape[0] == pixels + 1 and not bias_trick else ''}"
        )
    classes = list(classes)
    num_classes = Wn.shape[1]
    if len(classes) != num_classes:
        raise ValueError(f"show_class_templates: W has {num_classes} columns but {len(classes)} class names were given")
    if scale not in ("per_class", "shared"):
        raise ValueError(f"show_class_templates: scale must be 'per_class' or 'shared', got {scale!r}")
    T = Wn[:pixels].T  # (C, pixels)
    if mean_image is not None:
        mean = _np(mean_image).reshape(-1)
        if mean.size != pixels:
            raise ValueError(f"show_class_templates: mean_image has {mean.size} values, the images have {pixels}")
        peak = np.abs(T).max(axis=1, keepdims=True) if scale == "per_class" else np.abs(T).max()
        imgs = np.clip(mean + 0.5 * T / np.maximum(peak, 1e-12), 0.0, 1.0)
    else:
        lo = T.min(axis=1, keepdims=True) if scale == "per_class" else T.min()
        hi = T.max(axis=1, keepdims=True) if scale == "per_class" else T.max()
        imgs = (T - lo) / np.maximum(hi - lo, 1e-12)

    ncols = ncols or min(num_classes, 10 if num_classes <= 10 else 8)
    nrows = math.ceil(num_classes / ncols)
    if fig is None:
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=(1.3 * ncols, 1.5 * nrows + (0.3 if title else 0)))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k >= num_classes:
            continue
        img = imgs[k].reshape(image_shape)
        if image_shape[2] == 1:
            ax.imshow(img[..., 0], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        else:
            ax.imshow(img, vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(str(classes[k]), fontsize=9)
    if title:
        fig.suptitle(title)
    return fig


def plot_decision_boundary(predict_fn, X, y, ax=None, resolution: int = 200, margin: float = 0.5,
                           title: str | None = None, cmap: str = "coolwarm", alpha: float = 0.3):
    """Color the plane by ``predict_fn`` and scatter the 2-D points ``X`` colored by ``y``.

    ``predict_fn`` takes an (M, 2) input of the same kind as ``X`` (a tensor on
    ``X``'s device and dtype, or an array) and returns class indices (M,) or
    scores (M, C), of which the argmax is taken. Returns the Axes; the region
    colors are the Axes' QuadMesh (``ax.collections[0]``).
    """
    Xn = _np(X)
    if Xn.ndim != 2 or Xn.shape[1] != 2:
        raise ValueError(f"plot_decision_boundary: X must have shape (N, 2), got {Xn.shape}")
    yn = _np(y, dtype=np.int64).reshape(-1)
    if len(yn) != len(Xn):
        raise ValueError(f"plot_decision_boundary: X has {len(Xn)} points but y has {len(yn)} labels")
    resolution = int(resolution)
    if resolution < 2:
        raise ValueError("plot_decision_boundary: resolution must be at least 2")
    (x0, y0), (x1, y1) = Xn.min(axis=0) - margin, Xn.max(axis=0) + margin
    gx, gy = np.meshgrid(np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution))
    grid = np.column_stack([gx.ravel(), gy.ravel()])

    try:
        import torch
    except ImportError:  # pragma: no cover
        torch = None
    if torch is not None and isinstance(X, torch.Tensor):
        query = torch.as_tensor(grid, dtype=X.dtype if X.is_floating_point() else torch.float32, device=X.device)
        with torch.no_grad():
            out = predict_fn(query)
    else:
        out = predict_fn(grid)
    pred = _np(out)
    if pred.ndim == 2:
        pred = pred.argmax(axis=1)
    pred = pred.reshape(-1)
    if pred.size != grid.shape[0]:
        raise ValueError(f"plot_decision_boundary: predict_fn returned {pred.size} values for {grid.shape[0]} points")

    ax = _new_ax(ax, figsize=(5, 5))
    classes = np.unique(np.concatenate([yn, pred.astype(np.int64)]))
    vmin, vmax = float(classes.min()), float(classes.max())
    ax.pcolormesh(gx, gy, pred.reshape(gx.shape), cmap=cmap, alpha=alpha, shading="auto", vmin=vmin, vmax=vmax)
    ax.scatter(Xn[:, 0], Xn[:, 1], c=yn, cmap=cmap, vmin=vmin, vmax=vmax, edgecolors="k", s=20, linewidths=0.5)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    if title:
        ax.set_title(title)
    return ax


def heatmap(values, xlabels: Sequence, ylabels: Sequence, ax=None, cmap: str = "viridis", annotate: bool = True,
            fmt: str = "{:.3f}", xlabel: str | None = None, ylabel: str | None = None, title: str | None = None,
            colorbar: bool = True, highlight_max: bool = False):
    """A labelled grid of ``values`` (rows = ``ylabels``, columns = ``xlabels``), e.g. validation
    accuracy over (reg, learning rate). NaN cells stay blank. Returns the Axes."""
    V = _np(values)
    if V.ndim != 2 or V.shape != (len(ylabels), len(xlabels)):
        raise ValueError(
            f"heatmap: values have shape {V.shape}, expected ({len(ylabels)}, {len(xlabels)}) = (len(ylabels), len(xlabels))"
        )
    ax = _new_ax(ax, figsize=(1 + 0.9 * len(xlabels), 1 + 0.6 * len(ylabels)))
    masked = np.ma.masked_invalid(V)
    image = ax.imshow(masked, cmap=cmap, aspect="auto", interpolation="nearest")
    ax.set_xticks(range(len(xlabels)), [str(v) for v in xlabels], rotation=45, ha="right")
    ax.set_yticks(range(len(ylabels)), [str(v) for v in ylabels])
    if annotate and masked.count():
        lo, hi = float(masked.min()), float(masked.max())
        mid = (lo + hi) / 2
        for (i, j), v in np.ndenumerate(V):
            if np.isfinite(v):
                ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=8,
                        color="black" if v > mid else "white")
    if highlight_max and masked.count():
        i, j = np.unravel_index(np.nanargmax(V), V.shape)
        from matplotlib.patches import Rectangle

        ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=2))
    if colorbar:
        ax.figure.colorbar(image, ax=ax)
    if xlabel:
        ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    return ax
