"""Visible checks for the optimizers notebook: your update rule against torch.optim.

``check_rule(rule, "adam", config)`` runs your rule and the matching torch.optim
class side by side in float64 for ``steps`` steps on the same gradient sequence
and raises ``AssertionError`` at the FIRST step where the iterates differ
(relative tolerance 1e-9). The message names the step and, when the run matches
torch.optim with one thing changed (a default, the sign, swapped betas, coupled
vs decoupled weight decay, ...), that likely mistake. It never prints the
expected numbers.

The gradient sequence is built to expose the usual slips:

- coordinate 0 never gets a gradient (0/0 must not happen: ε belongs outside
  the square root and after it);
- coordinate 1 only ever gets tiny gradients (~1e-9), so ε dominates the
  denominator there and a wrong ε, or ε inside the square root, shows;
- one step (step 8) has every gradient scaled by 1e-6 (a near-zero step);
- the other gradients vary in size from step to step.

While your rule runs, ``torch.optim`` and autograd raise (the rule must do its own
tensor arithmetic: the point of the assignment is to write the update, and
torch.optim is the reference it is compared with, not a building block).
``check_newton_step(newton_step)`` does the same for Newton's step against
``torch.linalg.solve`` (no explicit inverse allowed).
"""

from __future__ import annotations

import math

import torch

from .optim_adapter import _SPECS, _torch_kwargs

__all__ = ["check_rule", "check_newton_step", "demo_run", "no_shortcuts", "RTOL", "ATOL"]

RTOL, ATOL = 1e-9, 1e-12
_WHY = ("the assignment is to write the update's arithmetic yourself (tensor operations on w, dw and the state in "
        "config); torch.optim is the reference your rule is compared with, so a rule may not call torch.optim or autograd")


class _Forbidden(Exception):
    """Raised by a switched-off torch.optim / autograd / inverse call."""


class _switched_off:
    """Context manager: while active, each listed callable raises ``_Forbidden``; ``used`` records the calls."""

    def __init__(self, spots):
        self.spots = spots  # (owner, attribute name, what to call it in a message)
        self.used = []
        self._originals = []

    def __enter__(self):
        for owner, name, label in self.spots:
            if not hasattr(owner, name):
                continue
            # keep the raw attribute (a function on a class stays unbound)
            self._originals.append((owner, name, vars(owner).get(name, getattr(owner, name))))
            setattr(owner, name, self._blocker(label))
        return self

    def _blocker(self, label):
        def blocked(*_args, **_kwargs):
            self.used.append(label)
            raise _Forbidden(label)
        return blocked

    def __exit__(self, *exc):
        while self._originals:
            owner, name, original = self._originals.pop()
            setattr(owner, name, original)
        return False


def no_shortcuts():
    """While active, torch.optim (optimizers and their functional forms) and autograd raise."""
    import torch.autograd

    spots = [(torch.optim.Optimizer, "__init__", "torch.optim"), (torch.autograd, "grad", "torch.autograd.grad"),
             (torch.autograd, "backward", "torch.autograd.backward"), (torch.Tensor, "backward", "Tensor.backward")]
    for module_name in ("sgd", "adam", "adamw", "adagrad", "rmsprop"):
        module = getattr(torch.optim, module_name, None)
        if callable(getattr(module, module_name, None)):
            spots.append((module, module_name, f"torch.optim.{module_name}"))
    return _switched_off(spots)


def _grads(shape, steps, seed, near_zero_step=7):
    rng = torch.Generator()
    rng.manual_seed(seed)
    out = []
    for k in range(steps):
        size = 1.0 + 0.6 * math.sin(1.7 * k)  # gradients of varying size
        g = size * torch.randn(shape, generator=rng, dtype=torch.float64)
        flat = g.view(-1)
        flat[0] = 0.0  # a coordinate that never gets a gradient
        flat[1] = flat[1] * 1e-9  # a coordinate with tiny gradients only: epsilon dominates there
        if k == near_zero_step:
            g = g * 1e-6
        out.append(g)
    return out


