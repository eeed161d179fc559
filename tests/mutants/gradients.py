"""Mutant catalogue for the ``gradients`` assignment (spec §3.2).

Plausible wrong answers a student writes for the numeric gradient and the SVM and
softmax losses, and alternative correct answers that must keep full marks.
"""

from tests.mutants.base import Mutant, Variant

# --- numeric_gradient ---------------------------------------------------------

NG_FORWARD = '''
def numeric_gradient(f, x, h=1e-5):
    import itertools
    grad = torch.zeros_like(x)
    fx = f(x)
    for idx in itertools.product(*[range(n) for n in x.shape]):
        old = x[idx].item()
        x[idx] = old + h
        grad[idx] = (f(x) - fx) / h
        x[idx] = old
    return grad
'''

NG_NOT_RESTORED = '''
def numeric_gradient(f, x, h=1e-5):
    import itertools
    grad = torch.zeros_like(x)
    for idx in itertools.product(*[range(n) for n in x.shape]):
        old = x[idx].item()
        x[idx] = old + h
        f_plus = f(x)
        x[idx] = old - h
        f_minus = f(x)
        grad[idx] = (f_plus - f_minus) / (2 * h)
    return grad
'''

# CS231n's line, ported from NumPy: in torch x[idx] is a 0-d view, so `old` follows
# every write to x[idx] and the result is (f(x+h) - f(x)) / (2h): half the gradient
NG_VIEW_ALIAS = '''
def numeric_gradient(f, x, h=1e-5):
    import itertools
    grad = torch.zeros_like(x)
    for idx in itertools.product(*[range(n) for n in x.shape]):
        old = x[idx]
        x[idx] = old + h
        f_plus = f(x)
        x[idx] = old - h
        f_minus = f(x)
        x[idx] = old
        grad[idx] = (f_plus - f_minus) / (2 * h)
    return grad
'''

NG_DIVIDES_BY_H = '''
def numeric_gradient(f, x, h=1e-5):
    import itertools
    grad = torch.zeros_like(x)
    for idx in itertools.product(*[range(n) for n in x.shape]):
        old = x[idx].item()
        x[idx] = old + h
        f_plus = f(x)
        x[idx] = old - h
        f_minus = f(x)
        x[idx] = old
        grad[idx] = (f_plus - f_minus) / h
    return grad
'''

NG_IGNORES_H = '''
def numeric_gradient(f, x, h=1e-5):
    import itertools
    step = 1e-5
    grad = torch.zeros_like(x)
    for idx in itertools.product(*[range(n) for n in x.shape]):
        old = x[idx].item()
        x[idx] = old + step
        f_plus = f(x)
        x[idx] = old - step
        f_minus = f(x)
        x[idx] = old
        grad[idx] = (f_plus - f_minus) / (2 * step)
    return grad
'''

NG_FLAT_VIEW = '''
def numeric_gradient(f, x, h=1e-5):
    flat = x.view(-1)  # shares memory with x, so f(x) sees each perturbation
    grad = torch.zeros_like(flat)
    for i in range(flat.numel()):
        old = flat[i].clone()
        flat[i] = old + h
        f_plus = float(f(x))
        flat[i] = old - h
        f_minus = float(f(x))
        flat[i] = old
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad.view(x.shape)
'''

NG_NDINDEX_COPY = '''
import numpy as np

def numeric_gradient(f, x, h=1e-5):
    grad = torch.empty_like(x)
    for idx in np.ndindex(*x.shape):
        xp = x.clone()
        xp[idx] += h
        xm = x.clone()
        xm[idx] -= h
        grad[idx] = (f(xp) - f(xm)) / (2 * h)
    return grad
'''

# --- svm_loss_naive ------------------------------------------------------------

SVM_NAIVE_TEMPLATE = '''
def svm_loss_naive(W, X, y, reg):
    N = X.shape[0]
    C = W.shape[1]
    dW = torch.zeros_like(W)
    loss = torch.zeros((), dtype=W.dtype, device=W.device)
    for i in range(N):
        scores = X[i] @ W
        yi = int(y[i])
        correct = scores[yi]
        for j in range(C):
            SKIP
            margin = scores[j] - correct + DELTA
            if margin > 0:
                loss = loss + margin
                dW[:, j] += X[i]
                dW[:, yi] -= X[i]
    loss = LOSS_END
    dW = DW_END
    return loss, dW
'''


def svm_naive(skip="if j == yi:\n                continue", delta="1", loss_end="loss / N + reg * torch.sum(W * W)",
              dw_end="dW / N + 2 * reg * W"):
    return (SVM_NAIVE_TEMPLATE.replace("SKIP", skip).replace("DELTA", delta)
            .replace("LOSS_END", loss_end).replace("DW_END", dw_end))


