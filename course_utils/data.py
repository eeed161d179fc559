"""Datasets for the course, preprocessed the way the lecture does it.

One setting picks the dataset for every notebook: the environment variable
``COURSE_DATASET`` (``digits``, the default, always offline; or ``cifar10``,
downloaded once and cached). A wrong name is an error, never a silent fallback.

    data = load_course_data()            # dict of tensors on get_device()
    data["X_train"].shape                # (N, D+1) with the bias trick
"""

from __future__ import annotations

import math
import os

import numpy as np
import torch

from .device import get_device

ENV_VAR = "COURSE_DATASET"
DATASETS = ("digits", "cifar10")
DEFAULT_DATASET = "digits"

DIGITS_CLASSES = tuple(str(i) for i in range(10))
CIFAR10_CLASSES = ("plane", "car", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")

# Split sizes per dataset: (train, val, test, dev). Digits has 1,797 images.
SPLITS = {
    "digits": (1000, 297, 500, 100),
    "cifar10": (49000, 1000, 10000, 500),
}


def course_dataset(name: str | None = None) -> str:
    """The dataset the course uses: ``name``, else ``$COURSE_DATASET``, else digits."""
    chosen = (name or os.environ.get(ENV_VAR) or DEFAULT_DATASET).strip().lower()
    if chosen not in DATASETS:
        raise ValueError(
            f"unknown dataset {chosen!r} (from {'the argument' if name else ENV_VAR}); "
            f"choose one of {', '.join(DATASETS)}, e.g. `export {ENV_VAR}=digits`"
        )
    return chosen


def load_digits_arrays():
    """scikit-learn's 8x8 digits as ``(X uint8 (N, 8, 8, 1), y int64)``; ships with sklearn, offline."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    # pixel values are 0..16; scale to 0..255 so both datasets share one pipeline
    X = np.round(bunch.images * (255.0 / 16.0)).astype(np.uint8)[..., None]
    return X, bunch.target.astype(np.int64)


def preprocess(X, *, mean=None, scale=True, subtract_mean=True, bias_trick=True, flatten=True):
    """Flatten, scale to [0, 1], subtract the (training) mean image, append a 1 column.

    ``X`` is uint8 of shape (N, H, W, C). Returns ``(X_float64 ndarray, mean)``:
    pass the returned training mean when preprocessing val/test/dev splits.
    """
    # one float64 buffer, filled and updated in place: CIFAR-10's training split
    # is 1.2 GB in float64, so every temporary copy counts
    X = np.asarray(X)
    n = X.shape[0]
    if flatten:
        X = X.reshape(n, -1)
    if bias_trick:
        if X.ndim != 2:
            raise ValueError(f"bias_trick needs flattened rows (flatten=True); got shape {X.shape}")
        out = np.empty((n, X.shape[1] + 1), dtype=np.float64)
        out[:, -1] = 1.0
        body = out[:, :-1]
        body[...] = X
    else:
        out = body = np.array(X, dtype=np.float64)
    if scale:
        body /= 255.0
    if subtract_mean:
        if mean is None:
            mean = body.mean(axis=0)
        body -= mean
    return out, mean


def split_indices(n: int, sizes, seed: int = 0):
    """Disjoint random index sets for train/val/test, and a dev subset of train."""
    num_train, num_val, num_test, num_dev = sizes
    if num_train + num_val + num_test > n:
        raise ValueError(f"splits of {num_train}+{num_val}+{num_test} need {num_train + num_val + num_test} examples, the data has {n}")
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    train = order[:num_train]
    val = order[num_train:num_train + num_val]
    test = order[num_train + num_val:num_train + num_val + num_test]
    dev = rng.choice(train, size=min(num_dev, num_train), replace=False)
    return train, val, test, dev


def load_course_data(
    dataset: str | None = None,
    *,
    num_train: int | None = None,
    num_val: int | None = None,
    num_test: int | None = None,
    num_dev: int | None = None,
    subtract_mean: bool = True,
    bias_trick: bool = True,
    device=None,
    dtype: torch.dtype = torch.float32,
    seed: int = 0,
    cache_dir=None,
):
    """Load the course dataset, preprocess it, split it and move it to ``device``.

    Returns a dict with ``X_train, y_train, X_val, y_val, X_test, y_test, X_dev,
    y_dev`` (features float ``dtype``, labels int64), ``classes``,
    ``image_shape`` (H, W, C), ``mean_image`` (flattened, float64 numpy) and
    ``dataset``. Splits are disjoint; dev is a subset of train for quick checks.
    For CIFAR-10 the official test batch is the test split.
    """
    name = course_dataset(dataset)
    device = torch.device(device) if device is not None else get_device()
    default_sizes = SPLITS[name]
    sizes = tuple(d if v is None else int(v) for v, d in zip((num_train, num_val, num_test, num_dev), default_sizes))

    if name == "digits":
        X, y = load_digits_arrays()
        classes = DIGITS_CLASSES
        tr, va, te, dv = split_indices(len(y), sizes, seed=seed)
        parts = {"train": (X[tr], y[tr]), "val": (X[va], y[va]), "test": (X[te], y[te]), "dev": (X[dv], y[dv])}
    else:
        from .cifar10 import load_cifar10_arrays

        X_tr_all, y_tr_all, X_te_all, y_te_all = load_cifar10_arrays(cache_dir=cache_dir)
        classes = CIFAR10_CLASSES
        num_tr, num_va, num_te, num_dv = sizes
        if num_tr + num_va > len(y_tr_all) or num_te > len(y_te_all):
            raise ValueError(f"CIFAR-10 has {len(y_tr_all)} training and {len(y_te_all)} test images; asked for {sizes}")
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(y_tr_all))
        tr, va = order[:num_tr], order[num_tr:num_tr + num_va]
        dv = rng.choice(tr, size=min(num_dv, num_tr), replace=False)
        te = np.arange(num_te)
        parts = {
            "train": (X_tr_all[tr], y_tr_all[tr]), "val": (X_tr_all[va], y_tr_all[va]),
            "test": (X_te_all[te], y_te_all[te]), "dev": (X_tr_all[dv], y_tr_all[dv]),
        }

    image_shape = tuple(parts["train"][0].shape[1:])
    X_train, mean = preprocess(parts["train"][0], subtract_mean=subtract_mean, bias_trick=bias_trick)
    out = {"dataset": name, "classes": classes, "image_shape": image_shape, "mean_image": mean}
    for split, (Xs, ys) in parts.items():
        Xp = X_train if split == "train" else preprocess(Xs, mean=mean, subtract_mean=subtract_mean, bias_trick=bias_trick)[0]
        out[f"X_{split}"] = torch.as_tensor(Xp, dtype=dtype, device=device)
        out[f"y_{split}"] = torch.as_tensor(ys, dtype=torch.int64, device=device)
    return out


# --- toy data sets for the regularization and optimization demos -------------

def make_toy_2d(kind: str = "moons", n: int = 200, noise: float = 0.2, seed: int = 0,
                device=None, dtype: torch.dtype = torch.float64):
    """A two-class 2-D data set: ``moons``, ``blobs``, ``circles`` or ``spirals``.

    Returns ``(X (n, 2), y (n,) int64)`` tensors.
    """
    rng = np.random.default_rng(seed)
    if kind == "moons":
        from sklearn.datasets import make_moons

        X, y = make_moons(n_samples=n, noise=noise, random_state=seed)
    elif kind == "circles":
        from sklearn.datasets import make_circles

        X, y = make_circles(n_samples=n, noise=noise, factor=0.5, random_state=seed)
    elif kind == "blobs":
        from sklearn.datasets import make_blobs

        X, y = make_blobs(n_samples=n, centers=[(-1.0, -1.0), (1.0, 1.0)], cluster_std=1.0 + 4 * noise, random_state=seed)
    elif kind == "spirals":
        m = n // 2
        t = np.sqrt(rng.uniform(0.05, 1.0, size=m)) * 3 * math.pi
        arm = np.stack([t * np.cos(t), t * np.sin(t)], axis=1) / (3 * math.pi)
        X = np.concatenate([arm, -arm]) + rng.normal(scale=noise * 0.3, size=(2 * m, 2))
        y = np.concatenate([np.zeros(m), np.ones(m)])
    else:
        raise ValueError(f"unknown toy data set {kind!r}; choose moons, blobs, circles or spirals")
    device = torch.device(device) if device is not None else get_device()
    return (torch.as_tensor(X, dtype=dtype, device=device),
            torch.as_tensor(y, dtype=torch.int64, device=device))


def make_overfit_1d(n_per_class: int = 4, gap: float = 0.5, seed: int = 0, device=None, dtype: torch.dtype = torch.float64):
    """The lecture's 1-D two-class set: a few training points per class on a line,
    class 0 on the left, class 1 on the right, separated by a gap around 0.

    Returns ``(x_train (2n,), y_train, x_test (200,), y_test)``; the held-out
    points come from the same two noisy clusters, so they overlap the gap.
    """
    rng = np.random.default_rng(seed)
    left = -gap - rng.uniform(0.0, 1.5, size=n_per_class)
    right = gap + rng.uniform(0.0, 1.5, size=n_per_class)
    x_train = np.concatenate([left, right])
    y_train = np.concatenate([np.zeros(n_per_class), np.ones(n_per_class)])
    x_test = np.concatenate([rng.normal(-1.0, 0.8, size=100), rng.normal(1.0, 0.8, size=100)])
    y_test = np.concatenate([np.zeros(100), np.ones(100)])
    device = torch.device(device) if device is not None else get_device()
    as_x = lambda a: torch.as_tensor(a, dtype=dtype, device=device)  # noqa: E731
    as_y = lambda a: torch.as_tensor(a, dtype=torch.int64, device=device)  # noqa: E731
    return as_x(x_train), as_y(y_train), as_x(x_test), as_y(y_test)
