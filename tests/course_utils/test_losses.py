"""course_utils.losses equals float64 references written with plain loops/ops."""

import math

import pytest
import torch

from course_utils.losses import LOSSES, softmax_loss, svm_loss


def _problem(n=7, d=5, c=4, seed=0, dtype=torch.float64, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    W = torch.randn(d, c, generator=g, dtype=dtype) * scale
    X = torch.randn(n, d, generator=g, dtype=dtype)
    y = torch.randint(0, c, (n,), generator=g)
    return W, X, y


def _softmax_ref(W, X, y, reg):
    """Loop-based float64 loss and hand-derived gradient (the lecture's formulas)."""
    W, X = W.double(), X.double()
    n = X.shape[0]
    loss, dW = 0.0, torch.zeros_like(W)
    for i in range(n):
        s = X[i] @ W
        s = s - s.max()
        log_z = math.log(float(torch.exp(s).sum()))
        loss += log_z - float(s[y[i]])  # -log p_y without forming a p that underflows to 0
        p = torch.exp(s) / torch.exp(s).sum()
        p[y[i]] -= 1
        dW += torch.outer(X[i], p)
    return loss / n + reg * float((W * W).sum()), dW / n + 2 * reg * W


def _svm_ref(W, X, y, reg):
    W, X = W.double(), X.double()
    n, c = X.shape[0], W.shape[1]
    loss, dW = 0.0, torch.zeros_like(W)
    for i in range(n):
        s = X[i] @ W
        for j in range(c):
            if j == int(y[i]):
                continue
            margin = float(s[j] - s[y[i]] + 1)
            if margin > 0:
                loss += margin
                dW[:, j] += X[i]
                dW[:, y[i]] -= X[i]
    return loss / n + reg * float((W * W).sum()), dW / n + 2 * reg * W


REFS = {"softmax": (softmax_loss, _softmax_ref), "svm": (svm_loss, _svm_ref)}


@pytest.mark.parametrize("name", sorted(REFS))
@pytest.mark.parametrize("reg", [0.0, 0.1, 2.5])
def test_loss_and_grad_match_float64_reference(name, reg):
    fn, ref = REFS[name]
    for seed in range(4):
        W, X, y = _problem(seed=seed)
        loss, dW = fn(W, X, y, reg)
        want_loss, want_dW = ref(W, X, y, reg)
        assert type(loss) is torch.Tensor and loss.dim() == 0
        assert dW.shape == W.shape and dW.dtype == W.dtype
        assert abs(float(loss) - want_loss) <= 1e-12 * max(1.0, abs(want_loss))
        torch.testing.assert_close(dW, want_dW, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", sorted(REFS))
def test_regularization_is_reg_sum_w_squared_without_half(name):
    fn, _ = REFS[name]
    W, X, y = _problem(seed=3)
    l0, g0 = fn(W, X, y, 0.0)
    l1, g1 = fn(W, X, y, 0.7)
    assert float(l1 - l0) == pytest.approx(0.7 * float((W * W).sum()), rel=1e-12)
    torch.testing.assert_close(g1 - g0, 2 * 0.7 * W)


@pytest.mark.parametrize("name", sorted(REFS))
def test_float32_close_to_float64(name):
    fn, ref = REFS[name]
    W, X, y = _problem(seed=1, dtype=torch.float32)
    loss, dW = fn(W, X, y, 0.05)
    assert loss.dtype == torch.float32 and dW.dtype == torch.float32
    want_loss, want_dW = ref(W, X, y, 0.05)
    assert abs(float(loss) - want_loss) <= 1e-5 * max(1.0, abs(want_loss))
    torch.testing.assert_close(dW.double(), want_dW, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(REFS))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_finite_for_large_scores(name, dtype):
    fn, ref = REFS[name]
    W, X, y = _problem(seed=2, dtype=dtype, scale=1e4)  # scores ~1e4: exp overflows without the max shift
    loss, dW = fn(W, X, y, 0.0)
    assert math.isfinite(float(loss)) and bool(torch.isfinite(dW).all())
    want_loss, want_dW = ref(W, X, y, 0.0)
    assert abs(float(loss) - want_loss) <= 1e-4 * max(1.0, abs(want_loss))
    torch.testing.assert_close(dW.double(), want_dW, rtol=1e-4, atol=1e-4)


def test_inputs_untouched_and_no_autograd_leak():
    W, X, y = _problem(seed=5)
    W0, X0 = W.clone(), X.clone()
    with torch.no_grad():  # works inside no_grad too (training loops often run there)
        for fn in LOSSES.values():
            loss, dW = fn(W, X, y, 0.3)
            assert not loss.requires_grad and not dW.requires_grad
    assert torch.equal(W, W0) and torch.equal(X, X0)
    assert not W.requires_grad and W.grad is None


def test_svm_zero_loss_when_margins_satisfied():
    X = torch.eye(3, dtype=torch.float64)
    W = 5 * torch.eye(3, dtype=torch.float64)  # correct score 5, others 0: margin 5 > 1
    y = torch.arange(3)
    loss, dW = svm_loss(W, X, y, 0.0)
    assert float(loss) == 0.0 and bool((dW == 0).all())
    loss, _ = softmax_loss(torch.zeros(3, 3, dtype=torch.float64), X, y, 0.0)
    assert float(loss) == pytest.approx(math.log(3))


@pytest.mark.parametrize(
    "mutate, match",
    [
        (lambda W, X, y: (W.T, X, y), "must match"),
        (lambda W, X, y: (W, X, y.float()), "int64"),
        (lambda W, X, y: (W, X, y[:-1]), r"y must be \(N,\)"),
        (lambda W, X, y: (W, X, y + 10), "labels must lie"),
        (lambda W, X, y: (W, X.float(), y), "dtype"),
        (lambda W, X, y: (W.numpy(), X, y), "torch.Tensor"),
    ],
)
def test_bad_input_gets_a_clear_error(mutate, match):
    W, X, y = _problem(n=6, d=4, c=3)
    for fn in LOSSES.values():
        with pytest.raises((ValueError, TypeError), match=match):
            fn(*mutate(W, X, y), 0.1)