SVM_NAIVE_FLOAT_ACC = '''
def svm_loss_naive(W, X, y, reg):
    N, C = X.shape[0], W.shape[1]
    dW = torch.zeros_like(W)
    total = 0.0
    for i in range(N):
        yi = int(y[i])
        for j in range(C):
            if j == yi:
                continue
            margin = float(X[i] @ W[:, j]) - float(X[i] @ W[:, yi]) + 1.0
            if margin > 0:
                total += margin
                dW[:, j] = dW[:, j] + X[i]
                dW[:, yi] = dW[:, yi] - X[i]
    loss = torch.tensor(total / N, dtype=W.dtype, device=W.device) + reg * (W ** 2).sum()
    return loss, dW / N + 2 * reg * W
'''

# --- svm_loss_vectorized -------------------------------------------------------

SVM_VEC_TEMPLATE = '''
def svm_loss_vectorized(W, X, y, reg):
    N = X.shape[0]
    rows = torch.arange(N, device=X.device)
    scores = X @ W
    correct = scores[rows, y].unsqueeze(1)
    margins = (scores - correct + 1).clamp(min=0)
    margins[rows, y] = 0
    loss = LOSS
    M = (margins > 0).to(W.dtype)
    M[rows, y] = -M.sum(dim=1)
    dW = DW
    return loss, dW
'''


def svm_vec(loss="margins.sum() / N + reg * torch.sum(W * W)", dw="X.t() @ M / N + 2 * reg * W"):
    return SVM_VEC_TEMPLATE.replace("LOSS", loss).replace("DW", dw)


SVM_VEC_LOOP = '''
def svm_loss_vectorized(W, X, y, reg):
    N = X.shape[0]
    scores = X @ W
    margins = torch.zeros_like(scores)
    for i in range(N):
        margins[i] = (scores[i] - scores[i, y[i]] + 1).clamp(min=0)
        margins[i, y[i]] = 0
    loss = margins.sum() / N + reg * torch.sum(W * W)
    M = (margins > 0).to(W.dtype)
    M[torch.arange(N), y] = -M.sum(dim=1)
    return loss, X.t() @ M / N + 2 * reg * W
'''

SVM_VEC_MUTATES_X = '''
def svm_loss_vectorized(W, X, y, reg):
    N = X.shape[0]
    rows = torch.arange(N, device=X.device)
    scores = X @ W
    margins = (scores - scores[rows, y].unsqueeze(1) + 1).clamp(min=0)
    margins[rows, y] = 0
    loss = margins.sum() / N + reg * torch.sum(W * W)
    M = (margins > 0).to(W.dtype)
    M[rows, y] = -M.sum(dim=1)
    dW = X.t_() @ M / N + 2 * reg * W
    return loss, dW
'''

SVM_VEC_AUTOGRAD = '''
def svm_loss_vectorized(W, X, y, reg):
    N = X.shape[0]
    rows = torch.arange(N, device=X.device)
    with torch.enable_grad():
        Wg = W.detach().clone().requires_grad_(True)
        scores = X @ Wg
        margins = (scores - scores[rows, y].unsqueeze(1) + 1).clamp(min=0)
        mask = torch.ones_like(margins)
        mask[rows, y] = 0
        loss = (margins * mask).sum() / N + reg * torch.sum(Wg * Wg)
        loss.backward()
    return loss.detach(), Wg.grad
'''

SVM_VEC_EINSUM_SCATTER = '''
def svm_loss_vectorized(W, X, y, reg):
    N = X.shape[0]
    scores = torch.einsum("nd,dc->nc", X, W)
    correct = scores.gather(1, y.unsqueeze(1))
    margins = torch.clamp(scores - correct + 1.0, min=0.0)
    margins = margins.scatter(1, y.unsqueeze(1), 0.0)
    loss = margins.sum() / N + reg * (W * W).sum()
    pos = (margins > 0).to(W.dtype)
    coef = pos.scatter(1, y.unsqueeze(1), -pos.sum(dim=1, keepdim=True))
    dW = torch.einsum("nd,nc->dc", X, coef) / N + 2 * reg * W
    return loss, dW
'''

# --- softmax_loss_naive ----------------------------------------------------------

SM_NAIVE_TEMPLATE = '''
def softmax_loss_naive(W, X, y, reg):
    N = X.shape[0]
    C = W.shape[1]
    dW = torch.zeros_like(W)
    loss = torch.zeros((), dtype=W.dtype, device=W.device)
    for i in range(N):
        scores = X[i] @ W
        SHIFT
        log_norm = torch.log(torch.exp(scores).sum())
        probs = torch.exp(scores - log_norm)
        yi = int(y[i])
        loss = loss + log_norm - scores[yi]
        for j in range(C):
            dW[:, j] += (probs[j] - ONEHOT) * X[i]
    loss = loss / N + reg * torch.sum(W * W)
    dW = dW / N + 2 * reg * W
    return RETURN
'''