def _oracle(name, hyper, w0, grads, cls=None, fixed=None, **extra):
    """torch.optim's iterates (float64, CPU); ``cls``/``fixed``/``extra`` build the 'likely mistake' variants."""
    spec_cls, spec_fixed, _ = _SPECS[name]
    cls = cls or spec_cls
    kwargs = {**_torch_kwargs(hyper), **extra}
    if cls is torch.optim.Adagrad:  # RMSProp's cache without the leak: Adagrad has no alpha
        kwargs.pop("alpha", None)
    p = torch.nn.Parameter(w0.detach().clone())
    opt = cls([p], **(spec_fixed if fixed is None else fixed), **kwargs)
    out = []
    for g in grads:
        p.grad = g.clone()
        opt.step()
        out.append(p.detach().clone())
    return out


def _first_difference(got, want):
    for k, (a, b) in enumerate(zip(got, want)):
        if not torch.isfinite(a).all() or not torch.allclose(a, b, rtol=RTOL, atol=ATOL):
            return k
    return None


def _specific(name, hyper):
    out = []
    if name == "sgd_momentum":
        out += [("matches momentum with dampening (an average, (1 - momentum) * dw); this rule adds the whole gradient",
                 {"hyper": {**hyper, "learning_rate": hyper["learning_rate"] * (1 - hyper["momentum"])}}),
                ("matches Nesterov momentum; sgd_momentum is the plain (heavy-ball) form", {"nesterov": True}),
                ("matches plain SGD: the velocity is not carried between calls in config['velocity']",
                 {"hyper": {**hyper, "momentum": 0.0}})]
    if name == "nesterov_momentum":
        out += [("matches plain (heavy-ball) momentum, not Nesterov: step along dw + momentum * velocity",
                 {"fixed": {}}),
                ("matches plain SGD: the velocity is not carried between calls in config['velocity']",
                 {"hyper": {**hyper, "momentum": 0.0}})]
    if name == "rmsprop":
        out += [("matches AdaGrad: RMSProp's cache leaks, cache = decay_rate * cache + (1 - decay_rate) * dw²",
                 {"cls": torch.optim.Adagrad, "fixed": {}}),
                ("decay_rate and 1 - decay_rate are swapped in the cache update",
                 {"hyper": {**hyper, "decay_rate": 1 - hyper["decay_rate"]}})]
    if name in ("adam", "adamw"):
        out.append(("beta1 and beta2 are swapped", {"hyper": {**hyper, "beta1": hyper["beta2"], "beta2": hyper["beta1"]}}))
    if name == "adam" and hyper["weight_decay"]:
        out.append(("matches AdamW: adam applies weight_decay as coupled L2 (dw + weight_decay * w, as torch.optim.Adam); "
                    "the decoupled shrink belongs to adamw", {"cls": torch.optim.AdamW}))
    if name == "adamw" and hyper["weight_decay"]:
        out.append(("matches Adam + L2: weight decay coupled instead of decoupled; adamw shrinks w by "
                    "(1 - learning_rate * weight_decay) and never adds weight_decay * w to dw", {"cls": torch.optim.Adam}))
    return out


_ALTERNATIVES = (1e-1, 1e-2, 1e-3, 1e-4, 0.0, 0.5, 0.9, 0.95, 0.99, 0.999, 1e-6, 1e-7, 1e-8, 1e-10)


