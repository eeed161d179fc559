"""Every linear_classifier mutant loses points through the real nbgrader; correct variants keep full marks."""

import pytest

from tests.mutants import runner

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("linear_classifier")]


@pytest.mark.timeout(1800)
def test_linear_classifier_mutant_catalogue(tmp_path):
    cat, results = runner.grade_catalogue(tmp_path, "linear_classifier")
    problems = runner.check_catalogue(cat, results, min_mutants=12, min_correct_per_function=2)
    for p in problems:
        print(p)
    assert not problems, "\n".join(problems)
