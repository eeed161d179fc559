"""Wrong and alternative-correct answers for the `linear_classifier` assignment."""

from tests.mutants.base import Mutant, Variant

# --- sample_batch ---------------------------------------------------------------

_SB = '''
def sample_batch(X, y, batch_size, generator=None):
{body}
'''


def _sb(body):
    return _SB.format(body=body)


# --- train_linear_classifier ----------------------------------------------------

_TRAIN = '''
def train_linear_classifier(loss_fn, W, X, y, update_rule, config=None, reg=1e-5, num_iters=100,
                            batch_size=200, generator=None):
{body}
'''


def _train(body):
    return _TRAIN.format(body=body)


_TRAIN_OK = '''
    W = W.clone()
    loss_history = []
    for _ in range(num_iters):
        X_batch, y_batch = sample_batch(X, y, batch_size, generator=generator)
        loss, dW = loss_fn(W, X_batch, y_batch, reg)
        loss_history.append(float(loss))
        W, config = update_rule(W, dW, config)
    return W, loss_history
'''

# --- random_search ---------------------------------------------------------------

_RS = '''
def random_search(loss_fn, X, y, num_tries, num_classes=None, scale=1e-4, generator=None):
{body}
'''


def _rs(body):
    return _RS.format(body=body)


MUTANTS = [
    # sample_batch
    Mutant("sample_without_replacement", "sample_batch", _sb('''
    idx = torch.randperm(X.shape[0], generator=generator, device=X.device)[:batch_size]
    return X[idx], y[idx]
'''), hint="with replacement"),
    Mutant("sample_x_and_y_with_different_indices", "sample_batch", _sb('''
    N = X.shape[0]
    i = torch.randint(0, N, (batch_size,), generator=generator, device=X.device)
    j = torch.randint(0, N, (batch_size,), generator=generator, device=X.device)
    return X[i], y[j]
'''), hint="same indices"),
    Mutant("sample_ignores_generator", "sample_batch", _sb('''
    idx = torch.randint(0, X.shape[0], (batch_size,), device=X.device)
    return X[idx], y[idx]
'''), hint="generator"),
    Mutant("sample_ignores_batch_size", "sample_batch", _sb('''
    idx = torch.randint(0, X.shape[0], (200,), generator=generator, device=X.device)
    return X[idx], y[idx]
'''), hint="batch_size"),
    Mutant("sample_never_last_row", "sample_batch", _sb('''
    idx = torch.randint(0, X.shape[0] - 1, (batch_size,), generator=generator, device=X.device)
    return X[idx], y[idx]
'''), hint="off by one"),
    Mutant("sample_first_rows_only", "sample_batch", _sb('''
    idx = torch.randint(0, min(X.shape[0], 5), (batch_size,), generator=generator, device=X.device)
    return X[idx], y[idx]
'''), hint="never drawn"),
    Mutant("sample_reseeds_generator", "sample_batch", _sb('''
    g = None
    if generator is not None:
        g = torch.Generator(device=X.device).manual_seed(1234)
    idx = torch.randint(0, X.shape[0], (batch_size,), generator=g, device=X.device)
    return X[idx], y[idx]
'''), hint="generator"),
    Mutant("sample_casts_to_float32", "sample_batch", _sb('''
    idx = torch.randint(0, X.shape[0], (batch_size,), generator=generator, device=X.device)
    return X[idx].float(), y[idx]
'''), hint="dtype"),
    # train_linear_classifier
    Mutant("train_reg_not_passed", "train_linear_classifier", _train(_TRAIN_OK.replace(
        "loss_fn(W, X_batch, y_batch, reg)", "loss_fn(W, X_batch, y_batch, 0.0)")), hint="reg"),
    Mutant("train_config_not_handed_back", "train_linear_classifier", _train(_TRAIN_OK.replace(
        "W, config = update_rule(W, dW, config)", "W, _ = update_rule(W, dW, config)")), hint="config"),
    Mutant("train_w_not_updated_with_next_w", "train_linear_classifier", _train(_TRAIN_OK.replace(
        "W, config = update_rule(W, dW, config)", "_, config = update_rule(W, dW, config)")), hint="next_w"),
    Mutant("train_history_appended_once", "train_linear_classifier", _train('''
    W = W.clone()
    loss_history = []
    for _ in range(num_iters):
        X_batch, y_batch = sample_batch(X, y, batch_size, generator=generator)
        loss, dW = loss_fn(W, X_batch, y_batch, reg)
        W, config = update_rule(W, dW, config)
    loss_history.append(float(loss))
    return W, loss_history
'''), hint="one loss per iteration"),
    Mutant("train_history_appended_twice", "train_linear_classifier", _train(_TRAIN_OK.replace(
        "        loss_history.append(float(loss))\n",
        "        loss_history.append(float(loss))\n        loss_history.append(float(loss))\n")),
        hint="one loss per iteration"),
    Mutant("train_ignores_batch_size", "train_linear_classifier", _train(_TRAIN_OK.replace(
        "sample_batch(X, y, batch_size, generator=generator)", "sample_batch(X, y, 200, generator=generator)")),
        hint="batch_size"),
    Mutant("train_full_batch", "train_linear_classifier", _train(_TRAIN_OK.replace(
        "sample_batch(X, y, batch_size, generator=generator)", "X, y")), hint="minibatch"),
    Mutant("train_generator_not_passed", "train_linear_classifier", _train(_TRAIN_OK.replace(
        "sample_batch(X, y, batch_size, generator=generator)", "sample_batch(X, y, batch_size)")),
        hint="generator"),
    Mutant("train_one_iteration_short", "train_linear_classifier", _train(_TRAIN_OK.replace(
        "range(num_iters)", "range(num_iters - 1)")), hint="num_iters"),
    Mutant("train_gradient_ascent_dw_negated", "train_linear_classifier", _train(_TRAIN_OK.replace(
        "update_rule(W, dW, config)", "update_rule(W, -dW, config)")), hint="dW that loss_fn returned"),
    # predict_linear_classifier
    Mutant("predict_returns_float", "predict_linear_classifier", '''
def predict_linear_classifier(W, X):
    return (X @ W).argmax(dim=1).float()
''', hint="int64"),
    Mutant("predict_argmax_over_examples", "predict_linear_classifier", '''
def predict_linear_classifier(W, X):
    return (X @ W).argmax(dim=0)
''', hint="wrong dim"),
    Mutant("predict_returns_max_scores", "predict_linear_classifier", '''
def predict_linear_classifier(W, X):
    return (X @ W).max(dim=1).values
''', hint="int64"),
    Mutant("predict_argmin", "predict_linear_classifier", '''
def predict_linear_classifier(W, X):
    return (X @ W).argmin(dim=1)
''', hint="lowest score"),
    # random_search
    Mutant("random_search_returns_last", "random_search", _rs('''
    if num_classes is None:
        num_classes = int(y.max()) + 1
    W = None
    for _ in range(num_tries):
        W = scale * torch.randn(X.shape[1], num_classes, generator=generator, device=X.device, dtype=X.dtype)
        loss, _ = loss_fn(W, X, y, 0.0)
    return W
'''), hint="lowest-loss"),
    Mutant("random_search_returns_highest_loss", "random_search", _rs('''
    if num_classes is None:
        num_classes = int(y.max()) + 1
    best_W, best_loss = None, -math.inf
    for _ in range(num_tries):
        W = scale * torch.randn(X.shape[1], num_classes, generator=generator, device=X.device, dtype=X.dtype)
        loss, _ = loss_fn(W, X, y, 0.0)
        if float(loss) > best_loss:
            best_W, best_loss = W, float(loss)
    return best_W
'''), hint="highest loss"),
    Mutant("random_search_num_classes_distinct_labels", "random_search", _rs('''
    if num_classes is None:
        num_classes = len(torch.unique(y))
    best_W, best_loss = None, math.inf
    for _ in range(num_tries):
        W = scale * torch.randn(X.shape[1], num_classes, generator=generator, device=X.device, dtype=X.dtype)
        loss, _ = loss_fn(W, X, y, 0.0)
        if float(loss) < best_loss:
            best_W, best_loss = W, float(loss)
    return best_W
'''), hint="num_classes"),
    Mutant("random_search_ignores_scale", "random_search", _rs('''
    if num_classes is None:
        num_classes = int(y.max()) + 1
    best_W, best_loss = None, math.inf
    for _ in range(num_tries):
        W = 1e-4 * torch.randn(X.shape[1], num_classes, generator=generator, device=X.device, dtype=X.dtype)
        loss, _ = loss_fn(W, X, y, 0.0)
        if float(loss) < best_loss:
            best_W, best_loss = W, float(loss)
    return best_W
'''), hint="scale"),
    Mutant("random_search_uniform_draws", "random_search", _rs('''
    if num_classes is None:
        num_classes = int(y.max()) + 1
    best_W, best_loss = None, math.inf
    for _ in range(num_tries):
        W = scale * torch.rand(X.shape[1], num_classes, generator=generator, device=X.device, dtype=X.dtype) * 3.4
        loss, _ = loss_fn(W, X, y, 0.0)
        if float(loss) < best_loss:
            best_W, best_loss = W, float(loss)
    return best_W
'''), hint="standard normal"),
    Mutant("random_search_ignores_generator", "random_search", _rs('''
    if num_classes is None:
        num_classes = int(y.max()) + 1
    best_W, best_loss = None, math.inf
    for _ in range(num_tries):
        W = scale * torch.randn(X.shape[1], num_classes, device=X.device, dtype=X.dtype)
        loss, _ = loss_fn(W, X, y, 0.0)
        if float(loss) < best_loss:
            best_W, best_loss = W, float(loss)
    return best_W
'''), hint="generator"),
    Mutant("random_search_uses_default_reg", "random_search", _rs('''
    if num_classes is None:
        num_classes = int(y.max()) + 1
    best_W, best_loss = None, math.inf
    for _ in range(num_tries):
        W = scale * torch.randn(X.shape[1], num_classes, generator=generator, device=X.device, dtype=X.dtype)
        loss, _ = loss_fn(W, X, y, 1e-5)
        if float(loss) < best_loss:
            best_W, best_loss = W, float(loss)
    return best_W
'''), hint="reg"),
    Mutant("random_search_float32_always", "random_search", _rs('''
    if num_classes is None:
        num_classes = int(y.max()) + 1
    best_W, best_loss = None, math.inf
    for _ in range(num_tries):
        W = scale * torch.randn(X.shape[1], num_classes, generator=generator, device=X.device)
        loss, _ = loss_fn(W.to(X.dtype), X, y, 0.0)
        if float(loss) < best_loss:
            best_W, best_loss = W, float(loss)
    return best_W
'''), hint="dtype"),
]

