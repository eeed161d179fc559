"""The regularization mutant catalogue through the real ``nbgrader autograde``.

Every mutant must lose points on its function's tests with a message naming the
mistake; every correct variant (and the instructor solution) must get full marks.
"""

import pytest

from tests.mutants import runner

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("mutants-regularization")]


def test_regularization_mutants(tmp_path):
    cat, results = runner.grade_catalogue(tmp_path, "regularization")
    for student, r in sorted(results.items()):
        failing = {k: v for k, v in r.messages.items()}
        print(f"{student}: {r.total}/{r.max_total} {failing}")
    problems = runner.check_catalogue(cat, results, min_mutants=8, min_correct_per_function=3)
    assert not problems, "\n".join(problems)
    # several genuinely different correct implementations overall, not one spelled three ways
    assert len({v.name for v in cat.CORRECT}) >= 3
    assert len({v.function for v in cat.CORRECT}) == 4, "every graded function needs correct variants"
