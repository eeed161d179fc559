"""torch.optim behind the course's update-rule interface (spec §3.3).

An update rule is called as ``next_w, config = rule(w, dw, config=None)``.
``torch_rule(name, **defaults)`` builds one that is torch.optim itself: the
optimizer lives in ``config`` and each call copies ``w`` into its parameter,
sets the gradient to ``dw`` and calls ``step()``, so iterates equal
torch.optim's exactly.

    from course_utils.optim_adapter import torch_rule
    adam = torch_rule("adam", learning_rate=1e-2)
    W, history = train_linear_classifier(softmax_loss, W0, X, y, adam)

Hyperparameters use the course's config keys (``learning_rate``, ``momentum``,
``decay_rate``, ``beta1``, ``beta2``, ``epsilon``, ``weight_decay``). Values
given in ``config`` win over ``defaults``; changing ``config["learning_rate"]``
between calls changes the step size from the next call on (learning-rate
schedules work). One config belongs to one parameter: start a fresh config
(``None``) for every training run.
"""

from __future__ import annotations

import torch

__all__ = ["torch_rule", "RULE_NAMES"]

# name -> (torch.optim class, fixed torch kwargs, {course key: default})
_SPECS = {
    "sgd": (torch.optim.SGD, {}, {"learning_rate": 1e-2, "weight_decay": 0.0}),
    "sgd_momentum": (torch.optim.SGD, {}, {"learning_rate": 1e-2, "momentum": 0.9, "weight_decay": 0.0}),
    "nesterov_momentum": (torch.optim.SGD, {"nesterov": True},
                          {"learning_rate": 1e-2, "momentum": 0.9, "weight_decay": 0.0}),
    "adagrad": (torch.optim.Adagrad, {}, {"learning_rate": 1e-2, "epsilon": 1e-10, "weight_decay": 0.0}),
    "rmsprop": (torch.optim.RMSprop, {},
                {"learning_rate": 1e-2, "decay_rate": 0.99, "epsilon": 1e-8, "weight_decay": 0.0}),
    "adam": (torch.optim.Adam, {},
             {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8, "weight_decay": 0.0}),
    "adamw": (torch.optim.AdamW, {},
              {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8, "weight_decay": 1e-2}),
}
_ALIASES = {"momentum": "sgd_momentum", "nesterov": "nesterov_momentum"}
RULE_NAMES = tuple(_SPECS) + tuple(_ALIASES)

# keys the adapter keeps in config for itself
_STATE_KEYS = ("optimizer", "param")


def _torch_kwargs(hp: dict) -> dict:
    """Course config keys -> torch.optim constructor / param-group keys."""
    out = {"lr": hp["learning_rate"]}
    if "momentum" in hp:
        out["momentum"] = hp["momentum"]
    if "decay_rate" in hp:
        out["alpha"] = hp["decay_rate"]
    if "beta1" in hp:
        out["betas"] = (hp["beta1"], hp["beta2"])
    if "epsilon" in hp:
        out["eps"] = hp["epsilon"]
    out["weight_decay"] = hp["weight_decay"]
    return out


def torch_rule(name: str, **defaults):
    """An update rule ``rule(w, dw, config=None) -> (next_w, config)`` backed by torch.optim.

    ``name``: sgd, sgd_momentum (or momentum), nesterov_momentum (or nesterov),
    adagrad, rmsprop, adam, adamw. ``defaults`` override the course defaults
    for this rule (e.g. ``learning_rate=1e-2``).
    """
    key = _ALIASES.get(str(name).lower(), str(name).lower())
    if key not in _SPECS:
        raise ValueError(f"unknown update rule {name!r}; choose one of {', '.join(RULE_NAMES)}")
    opt_cls, fixed, course_defaults = _SPECS[key]
    unknown = set(defaults) - set(course_defaults)
    if unknown:
        raise ValueError(
            f"{key}: unknown hyperparameter(s) {sorted(unknown)}; this rule takes {sorted(course_defaults)}"
        )
    base = {**course_defaults, **defaults}

    def rule(w, dw, config=None):
        if config is None:
            config = {}
        if not isinstance(config, dict):
            raise TypeError(f"{key}: config must be a dict or None, got {type(config).__name__}")
        if not isinstance(w, torch.Tensor) or not isinstance(dw, torch.Tensor):
            raise TypeError(f"{key}: w and dw must be tensors, got {type(w).__name__} and {type(dw).__name__}")
        if dw.shape != w.shape:
            raise ValueError(f"{key}: dw has shape {tuple(dw.shape)} but w has {tuple(w.shape)}; they must match")
        stray = set(config) - set(course_defaults) - set(_STATE_KEYS)
        if stray:
            raise ValueError(
                f"{key}: config has unknown key(s) {sorted(stray)}; this rule takes {sorted(course_defaults)}"
            )
        for k, v in base.items():
            config.setdefault(k, v)
        hp = {k: config[k] for k in course_defaults}

        param = config.get("param")
        if param is None:
            param = torch.nn.Parameter(w.detach().clone())
            config["param"] = param
            config["optimizer"] = opt_cls([param], **fixed, **_torch_kwargs(hp))
        elif param.shape != w.shape or param.dtype != w.dtype or param.device != w.device:
            raise ValueError(
                f"{key}: this config holds optimizer state for a {tuple(param.shape)} {param.dtype} tensor on "
                f"{param.device}, not for w {tuple(w.shape)} {w.dtype} on {w.device}; pass config=None to start fresh"
            )
        opt = config["optimizer"]
        opt.param_groups[0].update(_torch_kwargs(hp))

        with torch.no_grad():
            param.copy_(w)  # w may be a new tensor each call (rules may return copies)
        param.grad = dw.detach().clone()
        opt.step()
        param.grad = None
        return param.detach().clone(), config

    rule.__name__ = key
    rule.__qualname__ = f"torch_rule({key!r})"
    rule.__doc__ = f"{key} update rule backed by {opt_cls.__module__}.{opt_cls.__name__}; defaults {base}"
    return rule
