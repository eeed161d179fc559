"""The RELEASE notebook's visible checks alone catch the optimizers catalogue (issue 17).

Runs every mutant and correct variant against the release's test cells (no
hidden tests there) with nbclient, see ``tests/mutants/visible.py``.
"""

import pytest

from tests.mutants import visible

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("optimizers-visible")]


@pytest.fixture(scope="module")
def results():
    return visible.visible_results("optimizers")


def test_at_least_90_percent_of_mutants_fail_a_visible_check(results):
    caught, n, _ = visible.summary(results)["total"]
    passing = sorted(r.name for r in results.values() if r.kind == "mutant" and not r.caught)
    assert caught >= 0.9 * n, f"only {caught}/{n} mutants fail a visible check; these pass: {passing}"


def test_no_correct_variant_fails_a_visible_check(results):
    bad = {r.name: r.failed for r in results.values() if r.kind == "correct" and r.caught}
    assert not bad, bad


@pytest.mark.parametrize("name", ["sgd_uses_torch_optim", "adam_wraps_torch_rule"])
def test_a_rule_wrapping_torch_optim_fails_visibly_with_the_reason(results, name):
    r = results[name]
    assert r.caught, f"{name} (wraps torch.optim) passes every visible check"
    assert any("not allowed inside an update rule" in m for m in r.failed.values()), r.failed


def test_the_wrong_momentum_sign_is_named_visibly(results):
    r = results["momentum_wrong_sign"]
    assert r.caught
    assert all("sign" in m for m in r.failed.values()), r.failed
    assert not any("starts from zero velocity" in m for m in r.failed.values()), r.failed
