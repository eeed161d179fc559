"""Mutant catalogue for the `optimizers` assignment (see tests/mutants/base.py).

Wrong answers students plausibly write, each of which must lose points through
the real nbgrader autograde (with a hint: the failing message must name the
mistake), and alternative correct answers that must keep full marks.
"""

from tests.mutants.base import Mutant, Variant

# --- building blocks ----------------------------------------------------------------

_SGD_HEAD = '''
import torch

def sgd(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
'''


def _momentum(body, name="sgd_momentum", lr="1e-2", mu="0.9"):
    return f'''
import torch

def {name}(w, dw, config=None):
    if config is None:
        config = {{}}
    config.setdefault("learning_rate", {lr})
    config.setdefault("momentum", {mu})
    lr, mu = config["learning_rate"], config["momentum"]
    v = config.get("velocity")
    if v is None:
        v = torch.zeros_like(w)
{body}
    config["velocity"] = v
    return next_w, config
'''


def _cache_rule(name, defaults, body):
    lines = "\n".join(f'    config.setdefault("{k}", {v})' for k, v in defaults.items())
    return f'''
import torch

def {name}(w, dw, config=None):
    if config is None:
        config = {{}}
{lines}
    cache = config.get("cache")
    if cache is None:
        cache = torch.zeros_like(w)
{body}
    config["cache"] = cache
    return next_w, config
'''


_ADAGRAD_DEFAULTS = {"learning_rate": "1e-2", "epsilon": "1e-10"}
_RMSPROP_DEFAULTS = {"learning_rate": "1e-2", "decay_rate": "0.99", "epsilon": "1e-8"}


def _adam(name="adam", *, wd_default="0.0", pre="", post="", t_line="t = config.get('t', 0) + 1",
          mhat="m / (1 - b1 ** t)", vhat="v / (1 - b2 ** t)", den="v_hat.sqrt() + eps", eps_default="1e-8",
          store="config['m'], config['v'], config['t'] = m, v, t", extra_before_t=""):
    return f'''
import torch

def {name}(w, dw, config=None):
    if config is None:
        config = {{}}
    config.setdefault("learning_rate", 1e-3)
    config.setdefault("beta1", 0.9)
    config.setdefault("beta2", 0.999)
    config.setdefault("epsilon", {eps_default})
    config.setdefault("weight_decay", {wd_default})
    lr, b1, b2, eps, wd = (config[k] for k in ("learning_rate", "beta1", "beta2", "epsilon", "weight_decay"))
{pre}
    m = config.get("m")
    v = config.get("v")
    if m is None:
        m = torch.zeros_like(w)
    if v is None:
        v = torch.zeros_like(w)
{extra_before_t}
    {t_line}
    m = b1 * m + (1 - b1) * dw
    v = b2 * v + (1 - b2) * dw * dw
    m_hat = {mhat}
    v_hat = {vhat}
    next_w = w - lr * m_hat / ({den})
{post}
    {store}
    return next_w, config
'''


_ADAM_L2 = "    if wd:\n        dw = dw + wd * w"
_ADAMW_DECAY = "    w = w * (1 - lr * wd)"

# --- wrong answers ----------------------------------------------------------------------

