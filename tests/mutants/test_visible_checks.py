"""Per assignment, at least 90% of the mutant catalogue fails a check the student can see (issue 17).

``tests.mutants.visible`` runs the released test cells (hidden tests already
stripped by nbgrader) against each mutant and correct variant; the report with
the fraction per function is printed (``pytest -s`` shows it). No correct
variant and not the instructor's solution may fail a visible check.
"""

import pytest

from tests.mutants.visible import run_visible

pytestmark = pytest.mark.slow

MIN_VISIBLE_FRACTION = 0.9
from tests.helpers.nbgrader_course import ASSIGNMENTS  # noqa: E402


@pytest.mark.timeout(1200)
@pytest.mark.parametrize("assignment", [pytest.param(a, marks=pytest.mark.xdist_group(f"visible-{a}")) for a in ASSIGNMENTS])
def test_most_mutants_fail_a_visible_check(assignment):
    res = run_visible(assignment)
    print(res.report())
    assert not res.solution_failing, f"the instructor's solution fails visible checks: {res.solution_failing}"
    assert not res.correct_failing, f"correct variants fail visible checks: {res.correct_failing}"
    assert res.fraction() >= MIN_VISIBLE_FRACTION, (
        f"only {res.fraction():.0%} of {assignment}'s mutants fail a visible check (need "
        f"{MIN_VISIBLE_FRACTION:.0%}):\n{res.report()}")
