"""course_utils.optim_adapter.torch_rule equals torch.optim step by step."""

import pytest
import torch

from course_utils.optim_adapter import RULE_NAMES, torch_rule

# name -> (torch.optim class, torch kwargs, course config with the same meaning)
CASES = {
    "sgd": (torch.optim.SGD, {"lr": 0.05}, {"learning_rate": 0.05}),
    "sgd_momentum": (torch.optim.SGD, {"lr": 0.05, "momentum": 0.8}, {"learning_rate": 0.05, "momentum": 0.8}),
    "nesterov_momentum": (torch.optim.SGD, {"lr": 0.05, "momentum": 0.8, "nesterov": True},
                          {"learning_rate": 0.05, "momentum": 0.8}),
    "adagrad": (torch.optim.Adagrad, {"lr": 0.1, "eps": 1e-10}, {"learning_rate": 0.1}),
    "rmsprop": (torch.optim.RMSprop, {"lr": 0.01, "alpha": 0.9, "eps": 1e-8}, {"learning_rate": 0.01, "decay_rate": 0.9}),
    "adam": (torch.optim.Adam, {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-8, "weight_decay": 0.1},
             {"learning_rate": 0.01, "beta1": 0.8, "beta2": 0.99, "weight_decay": 0.1}),
    "adamw": (torch.optim.AdamW, {"lr": 0.01, "betas": (0.9, 0.999), "weight_decay": 0.05},
              {"learning_rate": 0.01, "weight_decay": 0.05}),
}


def _grad(w):
    # gradient of a non-quadratic loss so every state variable matters
    return torch.sin(3 * w) + 0.5 * w ** 3


def _torch_trajectory(cls, kwargs, w0, steps, lr_change=None):
    p = torch.nn.Parameter(w0.clone())
    opt = cls([p], **kwargs)
    out = []
    for t in range(steps):
        if lr_change and t == lr_change[0]:
            opt.param_groups[0]["lr"] = lr_change[1]
        p.grad = _grad(p.detach())
        opt.step()
        out.append(p.detach().clone())
    return out


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_equals_torch_optim_step_by_step(name, dtype):
    cls, kwargs, config = CASES[name]
    w0 = torch.linspace(-1.5, 2.0, 12, dtype=dtype).reshape(3, 4)
    want = _torch_trajectory(cls, kwargs, w0, 15)
    rule = torch_rule(name)
    w, cfg = w0.clone(), dict(config)
    for t in range(15):
        w, cfg = rule(w, _grad(w), cfg)
        assert w.dtype == dtype and w.shape == w0.shape and not w.requires_grad
        assert torch.equal(w, want[t]), f"{name} differs from torch.optim at step {t + 1}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_defaults_are_the_course_defaults(name):
    cls, _, _ = CASES[name]
    course = {"sgd_momentum": {"momentum": 0.9}, "nesterov_momentum": {"momentum": 0.9, "nesterov": True},
              "rmsprop": {"alpha": 0.99}, "adagrad": {"eps": 1e-10}, "adam": {}, "adamw": {}}
    lr = 1e-3 if name in ("adam", "adamw") else 1e-2
    kwargs = {"lr": lr, **course.get(name, {})}
    w0 = torch.randn(5, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    want = _torch_trajectory(cls, kwargs, w0, 5)
    rule, w, cfg = torch_rule(name), w0.clone(), None
    for t in range(5):
        w, cfg = rule(w, _grad(w), cfg)
        assert torch.equal(w, want[t])
    assert cfg["learning_rate"] == lr
    if name == "adamw":
        assert cfg["weight_decay"] == 1e-2


def test_learning_rate_changes_take_effect():
    cls, kwargs, config = CASES["sgd_momentum"]
    w0 = torch.ones(4, dtype=torch.float64)
    want = _torch_trajectory(cls, kwargs, w0, 8, lr_change=(4, 0.005))
    rule, w, cfg = torch_rule("momentum"), w0.clone(), dict(config)
    for t in range(8):
        if t == 4:
            cfg["learning_rate"] = 0.005
        w, cfg = rule(w, _grad(w), cfg)
        assert torch.equal(w, want[t])


def test_rule_defaults_and_aliases():
    rule = torch_rule("nesterov", learning_rate=0.2, momentum=0.5)
    assert rule.__name__ == "nesterov_momentum"
    w, cfg = rule(torch.zeros(2), torch.ones(2))
    assert cfg["learning_rate"] == 0.2 and cfg["momentum"] == 0.5
    assert torch.allclose(w, torch.full((2,), -0.3))  # nesterov first step: lr * (g + mu * g)
    assert set(RULE_NAMES) >= {"sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"}


def test_input_w_is_not_modified_and_output_is_a_fresh_tensor():
    rule = torch_rule("adam", learning_rate=0.1)
    w = torch.ones(3)
    w_next, cfg = rule(w, torch.ones(3))
    assert torch.equal(w, torch.ones(3))
    w_again, _ = rule(w_next, torch.ones(3), cfg)
    assert w_again.data_ptr() != w_next.data_ptr()


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: torch_rule("adamax"), "unknown update rule"),
        (lambda: torch_rule("adam", lr=0.1), "unknown hyperparameter"),
        (lambda: torch_rule("sgd")(torch.zeros(2), torch.zeros(3)), "must match"),
        (lambda: torch_rule("sgd")(torch.zeros(2), torch.zeros(2), {"lr": 1.0}), "unknown key"),
        (lambda: torch_rule("sgd")(torch.zeros(2), torch.zeros(2), [1]), "dict or None"),
    ],
)
def test_bad_input_gets_a_clear_error(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_config_reused_for_another_shape_is_refused():
    rule = torch_rule("adam")
    _, cfg = rule(torch.zeros(2), torch.ones(2))
    with pytest.raises(ValueError, match="config=None"):
        rule(torch.zeros(3), torch.ones(3), cfg)