def sm_naive(shift="scores = scores - scores.max()", onehot="(1.0 if j == yi else 0.0)", ret="loss, dW"):
    return SM_NAIVE_TEMPLATE.replace("SHIFT", shift).replace("ONEHOT", onehot).replace("RETURN", ret)


SM_NAIVE_LOGSUMEXP = '''
def softmax_loss_naive(W, X, y, reg):
    N, C = X.shape[0], W.shape[1]
    loss = torch.zeros((), dtype=W.dtype, device=W.device)
    dW = torch.zeros_like(W)
    for i in range(N):
        s = X[i] @ W
        lse = torch.logsumexp(s, dim=0)
        yi = int(y[i])
        loss += lse - s[yi]
        p = torch.exp(s - lse)
        p[yi] -= 1
        dW += torch.outer(X[i], p)
    return loss / N + reg * (W * W).sum(), dW / N + 2 * reg * W
'''

# --- softmax_loss_vectorized -----------------------------------------------------

SM_VEC_TEMPLATE = '''
def softmax_loss_vectorized(W, X, y, reg):
    N = X.shape[0]
    rows = torch.arange(N, device=X.device)
    scores = X @ W
    SHIFT
    LOGNORM
    log_probs = scores - log_norm
    loss = -log_probs[rows, y].sum() / DIV + reg * torch.sum(W * W)
    dscores = torch.exp(log_probs)
    dscores[rows, y] -= 1
    dW = X.t() @ dscores / DIV + REGGRAD
    return loss, DW_OUT
'''


def sm_vec(shift="scores = scores - scores.max(dim=1, keepdim=True).values",
           lognorm="log_norm = torch.log(torch.exp(scores).sum(dim=1, keepdim=True))",
           div="N", reggrad="2 * reg * W", dw_out="dW"):
    return (SM_VEC_TEMPLATE.replace("SHIFT", shift).replace("LOGNORM", lognorm).replace("DIV", div)
            .replace("REGGRAD", reggrad).replace("DW_OUT", dw_out))


SM_VEC_MUTATES_W = '''
def softmax_loss_vectorized(W, X, y, reg):
    N = X.shape[0]
    rows = torch.arange(N, device=X.device)
    scores = X @ W
    scores = scores - scores.max(dim=1, keepdim=True).values
    log_probs = scores - torch.log(torch.exp(scores).sum(dim=1, keepdim=True))
    loss = -log_probs[rows, y].mean() + reg * torch.sum(W * W)
    dscores = torch.exp(log_probs)
    dscores[rows, y] -= 1
    reg_grad = W
    reg_grad *= 2 * reg
    return loss, X.t() @ dscores / N + reg_grad
'''

SM_VEC_ONEHOT_LOGSUMEXP = '''
import torch.nn.functional as F

def softmax_loss_vectorized(W, X, y, reg):
    N, C = X.shape[0], W.shape[1]
    scores = X @ W
    lse = torch.logsumexp(scores, dim=1)
    Y = F.one_hot(y, C).to(W.dtype)
    loss = (lse - (scores * Y).sum(dim=1)).mean() + reg * (W ** 2).sum()
    P = torch.softmax(scores, dim=1)
    dW = X.T @ (P - Y) / N + 2 * reg * W
    return loss, dW
'''

SM_VEC_EINSUM_HELPER = '''
def _stable_log_softmax(scores):
    shifted = scores - scores.amax(dim=1, keepdim=True)
    return shifted - shifted.exp().sum(dim=1, keepdim=True).log()


def softmax_loss_vectorized(W, X, y, reg):
    N = X.shape[0]
    logp = _stable_log_softmax(torch.einsum("nd,dc->nc", X, W))
    loss = -logp.gather(1, y[:, None]).sum() / N + reg * torch.einsum("dc,dc->", W, W)
    dscores = logp.exp().scatter_add(1, y[:, None], -torch.ones(N, 1, dtype=W.dtype, device=W.device))
    return loss, torch.einsum("nd,nc->dc", X, dscores) / N + 2 * reg * W
'''

SM_VEC_LOOP_IN_HELPER = '''
def _row_log_softmax(scores):
    return torch.stack([row - row.max() - torch.log(torch.exp(row - row.max()).sum()) for row in scores])


def softmax_loss_vectorized(W, X, y, reg):
    N = X.shape[0]
    rows = torch.arange(N, device=X.device)
    log_probs = _row_log_softmax(X @ W)
    loss = -log_probs[rows, y].sum() / N + reg * torch.sum(W * W)
    dscores = torch.exp(log_probs)
    dscores[rows, y] -= 1
    return loss, X.t() @ dscores / N + 2 * reg * W
'''


