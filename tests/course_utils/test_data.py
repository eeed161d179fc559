"""course_utils.data: dataset choice, digits, preprocessing, splits, toy sets, CIFAR-10 end to end."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from course_utils import cifar10, data
from course_utils.data import (
    course_dataset, load_course_data, load_digits_arrays, make_overfit_1d, make_toy_2d, preprocess, split_indices,
)

from .cifar_archive import archive_bytes, expected_arrays, make_batches, md5, serve

SPLITS = ("train", "val", "test", "dev")


@pytest.fixture(scope="module")
def digits():
    return load_course_data("digits", device="cpu", dtype=torch.float64)


def _rows(X):
    return {tuple(r) for r in X.tolist()}


# --- choosing the dataset -----------------------------------------------------

def test_course_dataset_default_env_and_argument(monkeypatch):
    monkeypatch.delenv(data.ENV_VAR, raising=False)
    assert course_dataset() == "digits"
    monkeypatch.setenv(data.ENV_VAR, " CIFAR10 ")
    assert course_dataset() == "cifar10"
    assert course_dataset("Digits") == "digits"


def test_wrong_dataset_name(monkeypatch):
    with pytest.raises(ValueError) as info:
        load_course_data("mnist")
    assert "'mnist'" in str(info.value) and "digits" in str(info.value) and "cifar10" in str(info.value)
    monkeypatch.setenv(data.ENV_VAR, "cifar-10")
    with pytest.raises(ValueError) as info:
        course_dataset()
    assert data.ENV_VAR in str(info.value) and "'cifar-10'" in str(info.value)


# --- digits ------------------------------------------------------------------

def test_digits_arrays():
    X, y = load_digits_arrays()
    assert X.dtype == np.uint8 and X.shape == (1797, 8, 8, 1)
    assert y.dtype == np.int64 and set(y.tolist()) == set(range(10))
    assert X.max() == 255 and X.min() == 0


def test_digits_shapes_dtypes_and_meta(digits):
    sizes = dict(zip(SPLITS, data.SPLITS["digits"]))
    for split in SPLITS:
        X, y = digits[f"X_{split}"], digits[f"y_{split}"]
        assert X.shape == (sizes[split], 65) and X.dtype == torch.float64 and X.device.type == "cpu"
        assert y.shape == (sizes[split],) and y.dtype == torch.int64
    assert digits["dataset"] == "digits" and digits["image_shape"] == (8, 8, 1)
    assert list(digits["classes"]) == [str(i) for i in range(10)]
    assert digits["mean_image"].shape == (64,)


def test_digits_statistics(digits):
    Xtr = digits["X_train"]
    assert torch.all(Xtr[:, -1] == 1), "bias trick: last column is ones"
    assert Xtr[:, :-1].mean(dim=0).abs().max() < 1e-12, "training mean is subtracted"
    mean = torch.as_tensor(digits["mean_image"])
    for split in SPLITS:
        raw = digits[f"X_{split}"][:, :-1] + mean  # undo the mean subtraction
        assert raw.min() >= -1e-12 and raw.max() <= 1 + 1e-12
    assert 0 <= mean.min() and mean.max() <= 1


def test_digits_splits_disjoint_and_dev_in_train(digits):
    train = _rows(digits["X_train"])
    # digits has a few exact duplicate images, so compare (row, label) pairs by index instead
    tr, va, te, dv = split_indices(1797, data.SPLITS["digits"], seed=0)
    assert not (set(tr) & set(va) or set(tr) & set(te) or set(va) & set(te))
    assert set(dv) <= set(tr) and len(set(dv)) == len(dv)
    assert _rows(digits["X_dev"]) <= train


def test_digits_labels_match_images():
    X, y = load_digits_arrays()
    out = load_course_data("digits", device="cpu", dtype=torch.float64, subtract_mean=False, bias_trick=False)
    tr, va, te, dv = split_indices(len(y), data.SPLITS["digits"], seed=0)
    want = X[te].reshape(len(te), -1) / 255.0
    np.testing.assert_allclose(out["X_test"].numpy(), want)
    np.testing.assert_array_equal(out["y_test"].numpy(), y[te])
    assert out["X_train"].shape == (1000, 64)
    assert out["X_train"].min() >= 0 and out["X_train"].max() <= 1


def test_seed_and_sizes(digits):
    other = load_course_data("digits", device="cpu", dtype=torch.float64, seed=1, num_train=50, num_val=10, num_test=20, num_dev=5)
    assert other["X_train"].shape == (50, 65) and other["X_dev"].shape == (5, 65)
    same = load_course_data("digits", device="cpu", dtype=torch.float64)
    assert torch.equal(same["X_val"], digits["X_val"])
    assert not torch.equal(other["X_train"], digits["X_train"][:50])


def test_dtype_and_device_honoured(monkeypatch):
    out = load_course_data("digits", dtype=torch.float32, device=torch.device("cpu"), num_train=20, num_val=5, num_test=5, num_dev=3)
    assert out["X_train"].dtype == torch.float32 and out["y_train"].dtype == torch.int64
    monkeypatch.setenv("COURSE_DEVICE", "meta")  # default device comes from get_device()
    out = load_course_data("digits", num_train=20, num_val=5, num_test=5, num_dev=3)
    assert out["X_train"].device.type == "meta" and out["y_val"].device.type == "meta"


def test_too_large_split():
    with pytest.raises(ValueError, match="1797"):
        load_course_data("digits", num_train=1700, num_val=200)


# --- preprocessing -----------------------------------------------------------

def test_preprocess_pipeline():
    X = np.array([[[[0]], [[255]]], [[[51]], [[102]]]], dtype=np.uint8)  # (2, 2, 1, 1)
    out, mean = preprocess(X)
    np.testing.assert_allclose(mean, [0.1, 0.7])
    np.testing.assert_allclose(out, [[-0.1, 0.3, 1.0], [0.1, -0.3, 1.0]])
    again, same = preprocess(X[:1], mean=mean)
    assert same is mean
    np.testing.assert_allclose(again, [[-0.1, 0.3, 1.0]])
    plain, none = preprocess(X, subtract_mean=False, bias_trick=False)
    assert none is None and plain.shape == (2, 2)
    np.testing.assert_allclose(plain, [[0.0, 1.0], [0.2, 0.4]])
    kept, _ = preprocess(X, flatten=False, subtract_mean=False, bias_trick=False, scale=False)
    assert kept.shape == (2, 2, 1, 1) and kept.max() == 255


def test_preprocess_leaves_input_alone_and_rejects_unflattened_bias():
    X = np.full((3, 2, 2, 1), 255.0)
    for kw in ({}, {"bias_trick": False}):
        preprocess(X, **kw)
        assert np.all(X == 255.0), "the caller's array must not be modified in place"
    with pytest.raises(ValueError, match="flatten=True"):
        preprocess(X, flatten=False)


def test_split_indices_properties():
    tr, va, te, dv = split_indices(100, (50, 20, 30, 10), seed=3)
    assert len(tr) == 50 and len(va) == 20 and len(te) == 30 and len(dv) == 10
    assert len(set(tr) | set(va) | set(te)) == 100
    assert set(dv) <= set(tr)
    tr2, *_ = split_indices(100, (50, 20, 30, 10), seed=3)
    np.testing.assert_array_equal(tr, tr2)
    with pytest.raises(ValueError, match="101"):
        split_indices(100, (51, 20, 30, 1))


# --- toy sets ------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["moons", "blobs", "circles", "spirals"])
def test_toy_2d(kind):
    X, y = make_toy_2d(kind, n=120, seed=2, device="cpu")
    assert X.shape == (120, 2) and X.dtype == torch.float64 and y.dtype == torch.int64
    assert set(y.tolist()) == {0, 1} and (y == 0).sum() == 60
    X2, y2 = make_toy_2d(kind, n=120, seed=2, device="cpu", dtype=torch.float32)
    assert X2.dtype == torch.float32 and torch.allclose(X2.double(), X, atol=1e-6) and torch.equal(y, y2)
    X3, _ = make_toy_2d(kind, n=120, seed=3, device="cpu")
    assert not torch.equal(X, X3)
    # the two classes are located differently (a learnable problem, not noise)
    if kind == "circles":
        r = X.norm(dim=1)
        assert r[y == 0].mean() > r[y == 1].mean() + 0.2
    else:
        assert (X[y == 0].mean(0) - X[y == 1].mean(0)).norm() > 0.3


def test_toy_2d_unknown_kind():
    with pytest.raises(ValueError, match="moons, blobs, circles or spirals"):
        make_toy_2d("swirl")


def test_overfit_1d():
    xtr, ytr, xte, yte = make_overfit_1d(n_per_class=5, gap=0.5, seed=0, device="cpu")
    assert xtr.shape == (10,) and ytr.tolist() == [0] * 5 + [1] * 5
    assert torch.all(xtr[ytr == 0] <= -0.5) and torch.all(xtr[ytr == 1] >= 0.5)
    assert xte.shape == (200,) and yte.dtype == torch.int64
    # held-out points overlap the gap: a perfect training fit cannot be perfect on test
    assert ((xte[yte == 0] > 0).any() and (xte[yte == 1] < 0).any())
    assert torch.equal(make_overfit_1d(5, 0.5, 0, device="cpu")[0], xtr)


# --- CIFAR-10 through load_course_data -------------------------------------------

def test_cifar10_end_to_end_from_local_server(tmp_path, monkeypatch):
    batches = make_batches(n_per_batch=20, n_test=30, seed=9)
    blob = archive_bytes(batches)
    X_train_all, y_train_all, X_test_all, y_test_all = expected_arrays(batches)
    with serve() as server:
        server.routes["/cifar.tgz"] = (blob, "ok")
        monkeypatch.setenv(cifar10.URL_ENV, server.url("/cifar.tgz"))
        monkeypatch.setenv(cifar10.MD5_ENV, md5(blob))
        monkeypatch.setenv(data.ENV_VAR, "cifar10")
        out = load_course_data(num_train=60, num_val=20, num_test=25, num_dev=10, cache_dir=tmp_path,
                               device="cpu", dtype=torch.float64)
    assert server.requests == ["/cifar.tgz"]
    assert out["dataset"] == "cifar10" and out["image_shape"] == (32, 32, 3) and len(out["classes"]) == 10
    assert out["X_train"].shape == (60, 3073) and out["X_val"].shape == (20, 3073)
    assert out["X_test"].shape == (25, 3073) and out["X_dev"].shape == (10, 3073)
    mean = torch.as_tensor(out["mean_image"])
    # the official test batch is the test split, in order, pixels in (H, W, C) order
    want = torch.as_tensor(X_test_all[:25].reshape(25, -1) / 255.0)
    assert torch.allclose(out["X_test"][:, :-1] + mean, want, atol=1e-12)
    assert out["y_test"].tolist() == y_test_all[:25].tolist()
    assert out["X_train"][:, :-1].mean(0).abs().max() < 1e-12
    # train and val are disjoint draws from the 100 training images
    def pixels(X):
        return {tuple(r) for r in torch.round((X[:, :-1] + mean) * 255).to(torch.int64).tolist()}

    pool = {tuple(r) for r in X_train_all.reshape(100, -1).astype(np.int64).tolist()}
    tr, va = pixels(out["X_train"]), pixels(out["X_val"])
    assert len(tr) == 60 and len(va) == 20 and not (tr & va)
    assert tr | va <= pool and pixels(out["X_dev"]) <= tr
    # second call: cache only (the server is gone)
    again = load_course_data("cifar10", num_train=60, num_val=20, num_test=25, num_dev=10, cache_dir=tmp_path,
                             device="cpu", dtype=torch.float64)
    assert torch.equal(again["X_train"], out["X_train"])


def test_cifar10_split_larger_than_data(tmp_path, monkeypatch):
    batches = make_batches(n_per_batch=4, n_test=5, seed=1)
    blob = archive_bytes(batches)
    (tmp_path / cifar10.ARCHIVE_NAME).write_bytes(blob)
    monkeypatch.setenv(cifar10.MD5_ENV, md5(blob))
    with pytest.raises(ValueError, match="20 training and 5 test"):
        load_course_data("cifar10", num_train=18, num_val=5, num_test=5, num_dev=2, cache_dir=tmp_path, device="cpu")


def test_cifar10_offline_error_is_not_a_fallback(tmp_path, monkeypatch):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv(cifar10.URL_ENV, f"http://127.0.0.1:{port}/cifar.tgz")
    with pytest.raises(cifar10.DownloadError, match="COURSE_DATASET=digits"):
        load_course_data("cifar10", cache_dir=tmp_path, device="cpu")
