"""The optimizers release's visible checks name the mistakes students make most (issue 17).

Uses the run of ``tests.mutants.visible`` that ``test_visible_checks`` makes for
optimizers (cached per process; both modules run on the same xdist worker).
"""

import pytest

from tests.mutants.visible import run_visible

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("visible-optimizers")]


@pytest.fixture(scope="module")
def results():
    return run_visible("optimizers")


@pytest.mark.timeout(1200)
@pytest.mark.parametrize("name", ["sgd_uses_torch_optim", "adam_wraps_torch_rule"])
def test_a_rule_wrapping_torch_optim_fails_visibly_with_the_reason(results, name):
    failed = results.messages.get(name)
    assert failed, f"{name} (wraps torch.optim) passes every visible check"
    assert any("not allowed inside an update rule" in m for m in failed.values()), failed


@pytest.mark.timeout(1200)
def test_the_wrong_momentum_sign_is_named_visibly(results):
    failed = results.messages.get("momentum_wrong_sign")
    assert failed, "momentum with the wrong sign passes every visible check"
    assert all("sign" in m for m in failed.values()), failed
    assert not any("starts from zero velocity" in m for m in failed.values()), failed