MUTANTS = [
    # sgd
    Mutant("sgd_uphill", "sgd", _SGD_HEAD + "    return w + config['learning_rate'] * dw, config\n", hint="uphill"),
    Mutant("sgd_default_lr", "sgd", '''
import torch

def sgd(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-3)
    return w - config["learning_rate"] * dw, config
''', hint="default learning_rate"),
    Mutant("sgd_returns_w_only", "sgd", _SGD_HEAD + "    return w - config['learning_rate'] * dw\n", hint="pair"),
    Mutant("sgd_uses_torch_optim", "sgd", '''
import torch

def sgd(w, dw, config=None):
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    p = torch.nn.Parameter(w.detach().clone())
    opt = torch.optim.SGD([p], lr=config["learning_rate"])
    p.grad = dw.clone()
    opt.step()
    return p.detach(), config
''', hint="does not allow"),
    Mutant("sgd_float32_state", "sgd", _SGD_HEAD + "    return (w - config['learning_rate'] * dw).float(), config\n", hint="dtype"),
    # sgd_momentum
    Mutant("momentum_dampening", "sgd_momentum", _momentum("    v = mu * v + (1 - mu) * dw\n    next_w = w - lr * v"), hint="dampening"),
    Mutant("momentum_forgets_velocity", "sgd_momentum", '''
import torch

def sgd_momentum(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    v = torch.zeros_like(w)
    v = config["momentum"] * v + dw
    return w - config["learning_rate"] * v, config
''', hint="velocity"),
    Mutant("momentum_stale_velocity", "sgd_momentum", _momentum("    next_w = w - lr * v\n    v = mu * v + dw"), hint="before this step"),
    Mutant("momentum_form_b_sign", "sgd_momentum", _momentum("    v = mu * v - lr * dw\n    next_w = w - v"), hint="uphill"),
    # the common one: form B with the velocity's sign flipped (v = ρv + η·dw; w += v) must be told about the sign
    Mutant("momentum_wrong_sign", "sgd_momentum", _momentum("    v = mu * v + lr * dw\n    next_w = w + v"),
           hint="wrong sign"),
    Mutant("momentum_default_099", "sgd_momentum", _momentum("    v = mu * v + dw\n    next_w = w - lr * v", mu="0.99"), hint="default momentum"),
    Mutant("momentum_global_state", "sgd_momentum", '''
import torch
_VELOCITY = {}

def sgd_momentum(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    v = _VELOCITY.get("v")
    if v is None or v.shape != w.shape or v.dtype != w.dtype:
        v = torch.zeros_like(w)
    v = config["momentum"] * v + dw
    _VELOCITY["v"] = v
    config["velocity"] = v
    return w - config["learning_rate"] * v, config
''', hint="disturb each other"),
    # nesterov_momentum
    Mutant("nesterov_is_plain_momentum", "nesterov_momentum",
           _momentum("    v = mu * v + dw\n    next_w = w - lr * v", name="nesterov_momentum"), hint="not Nesterov"),
    Mutant("nesterov_cs231n_wrong_coefficients", "nesterov_momentum",
           _momentum("    v_prev = v\n    v = mu * v - lr * dw\n    next_w = w - mu * v_prev + (1 - mu) * v", name="nesterov_momentum")),
    Mutant("nesterov_velocity_not_stored", "nesterov_momentum", '''
import torch

def nesterov_momentum(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    mu = config["momentum"]
    v = mu * torch.zeros_like(w) + dw
    return w - config["learning_rate"] * (dw + mu * v), config
''', hint="velocity"),
    # adagrad
    Mutant("adagrad_eps_inside", "adagrad", _cache_rule("adagrad", _ADAGRAD_DEFAULTS,
           "    cache = cache + dw * dw\n    next_w = w - config['learning_rate'] * dw / (cache + config['epsilon']).sqrt()"),
           hint="epsilon inside the square root"),
    Mutant("adagrad_no_sum", "adagrad", _cache_rule("adagrad", _ADAGRAD_DEFAULTS,
           "    cache = dw * dw\n    next_w = w - config['learning_rate'] * dw / (cache.sqrt() + config['epsilon'])"),
           hint="running sum"),
    Mutant("adagrad_no_epsilon", "adagrad", _cache_rule("adagrad", _ADAGRAD_DEFAULTS,
           "    cache = cache + dw * dw\n    next_w = w - config['learning_rate'] * dw / cache.sqrt()"), hint="epsilon"),
    Mutant("adagrad_default_eps_1e7", "adagrad", _cache_rule("adagrad", {"learning_rate": "1e-2", "epsilon": "1e-7"},
           "    cache = cache + dw * dw\n    next_w = w - config['learning_rate'] * dw / (cache.sqrt() + config['epsilon'])"),
           hint="default epsilon"),
    # rmsprop
    Mutant("rmsprop_eps_inside", "rmsprop", _cache_rule("rmsprop", _RMSPROP_DEFAULTS,
           "    b = config['decay_rate']\n    cache = b * cache + (1 - b) * dw * dw\n"
           "    next_w = w - config['learning_rate'] * dw / (cache + config['epsilon']).sqrt()"),
           hint="epsilon inside the square root"),
    Mutant("rmsprop_swapped_decay", "rmsprop", _cache_rule("rmsprop", _RMSPROP_DEFAULTS,
           "    b = config['decay_rate']\n    cache = (1 - b) * cache + b * dw * dw\n"
           "    next_w = w - config['learning_rate'] * dw / (cache.sqrt() + config['epsilon'])"), hint="swapped"),
    Mutant("rmsprop_is_adagrad", "rmsprop", _cache_rule("rmsprop", _RMSPROP_DEFAULTS,
           "    cache = cache + dw * dw\n    next_w = w - config['learning_rate'] * dw / (cache.sqrt() + config['epsilon'])"),
           hint="matches AdaGrad"),
    Mutant("rmsprop_default_decay_09", "rmsprop", _cache_rule("rmsprop", {**_RMSPROP_DEFAULTS, "decay_rate": "0.9"},
           "    b = config['decay_rate']\n    cache = b * cache + (1 - b) * dw * dw\n"
           "    next_w = w - config['learning_rate'] * dw / (cache.sqrt() + config['epsilon'])"), hint="default decay_rate"),
    # adam
    Mutant("adam_no_bias_correction", "adam", _adam(pre=_ADAM_L2, mhat="m", vhat="v"),
           hint="matches Adam without bias correction"),
    Mutant("adam_eps_inside", "adam", _adam(pre=_ADAM_L2, den="(v_hat + eps).sqrt()"), hint="epsilon inside the square root"),
    Mutant("adam_t_used_before_increment", "adam",
           _adam(pre=_ADAM_L2, t_line="t = config.get('t', 0)", store="config['m'], config['v'], config['t'] = m, v, t + 1"),
           hint="t used before it is incremented"),
    Mutant("adam_t_starts_at_1", "adam", _adam(pre=_ADAM_L2, t_line="t = config.get('t', 1) + 1",
           store="config['m'], config['v'], config['t'] = m, v, t"), hint="t starts at 1"),
    Mutant("adam_bias_only_m", "adam", _adam(pre=_ADAM_L2, vhat="v"), hint="bias correction only on m"),
    Mutant("adam_decoupled_decay", "adam", _adam(pre=_ADAMW_DECAY), hint="decoupled"),
    Mutant("adam_ignores_weight_decay", "adam", _adam(), hint="weight_decay is ignored"),
    Mutant("adam_default_eps_1e7", "adam", _adam(pre=_ADAM_L2, eps_default="1e-7"), hint="default epsilon"),
    Mutant("adam_swapped_betas", "adam", _adam(pre=_ADAM_L2, t_line="t = config.get('t', 0) + 1\n    b1, b2 = b2, b1"),
           hint="swapped"),
    # the interface linear_classifier uses: torch.optim behind the rule interface (a rule may not wrap it)
    Mutant("adam_wraps_torch_rule", "adam", '''
import torch
from course_utils.optim_adapter import torch_rule

_torch_adam = torch_rule("adam")

def adam(w, dw, config=None):
    return _torch_adam(w, dw, config)
''', hint="does not allow"),
    Mutant("adam_state_not_stored", "adam", _adam(pre=_ADAM_L2, store="pass"), hint="not carried between calls"),
    # adamw
    Mutant("adamw_coupled", "adamw", _adam("adamw", wd_default="1e-2", pre=_ADAM_L2),
           hint="weight decay coupled instead of decoupled"),
    Mutant("adamw_decay_not_scaled_by_lr", "adamw", _adam("adamw", wd_default="1e-2", pre="    w = w * (1 - wd)"),
           hint="not scaled by the learning rate"),
    Mutant("adamw_decay_after_step", "adamw", _adam("adamw", wd_default="1e-2", post="    next_w = next_w * (1 - lr * wd)"),
           hint="after the Adam step"),
    Mutant("adamw_default_wd_0", "adamw", _adam("adamw", wd_default="0.0", pre=_ADAMW_DECAY), hint="default weight_decay"),
    Mutant("adamw_no_bias_correction", "adamw", _adam("adamw", wd_default="1e-2", pre=_ADAMW_DECAY, mhat="m", vhat="v"),
           hint="without bias correction"),
    # newton_step
    Mutant("newton_wrong_sign", "newton_step", '''
import torch

def newton_step(w, grad, hessian):
    return w + torch.linalg.solve(hessian, grad)
''', hint="wrong way"),
    Mutant("newton_explicit_inverse", "newton_step", '''
import torch

def newton_step(w, grad, hessian):
    return w - torch.linalg.inv(hessian) @ grad
''', hint="explicit inverse"),
    Mutant("newton_diagonal", "newton_step", '''
import torch

def newton_step(w, grad, hessian):
    return w - grad / torch.diagonal(hessian)
''', hint="diagonal"),
    Mutant("newton_float64_always", "newton_step", '''
import torch

def newton_step(w, grad, hessian):
    return (w.double() - torch.linalg.solve(hessian.double(), grad.double()))
''', hint="dtype"),
]

