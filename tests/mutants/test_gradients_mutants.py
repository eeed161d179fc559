"""The gradients mutant catalogue through the real ``nbgrader autograde``.

Every mutant must lose points on its function's tests with a message naming the
likely mistake; every correct variant (and the instructor solution) must get
full marks.
"""

import pytest

from tests.mutants import runner

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("mutants-gradients")]

FUNCTIONS = {"numeric_gradient", "svm_loss_naive", "svm_loss_vectorized", "softmax_loss_naive", "softmax_loss_vectorized"}


def test_gradients_mutants(tmp_path):
    cat, results = runner.grade_catalogue(tmp_path, "gradients")
    for student, r in sorted(results.items()):
        print(f"{student}: {r.total}/{r.max_total} {r.messages}")
    problems = runner.check_catalogue(cat, results, min_mutants=15, min_correct_per_function=1)
    assert not problems, "\n".join(problems)
    assert len(cat.CORRECT) >= 3
    assert {m.function for m in cat.MUTANTS} == FUNCTIONS, "every graded function needs mutants"
    assert {v.function for v in cat.CORRECT} == FUNCTIONS, "every graded function needs a correct variant"