def _mistakes(name, hyper, given):
    """(message, kwargs for _oracle) pairs: torch.optim with one thing changed (rule-specific ones first)."""
    out = _specific(name, hyper)
    defaults = _SPECS[name][2]
    out.append(("the update has the wrong sign: w moves uphill, along +dw (gradient descent steps against the gradient; "
            "in form B the velocity subtracts learning_rate * dw and then w += v)", {"maximize": True}))
    for key, default in defaults.items():
        if key in given:
            if key == "weight_decay" and given[key] != 0:
                how = ("adam applies it as coupled L2, dw + weight_decay * w, before the moments (as torch.optim.Adam)"
                       if name == "adam" else
                       "adamw shrinks w by (1 - learning_rate * weight_decay) before the Adam step (as torch.optim.AdamW)"
                       if name == "adamw" else "")
                out.append((f"config['weight_decay'] is ignored; {how}", {"hyper": {**hyper, key: 0.0}}))
            continue
        for alt in _ALTERNATIVES:
            if alt != default:
                out.append((f"the default {key} looks like {alt:g}; the default is {default:g}",
                            {"hyper": {**hyper, key: alt}}))
    return out


def _diagnose(name, hyper, given, w0, grads, got):
    for msg, how in _mistakes(name, hyper, given):
        how = dict(how)
        try:
            alt = _oracle(name, how.pop("hyper", hyper), w0, grads, **how)
        except (ValueError, TypeError, RuntimeError, ZeroDivisionError):
            continue
        if all(torch.allclose(a, b, rtol=1e-7, atol=ATOL) for a, b in zip(got, alt)):
            return msg
    return None


def check_rule(rule, name, config=None, *, steps=25, shape=(3, 4), seed=0, quiet=False):
    """Compare ``rule`` with torch.optim for ``steps`` float64 steps; raise AssertionError at the first difference.

    ``config=None`` calls ``rule(w, dw)`` first (every key takes its default) and then hands back the returned
    config; a dict is copied and passed on the first call. Returns None: nbgrader would read a number left as a
    test cell's last value as partial credit.
    """
    if name not in _SPECS:
        raise ValueError(f"unknown rule {name!r}; one of {sorted(_SPECS)}")
    defaults = _SPECS[name][2]
    given = dict(config or {})
    hyper = {**defaults, **given}
    w0 = torch.randn(shape, generator=torch.Generator().manual_seed(1000 + seed), dtype=torch.float64)
    grads = _grads(shape, steps, seed)
    want = _oracle(name, hyper, w0, grads)
    label = f"{name}({'config=None' if config is None else 'config=' + repr(given)})"
    w, cfg, got = w0.clone(), (None if config is None else dict(given)), []
    for k, g in enumerate(grads):
        guard = no_shortcuts()
        with guard:
            try:
                out = rule(w, g.clone()) if (k == 0 and config is None) else rule(w, g.clone(), cfg)
            except NotImplementedError:
                todo = f"{name} is not implemented yet (it raised NotImplementedError)"
                raise AssertionError(todo) from None
            except _Forbidden as exc:
                raise AssertionError(f"{name} called {exc}, which is not allowed inside an update rule: {_WHY}") from None
        if guard.used:  # the rule caught our exception and went on
            raise AssertionError(f"{name} called {guard.used[0]}, which is not allowed inside an update rule: {_WHY}")
        if not isinstance(out, tuple) or len(out) != 2:
            raise AssertionError(f"{name} must return a pair (next_w, config); it returned {type(out).__name__}")
        w, cfg = out
        if type(w) is not torch.Tensor or tuple(w.shape) != tuple(shape) or w.dtype != torch.float64:
            raise AssertionError(f"{name}: next_w must be a float64 tensor shaped {tuple(shape)} like w "
                                 f"(got {type(w).__name__} {getattr(w, 'dtype', '')} {tuple(getattr(w, 'shape', ()))})")
        if not isinstance(cfg, dict):
            raise AssertionError(f"{name} must return the config dict (it carries the state to the next call)")
        got.append(w.detach().clone())
        w = w.clone()  # the next call may update in place; keep our record intact
    k = _first_difference(got, want)
    if k is not None:
        if not torch.isfinite(got[k]).all():
            detail = "next_w has inf or nan there"
        else:
            rel = float(((got[k] - want[k]).abs() / (want[k].abs() + 1e-12)).max())
            detail = f"largest relative difference {rel:.1e}"
        hint = _diagnose(name, hyper, given, w0, grads, got)
        near = " (the near-zero-gradient step)" if k == 7 else ""
        raise AssertionError(
            f"{label} first differs from torch.optim.{_SPECS[name][0].__name__} at step {k + 1}{near} of {steps} "
            f"({detail}; float64, tolerance {RTOL:g})." + (f" Likely mistake: {hint}." if hint else
            " Compare your update with the formulas above, step by step.")
        )
    if not quiet:
        print(f"{label}: {steps} float64 steps equal torch.optim.{_SPECS[name][0].__name__}")