# --- different correct answers ---------------------------------------------------------------

CORRECT = [
    Variant("sgd_in_place", "sgd", '''
import torch

def sgd(w, dw, config=None):
    config = {} if config is None else config
    lr = config.setdefault("learning_rate", 1e-2)
    w -= lr * dw
    return w, config
'''),
    Variant("sgd_get_default", "sgd", '''
import torch

def sgd(w, dw, config=None):
    config = dict(config or {})
    next_w = torch.add(w, dw, alpha=-config.get("learning_rate", 1e-2))
    return next_w, config
'''),
    Variant("momentum_form_b", "sgd_momentum", _momentum("    v = mu * v - lr * dw\n    next_w = w + v")),
    Variant("momentum_in_place", "sgd_momentum", '''
import torch

def sgd_momentum(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    v = config.setdefault("velocity", torch.zeros_like(w))
    v.mul_(config["momentum"]).add_(dw)
    w.add_(v, alpha=-config["learning_rate"])
    return w, config
'''),
    Variant("nesterov_cs231n_form", "nesterov_momentum",
            _momentum("    v_prev = v\n    v = mu * v - lr * dw\n    next_w = w - mu * v_prev + (1 + mu) * v", name="nesterov_momentum")),
    Variant("nesterov_torch_form_in_place", "nesterov_momentum", '''
import torch

def nesterov_momentum(w, dw, config=None):
    config = {} if config is None else config
    lr = config.setdefault("learning_rate", 1e-2)
    mu = config.setdefault("momentum", 0.9)
    b = config.get("velocity")
    b = dw.clone() if b is None else b.mul_(mu).add_(dw)
    config["velocity"] = b
    w.sub_(lr * (dw + mu * b))
    return w, config
'''),
    Variant("adagrad_in_place", "adagrad", '''
import torch

def adagrad(w, dw, config=None):
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("epsilon", 1e-10)
    cache = config.setdefault("cache", torch.zeros_like(w))
    cache.addcmul_(dw, dw)
    w.addcdiv_(dw, cache.sqrt().add_(config["epsilon"]), value=-config["learning_rate"])
    return w, config
'''),
    Variant("adagrad_pow", "adagrad", _cache_rule("adagrad", _ADAGRAD_DEFAULTS,
            "    cache = cache + dw ** 2\n    next_w = w - config['learning_rate'] * dw / (torch.sqrt(cache) + config['epsilon'])")),
    Variant("rmsprop_lerp", "rmsprop", _cache_rule("rmsprop", _RMSPROP_DEFAULTS,
            "    cache = torch.lerp(dw * dw, cache, config['decay_rate'])\n"
            "    next_w = w - config['learning_rate'] * dw / (cache.sqrt() + config['epsilon'])")),
    Variant("rmsprop_in_place", "rmsprop", '''
import torch

def rmsprop(w, dw, config=None):
    config = {} if config is None else config
    lr = config.setdefault("learning_rate", 1e-2)
    b = config.setdefault("decay_rate", 0.99)
    eps = config.setdefault("epsilon", 1e-8)
    cache = config.setdefault("cache", torch.zeros_like(w))
    cache.mul_(b).addcmul_(dw, dw, value=1 - b)
    w.addcdiv_(dw, cache.sqrt() + eps, value=-lr)
    return w, config
'''),
    Variant("adam_torch_style", "adam", '''
import math
import torch

def adam(w, dw, config=None):
    config = {} if config is None else config
    lr = config.setdefault("learning_rate", 1e-3)
    b1 = config.setdefault("beta1", 0.9)
    b2 = config.setdefault("beta2", 0.999)
    eps = config.setdefault("epsilon", 1e-8)
    wd = config.setdefault("weight_decay", 0.0)
    if wd != 0:
        dw = dw.add(w, alpha=wd)
    m = config.setdefault("m", torch.zeros_like(w))
    v = config.setdefault("v", torch.zeros_like(w))
    config["t"] = config.get("t", 0) + 1
    t = config["t"]
    m.lerp_(dw, 1 - b1)
    v.mul_(b2).addcmul_(dw, dw, value=1 - b2)
    bc1, bc2 = 1 - b1 ** t, 1 - b2 ** t
    denom = (v.sqrt() / math.sqrt(bc2)).add_(eps)
    w.addcdiv_(m, denom, value=-lr / bc1)
    return w, config
'''),
    Variant("adam_new_tensors", "adam", _adam(pre=_ADAM_L2)),
    Variant("adamw_shared_helper", "adamw", '''
import torch

def _adam_core(w, dw, config):
    b1, b2 = config["beta1"], config["beta2"]
    m = config.get("m", torch.zeros_like(w))
    v = config.get("v", torch.zeros_like(w))
    t = config.get("t", 0) + 1
    m = b1 * m + (1 - b1) * dw
    v = b2 * v + (1 - b2) * dw ** 2
    config.update(m=m, v=v, t=t)
    return w - config["learning_rate"] * (m / (1 - b1 ** t)) / ((v / (1 - b2 ** t)).sqrt() + config["epsilon"])

def adamw(w, dw, config=None):
    config = {} if config is None else config
    for k, d in (("learning_rate", 1e-3), ("beta1", 0.9), ("beta2", 0.999), ("epsilon", 1e-8), ("weight_decay", 1e-2)):
        config.setdefault(k, d)
    w = w - config["learning_rate"] * config["weight_decay"] * w
    return _adam_core(w, dw, config), config
'''),
    Variant("adamw_in_place", "adamw", '''
import math
import torch

def adamw(w, dw, config=None):
    config = {} if config is None else config
    lr = config.setdefault("learning_rate", 1e-3)
    b1 = config.setdefault("beta1", 0.9)
    b2 = config.setdefault("beta2", 0.999)
    eps = config.setdefault("epsilon", 1e-8)
    wd = config.setdefault("weight_decay", 1e-2)
    w.mul_(1 - lr * wd)
    m = config.setdefault("m", torch.zeros_like(w))
    v = config.setdefault("v", torch.zeros_like(w))
    config["t"] = config.get("t", 0) + 1
    t = config["t"]
    m.mul_(b1).add_(dw, alpha=1 - b1)
    v.mul_(b2).addcmul_(dw, dw, value=1 - b2)
    w.addcdiv_(m / (1 - b1 ** t), (v / (1 - b2 ** t)).sqrt() + eps, value=-lr)
    return w, config
'''),
    Variant("newton_cholesky", "newton_step", '''
import torch

def newton_step(w, grad, hessian):
    # a linear solve via LU, as a column
    return w - torch.linalg.solve(hessian, grad.unsqueeze(-1)).squeeze(-1)
'''),
    Variant("newton_lstsq", "newton_step", '''
import torch

def newton_step(w, grad, hessian):
    delta = torch.linalg.lstsq(hessian, grad.unsqueeze(1)).solution.squeeze(1)
    return w - delta
'''),
]