CORRECT = [
    # sample_batch
    Variant("sample_multinomial", "sample_batch", _sb('''
    weights = torch.ones(X.shape[0], device=X.device)
    idx = torch.multinomial(weights, batch_size, replacement=True, generator=generator)
    return X[idx], y[idx]
''')),
    Variant("sample_floor_of_uniform", "sample_batch", _sb('''
    N = X.shape[0]
    u = torch.rand(batch_size, generator=generator, device=X.device, dtype=torch.float64)
    idx = (u * N).floor().long().clamp_(max=N - 1)
    return X.index_select(0, idx), y.index_select(0, idx)
''')),
    # train_linear_classifier
    Variant("train_while_loop_tensor_losses", "train_linear_classifier", _train('''
    history = []
    it = 0
    while it < num_iters:
        xb, yb = sample_batch(X, y, batch_size, generator)
        loss, grad = loss_fn(W, xb, yb, reg)
        history.append(loss.item())
        W, config = update_rule(W, grad, config)
        it += 1
    return W, history
''')),
    Variant("train_separate_names", "train_linear_classifier", _train('''
    w, cfg, losses = W.detach().clone(), config, []
    for step in range(num_iters):
        batch = sample_batch(X, y, batch_size=batch_size, generator=generator)
        loss, dw = loss_fn(w, batch[0], batch[1], reg=reg)
        next_w, cfg = update_rule(w, dw, cfg)
        losses.append(float(loss.detach()))
        w = next_w
    return w, losses
''')),
    # predict_linear_classifier
    Variant("predict_max_indices", "predict_linear_classifier", '''
def predict_linear_classifier(W, X):
    """Highest-scoring class per row."""
    return torch.max(X.mm(W), dim=1).indices
'''),
    Variant("predict_transposed_scores", "predict_linear_classifier", '''
def predict_linear_classifier(W, X):
    scores_t = W.t() @ X.t()          # (C, N)
    return torch.argmax(scores_t, dim=0).to(torch.int64)
'''),
    # random_search
    Variant("random_search_stack_then_argmin", "random_search", _rs('''
    C = int(y.max().item() + 1) if num_classes is None else num_classes
    Ws = scale * torch.randn(num_tries, X.shape[1], C, generator=generator, device=X.device, dtype=X.dtype)
    losses = torch.stack([loss_fn(Ws[k], X, y, 0.0)[0].reshape(()) for k in range(num_tries)])
    return Ws[int(losses.argmin())]
''')),
    Variant("random_search_helper_function", "random_search", '''
def _guess(shape, scale, generator, like):
    return torch.randn(*shape, generator=generator, device=like.device, dtype=like.dtype).mul_(scale)


def random_search(loss_fn, X, y, num_tries, num_classes=None, scale=1e-4, generator=None):
    C = num_classes if num_classes is not None else int(y.max()) + 1
    best = None
    for _ in range(num_tries):
        W = _guess((X.shape[1], C), scale, generator, X)
        loss = float(loss_fn(W, X, y, 0.0)[0])
        if best is None or loss < best[0]:
            best = (loss, W)
    return best[1]
'''),
]