def _no_inverse():
    names = [(torch.linalg, n, f"torch.linalg.{n}") for n in ("inv", "inv_ex", "pinv")]
    names += [(owner, n, f"{prefix}.{n}") for owner, prefix in ((torch, "torch"), (torch.Tensor, "Tensor"))
              for n in ("inverse", "pinverse")]
    return _switched_off(names)


def check_newton_step(newton_step, n=6, seed=0, quiet=False):
    """``newton_step`` against ``w - torch.linalg.solve(H, g)`` on an SPD system (float64, then float32 dtype kept).

    An explicit inverse (torch.linalg.inv, pinv, Tensor.inverse, ...) fails: a linear solve is cheaper and more accurate.
    """
    rng = torch.Generator()
    rng.manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(n, n, generator=rng, dtype=torch.float64))
    H = q @ torch.diag(torch.logspace(-2, 2, n, dtype=torch.float64)) @ q.T
    H = 0.5 * (H + H.T)
    w, g = (torch.randn(n, generator=rng, dtype=torch.float64) for _ in range(2))
    want = w - torch.linalg.solve(H, g)
    for dtype in (torch.float64, torch.float32):
        guard = _no_inverse()
        with guard:
            try:
                out = newton_step(w.to(dtype), g.to(dtype), H.to(dtype))
            except NotImplementedError:
                todo = "newton_step is not implemented yet (it raised NotImplementedError)"
                raise AssertionError(todo) from None
            except _Forbidden as exc:
                raise AssertionError(f"newton_step calls {exc}: compute H^-1 grad with a linear solve "
                                     "(torch.linalg.solve), not an explicit inverse (slower and less accurate)") from None
        if guard.used:  # newton_step caught our exception and went on
            raise AssertionError(f"newton_step calls {guard.used[0]}: use a linear solve, not an explicit inverse")
        if type(out) is not torch.Tensor or tuple(out.shape) != (n,):
            raise AssertionError(f"newton_step must return a tensor shaped like w, ({n},)")
        if out.dtype != dtype:
            raise AssertionError(f"newton_step returned {out.dtype} for {dtype} inputs; keep w's dtype")
        rtol = 1e-9 if dtype == torch.float64 else 1e-2
        if not torch.allclose(out.double(), want, rtol=rtol, atol=rtol):
            raise AssertionError(f"newton_step on a {n}x{n} positive definite system (condition number 1e4, {dtype}) "
                                 "differs from w - torch.linalg.solve(H, grad)")
    if not quiet:
        print(f"newton_step: equals w - torch.linalg.solve(H, grad) on a {n}x{n} system (float64), keeps float32")


def demo_run(rule, name, surface, config=None, steps=100, label=None, **kwargs):
    """``playground.run_rule`` for a demo cell, with a fair verdict when your rule diverges.

    When ``rule`` diverges (or escapes) at a setting where torch.optim's rule ``name`` runs fine, the
    learning rate is not to blame: the run's message says so and points at the sign of the update.
    """
    from .optim_adapter import torch_rule
    from .playground import divergence_message, run_rule

    run = run_rule(rule, surface, config, steps=steps, name=label, **kwargs)
    if run.status in ("diverged", "escaped"):
        ref = run_rule(torch_rule(name), surface, config, steps=steps, name=f"torch.optim.{_SPECS[name][0].__name__}",
                       **kwargs)
        message = divergence_message(run.name, len(run.points), ref)
        if message:
            run.message = message
            if ref.status == "ok":
                print(run.message)
    return run