# --- predict, then verify: max_stable_lr and momentum_rate ------------------------------------

def _max_stable(expr, pre="    h = torch.linalg.eigvalsh(hessian.to(torch.float64))\n"):
    return f'''
import torch

def max_stable_lr(hessian, momentum=0.0):
{pre}    return float({expr})
'''


def _rate(radius, over="torch.linalg.eigvalsh(hessian.to(torch.float64)).tolist()", reduce="max"):
    return f'''
import torch

def momentum_rate(lr, momentum, hessian):
    rho = momentum
    rates = []
    for h in {over}:
{radius}
    return {reduce}(rates)
'''


_RADIUS = '''\
        M = torch.tensor([[1.0 + rho - lr * h, -rho], [1.0, 0.0]], dtype=torch.float64)
        rates.append(torch.linalg.eigvals(M).abs().max().item())'''

THEORY_MUTANTS = [
    Mutant("max_stable_ignores_momentum", "max_stable_lr", _max_stable("2.0 / h[-1]"), hint="ignores the momentum"),
    Mutant("max_stable_uses_lambda_min", "max_stable_lr", _max_stable("(2.0 + 2.0 * momentum) / h[0]"), hint="smallest eigenvalue"),
    Mutant("max_stable_uses_trace", "max_stable_lr", _max_stable("(2.0 + 2.0 * momentum) / torch.trace(hessian)", pre=""),
           hint="trace"),
    Mutant("max_stable_uses_diagonal", "max_stable_lr",
           _max_stable("(2.0 + 2.0 * momentum) / torch.diagonal(hessian).max()", pre=""), hint="diagonal entry"),
    Mutant("max_stable_missing_factor_two", "max_stable_lr", _max_stable("(1.0 + momentum) / h[-1]"), hint="factor of 2"),
    Mutant("max_stable_best_gd_step", "max_stable_lr", _max_stable("2.0 / (h[0] + h[-1])"), hint="best constant step"),
    Mutant("max_stable_momentum_sign", "max_stable_lr", _max_stable("(2.0 - 2.0 * momentum) / h[-1]"), hint="wrong sign"),
    Mutant("max_stable_one_per_eigenvalue", "max_stable_lr", '''
import torch

def max_stable_lr(hessian, momentum=0.0):
    return (2.0 + 2.0 * momentum) / torch.linalg.eigvalsh(hessian)
''', hint="tensor of shape"),
    Mutant("rate_ignores_momentum", "momentum_rate", _rate("        rates.append(abs(1.0 - lr * h))"), hint="plain-GD rate"),
    Mutant("rate_lambda_min_only", "momentum_rate",
           _rate(_RADIUS, over="torch.linalg.eigvalsh(hessian.to(torch.float64)).tolist()[:1]"), hint="only the smallest eigenvalue"),
    Mutant("rate_lambda_max_only", "momentum_rate",
           _rate(_RADIUS, over="torch.linalg.eigvalsh(hessian.to(torch.float64)).tolist()[-1:]"), hint="only the largest eigenvalue"),
    Mutant("rate_uses_diagonal", "momentum_rate", _rate(_RADIUS, over="torch.diagonal(hessian).tolist()"), hint="diagonal entries"),
    Mutant("rate_min_over_eigenvalues", "momentum_rate", _rate(_RADIUS, reduce="min"), hint="smallest spectral radius"),
    Mutant("rate_always_sqrt_rho", "momentum_rate", '''
import math
import torch

def momentum_rate(lr, momentum, hessian):
    # the complex case only
    if momentum > 0:
        return math.sqrt(momentum)
    return max(abs(1 - lr * h) for h in torch.linalg.eigvalsh(hessian.double()).tolist())
''', hint="√ρ"),
    Mutant("rate_plus_rho", "momentum_rate", _rate(_RADIUS.replace("-rho]", "rho]")), hint="wrong sign"),
    Mutant("rate_real_part", "momentum_rate", _rate(_RADIUS.replace(".abs().max()", ".real.max()")), hint="real part"),
    Mutant("rate_one_per_eigenvalue", "momentum_rate", '''
import torch

def momentum_rate(lr, momentum, hessian):
    out = []
    for h in torch.linalg.eigvalsh(hessian).tolist():
        M = torch.tensor([[1.0 + momentum - lr * h, -momentum], [1.0, 0.0]], dtype=torch.float64)
        out.append(torch.linalg.eigvals(M).abs().max())
    return torch.stack(out)
''', hint="tensor of shape"),
]

