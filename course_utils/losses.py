"""Softmax and multiclass SVM losses for linear classifiers, with their gradients.

Same interface as the ``gradients`` assignment (spec §3.2): ``W`` (D, C),
``X`` (N, D), ``y`` (N,) int64, ``reg`` a float. Each returns ``(loss, dW)``
where ``loss`` is a 0-d tensor, the mean data loss over N plus
``reg * sum(W * W)`` (no 1/2), and ``dW`` has W's shape, device and dtype.

These are built on ``torch.nn.functional`` and ``torch.autograd`` so later
notebooks can train with them without depending on anyone's hand-derived
gradients. The inputs are never modified and never get ``requires_grad``.

    from course_utils.losses import softmax_loss, svm_loss
    loss, dW = softmax_loss(W, X_batch, y_batch, reg=1e-4)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["softmax_loss", "svm_loss", "LOSSES"]


def _check_inputs(name: str, W, X, y, reg) -> None:
    for arg, value in (("W", W), ("X", X), ("y", y)):
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"{name}: {arg} must be a torch.Tensor, got {type(value).__name__}")
    if W.dim() != 2 or X.dim() != 2:
        raise ValueError(f"{name}: W must be (D, C) and X (N, D); got W {tuple(W.shape)} and X {tuple(X.shape)}")
    if X.shape[1] != W.shape[0]:
        raise ValueError(
            f"{name}: X has {X.shape[1]} features per row but W has {W.shape[0]} rows; "
            "they must match (did you forget the bias column, or pass W transposed?)"
        )
    if not W.is_floating_point() or X.dtype != W.dtype:
        raise TypeError(f"{name}: W and X must share one floating dtype; got W {W.dtype} and X {X.dtype}")
    if X.device != W.device or y.device != W.device:
        raise ValueError(f"{name}: W, X and y must be on one device; got {W.device}, {X.device}, {y.device}")
    if y.dim() != 1 or y.shape[0] != X.shape[0]:
        raise ValueError(f"{name}: y must be (N,) with N = X.shape[0] = {X.shape[0]}; got {tuple(y.shape)}")
    if y.dtype != torch.int64:
        raise TypeError(f"{name}: y must hold int64 class indices, got {y.dtype} (use y.long())")
    if X.shape[0] == 0:
        raise ValueError(f"{name}: X has no rows; the mean loss over an empty batch is undefined")
    lo, hi = int(y.min()), int(y.max())
    if lo < 0 or hi >= W.shape[1]:
        raise ValueError(f"{name}: labels must lie in [0, {W.shape[1] - 1}] for W with {W.shape[1]} classes; got [{lo}, {hi}]")
    if isinstance(reg, torch.Tensor):
        if reg.numel() != 1:
            raise ValueError(f"{name}: reg must be a number, got a tensor of shape {tuple(reg.shape)}")
    elif not isinstance(reg, (int, float)):
        raise TypeError(f"{name}: reg must be a number, got {type(reg).__name__}")


def _loss_and_grad(data_loss, W, X, y, reg):
    """Run ``data_loss(scores, y)`` under autograd on a private copy of W."""
    with torch.enable_grad():
        Wp = W.detach().clone().requires_grad_(True)
        scores = X.detach() @ Wp
        reg_term = (Wp * Wp).sum() * (reg.detach() if isinstance(reg, torch.Tensor) else float(reg))
        loss = data_loss(scores, y) + reg_term
        (dW,) = torch.autograd.grad(loss, Wp)
    return loss.detach(), dW


def _cross_entropy(scores, y):
    # log_softmax inside cross_entropy subtracts the row max: stable for huge scores
    return F.cross_entropy(scores, y, reduction="mean")


def _multiclass_hinge(scores, y):
    # multi_margin_loss averages over the C classes as well as over N; the
    # lecture's SVM loss sums over classes j != y_i, so undo the 1/C.
    return F.multi_margin_loss(scores, y, p=1, margin=1.0, reduction="mean") * scores.shape[1]


def softmax_loss(W, X, y, reg):
    """Softmax (cross-entropy) loss and its gradient.

    loss = mean_i [ -log softmax(X W)_{i, y_i} ] + reg * sum(W * W)
    Returns ``(loss 0-d tensor, dW shaped like W)``.
    """
    _check_inputs("softmax_loss", W, X, y, reg)
    return _loss_and_grad(_cross_entropy, W, X, y, reg)


def svm_loss(W, X, y, reg):
    """Multiclass SVM (hinge, margin 1) loss and its gradient.

    loss = mean_i sum_{j != y_i} max(0, s_ij - s_{i y_i} + 1) + reg * sum(W * W),
    with s = X W. Returns ``(loss 0-d tensor, dW shaped like W)``.
    """
    _check_inputs("svm_loss", W, X, y, reg)
    return _loss_and_grad(_multiclass_hinge, W, X, y, reg)


LOSSES = {"softmax": softmax_loss, "svm": svm_loss}
