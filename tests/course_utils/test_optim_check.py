"""course_utils.optim_check: the optimizers notebook's visible checks against torch.optim."""

import pytest
import torch

from course_utils.optim_adapter import torch_rule
from course_utils.optim_check import _SPECS, _grads, _oracle, check_newton_step, check_rule, demo_run
from tests.mutants import optimizers as catalogue


def _load(entry):
    ns = {}
    exec(entry.code, ns)  # noqa: S102  (catalogue code written by us)
    return ns[entry.function]


def _configs(function):
    if function == "adam":
        return [None, {"learning_rate": 0.05, "beta1": 0.8, "beta2": 0.99, "weight_decay": 0.1}]
    if function == "adamw":
        return [None, {"learning_rate": 0.05, "weight_decay": 0.5}]
    return [None, {"learning_rate": 0.05}]


#: the catalogue also holds the predict-then-verify functions, which optim_check does not run
RULES = set(_SPECS) | {"newton_step"}


@pytest.mark.parametrize("variant", [v for v in catalogue.CORRECT if v.function in RULES], ids=lambda v: v.name)
def test_every_correct_variant_passes(variant):
    rule = _load(variant)
    if variant.function == "newton_step":
        check_newton_step(rule, quiet=True)
        return
    for config in _configs(variant.function):
        assert check_rule(rule, variant.function, config, quiet=True) is None  # a number would be partial credit


@pytest.mark.parametrize("name", sorted(_SPECS))
def test_wrapping_torch_optim_fails_with_the_reason(name):
    with pytest.raises(AssertionError, match="not allowed inside an update rule.*write the update's arithmetic"):
        check_rule(torch_rule(name), name, {"learning_rate": 0.05}, quiet=True)


def test_autograd_inside_a_rule_fails():
    def sgd(w, dw, config=None):
        config = config or {}
        x = w.detach().requires_grad_(True)
        (x * dw).sum().backward()
        return w - config.get("learning_rate", 1e-2) * x.grad, config

    with pytest.raises(AssertionError, match="backward"):
        check_rule(sgd, "sgd", None, quiet=True)


@pytest.mark.parametrize("name, hint", [
    ("momentum_wrong_sign", "wrong sign"), ("sgd_uphill", "wrong sign"), ("sgd_default_lr", "default learning_rate"),
    ("momentum_dampening", "dampening"), ("nesterov_is_plain_momentum", "not Nesterov"),
    ("adagrad_default_eps_1e7", "default epsilon"), ("rmsprop_is_adagrad", "AdaGrad"),
    ("rmsprop_swapped_decay", "decay_rate"), ("adam_swapped_betas", "swapped"),
    ("adam_ignores_weight_decay", "weight_decay'] is ignored"), ("adam_decoupled_decay", "matches AdamW"),
    ("adam_default_eps_1e7", "default epsilon"), ("adamw_coupled", "coupled instead of decoupled"),
    ("adamw_default_wd_0", "default weight_decay"),
])
def test_mutants_fail_with_the_right_hint(name, hint):
    mutant = next(m for m in catalogue.MUTANTS if m.name == name)
    rule = _load(mutant)
    messages = []
    for config in _configs(mutant.function):
        try:
            check_rule(rule, mutant.function, config, quiet=True)
        except AssertionError as exc:
            messages.append(str(exc))
    assert messages, f"{name} passed every visible check"
    assert any(hint.lower() in m.lower() for m in messages), messages


@pytest.mark.parametrize("name", ["adagrad_eps_inside", "rmsprop_eps_inside", "adam_eps_inside", "adam_t_starts_at_1"])
def test_epsilon_and_step_count_slips_fail(name):
    mutant = next(m for m in catalogue.MUTANTS if m.name == name)
    with pytest.raises(AssertionError, match="first differs from torch.optim"):
        check_rule(_load(mutant), mutant.function, None, quiet=True)


def test_the_message_never_shows_the_expected_numbers():
    mutant = next(m for m in catalogue.MUTANTS if m.name == "adam_eps_inside")
    with pytest.raises(AssertionError) as info:
        check_rule(_load(mutant), "adam", None, quiet=True)
    msg = str(info.value)
    w0 = torch.randn((3, 4), generator=torch.Generator().manual_seed(1000), dtype=torch.float64)
    want = _oracle("adam", dict(_SPECS["adam"][2]), w0, _grads((3, 4), 25, 0))
    for it in want:
        for v in it.reshape(-1).tolist():
            for digits in (3, 4, 6):
                assert f"{v:.{digits}f}" not in msg and f"{v:.{digits}g}" not in msg


def test_the_gradient_sequence_has_a_dead_a_tiny_and_a_near_zero_step():
    grads = _grads((3, 4), 25, 0)
    assert len(grads) >= 20
    assert all(float(g.view(-1)[0]) == 0.0 for g in grads)
    assert all(0 < abs(float(g.view(-1)[1])) < 1e-8 for g in grads if float(g.abs().max()) > 1e-3)
    assert float(grads[7].abs().max()) < 1e-5


def test_check_newton_step_rejects_an_inverse_and_a_dtype_change():
    with pytest.raises(AssertionError, match="explicit inverse"):
        check_newton_step(lambda w, g, H: w - torch.linalg.inv(H) @ g, quiet=True)
    with pytest.raises(AssertionError, match="dtype"):
        check_newton_step(lambda w, g, H: w.double() - torch.linalg.solve(H.double(), g.double()), quiet=True)


def test_demo_run_blames_the_sign_not_the_learning_rate(capsys):
    wrong = _load(next(m for m in catalogue.MUTANTS if m.name == "momentum_wrong_sign"))
    run = demo_run(wrong, "sgd_momentum", "quadratic", {"learning_rate": 0.1, "momentum": 0.9}, steps=200)
    assert run.status in ("diverged", "escaped")
    assert "check the sign of the update" in run.message
    assert "learning rate too large" not in run.message
    right = demo_run(torch_rule("sgd"), "sgd", "quadratic", {"learning_rate": 0.6}, steps=100)
    assert right.status == "diverged" and "sign" not in right.message  # above 2/λmax: torch.optim diverges too


@pytest.mark.parametrize("assignment", ["regularization", "gradients", "optimizers", "linear_classifier"])
def test_optim_check_repeats_no_solution_or_hidden_test_text(assignment):
    """Student bundles carry course_utils; autograder.publishing.bundle refuses one that repeats hidden-test lines."""
    import nbformat

    from autograder.publishing.bundle import find_leaks, solution_fragments
    from tests.helpers.nbgrader_course import REPO

    src = nbformat.read(str(REPO / "source" / assignment / f"{assignment}.ipynb"), as_version=4)
    data = (REPO / "course_utils" / "optim_check.py").read_bytes()
    assert not find_leaks({"course_utils/optim_check.py": data}, solution_fragments(src))