THEORY_CORRECT = [
    Variant("max_stable_eigvalsh", "max_stable_lr", _max_stable("(2 + 2 * momentum) / h.max()")),
    Variant("max_stable_spectral_norm", "max_stable_lr", '''
import torch

def max_stable_lr(hessian, momentum=0.0):
    # for a symmetric positive definite H the spectral norm is its largest eigenvalue
    return (2.0 + 2.0 * momentum) / torch.linalg.matrix_norm(hessian.double(), ord=2)
'''),
    Variant("max_stable_eigvals_real", "max_stable_lr", '''
import numpy as np

def max_stable_lr(hessian, momentum=0.0):
    h = np.linalg.eigvals(hessian.double().numpy()).real
    return 2 * (1 + momentum) / h.max()
'''),
    Variant("rate_eigvals_2x2", "momentum_rate", _rate(_RADIUS)),
    Variant("rate_closed_form_discriminant", "momentum_rate", '''
import math
import torch

def momentum_rate(lr, momentum, hessian):
    best = 0.0
    for h in torch.linalg.eigvalsh(hessian.double()).tolist():
        a = 1 + momentum - lr * h
        disc = a * a - 4 * momentum
        r = (abs(a) + math.sqrt(disc)) / 2 if disc >= 0 else math.sqrt(momentum)
        best = max(best, r)
    return best
'''),
    Variant("rate_batched_tensor", "momentum_rate", '''
import torch

def momentum_rate(lr, momentum, hessian):
    h = torch.linalg.eigvalsh(hessian.double())
    M = torch.zeros(len(h), 2, 2, dtype=torch.float64)
    M[:, 0, 0] = 1 + momentum - lr * h
    M[:, 0, 1] = -momentum
    M[:, 1, 0] = 1.0
    return torch.linalg.eigvals(M).abs().max()
'''),
]

MUTANTS = MUTANTS + THEORY_MUTANTS
CORRECT = CORRECT + THEORY_CORRECT