MUTANTS = [
    # numeric_gradient
    Mutant("ng_forward_difference", "numeric_gradient", NG_FORWARD, hint="forward difference"),
    Mutant("ng_leaves_x_perturbed", "numeric_gradient", NG_NOT_RESTORED, hint="unchanged"),
    Mutant("ng_divides_by_h", "numeric_gradient", NG_DIVIDES_BY_H, hint="2h"),
    Mutant("ng_view_alias", "numeric_gradient", NG_VIEW_ALIAS, hint="is a view"),
    Mutant("ng_ignores_h", "numeric_gradient", NG_IGNORES_H, hint="ignores its h"),
    # svm_loss_naive
    Mutant("svm_naive_margin_for_correct_class", "svm_loss_naive", svm_naive(skip="pass"), hint="correct class"),
    Mutant("svm_naive_no_mean", "svm_loss_naive",
           svm_naive(loss_end="loss + reg * torch.sum(W * W)", dw_end="dW + 2 * reg * W"), hint="mean over N"),
    Mutant("svm_naive_reg_grad_without_2", "svm_loss_naive", svm_naive(dw_end="dW / N + reg * W"), hint="factor 2"),
    Mutant("svm_naive_margin_0", "svm_loss_naive", svm_naive(delta="0"), hint="margin of 0"),
    Mutant("svm_naive_margin_2", "svm_loss_naive", svm_naive(delta="2"), hint="margin of 2"),
    # svm_loss_vectorized
    Mutant("svm_vec_python_loop", "svm_loss_vectorized", SVM_VEC_LOOP, hint="Python loop"),
    Mutant("svm_vec_sign_flipped", "svm_loss_vectorized", svm_vec(dw="-(X.t() @ M / N + 2 * reg * W)"), hint="sign"),
    Mutant("svm_vec_reg_half", "svm_loss_vectorized",
           svm_vec(loss="margins.sum() / N + 0.5 * reg * torch.sum(W * W)", dw="X.t() @ M / N + reg * W"),
           hint="no 1/2"),
    Mutant("svm_vec_reg_grad_missing", "svm_loss_vectorized", svm_vec(dw="X.t() @ M / N"), hint="no regularization part"),
    Mutant("svm_vec_mutates_X", "svm_loss_vectorized", SVM_VEC_MUTATES_X, hint="modified its input X"),
    Mutant("svm_vec_autograd", "svm_loss_vectorized", SVM_VEC_AUTOGRAD, hint="autograd"),
    # softmax_loss_naive
    Mutant("sm_naive_no_max_subtraction", "softmax_loss_naive", sm_naive(shift="pass"), hint="max score"),
    Mutant("sm_naive_no_onehot", "softmax_loss_naive", sm_naive(onehot="0.0"), hint="one-hot"),
    Mutant("sm_naive_returns_float", "softmax_loss_naive", sm_naive(ret="loss.item(), dW"), hint="0-d tensor"),
    # softmax_loss_vectorized
    Mutant("sm_vec_no_max_subtraction", "softmax_loss_vectorized", sm_vec(shift="pass"), hint="overflow"),
    Mutant("sm_vec_log_of_sum_wrong", "softmax_loss_vectorized",
           sm_vec(lognorm="log_norm = torch.log(torch.exp(scores)).sum(dim=1, keepdim=True)"), hint="loss is"),
    Mutant("sm_vec_no_mean", "softmax_loss_vectorized", sm_vec(div="1"), hint="mean over N"),
    Mutant("sm_vec_mutates_W", "softmax_loss_vectorized", SM_VEC_MUTATES_W, hint="modified its input W"),
    Mutant("sm_vec_returns_float32", "softmax_loss_vectorized", sm_vec(dw_out="dW.float()"), hint="dtype"),
    Mutant("sm_vec_loop_in_helper", "softmax_loss_vectorized", SM_VEC_LOOP_IN_HELPER, hint="Python loop"),
]

CORRECT = [
    Variant("ng_flat_view", "numeric_gradient", NG_FLAT_VIEW),
    Variant("ng_ndindex_copies", "numeric_gradient", NG_NDINDEX_COPY),
    Variant("svm_naive_float_accumulator", "svm_loss_naive", SVM_NAIVE_FLOAT_ACC),
    Variant("svm_vec_einsum_scatter", "svm_loss_vectorized", SVM_VEC_EINSUM_SCATTER),
    Variant("sm_naive_logsumexp_outer", "softmax_loss_naive", SM_NAIVE_LOGSUMEXP),
    Variant("sm_vec_onehot_logsumexp", "softmax_loss_vectorized", SM_VEC_ONEHOT_LOGSUMEXP),
    Variant("sm_vec_einsum_private_helper", "softmax_loss_vectorized", SM_VEC_EINSUM_HELPER),
]
