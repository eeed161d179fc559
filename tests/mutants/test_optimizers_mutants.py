"""Every mutant of the `optimizers` catalogue loses points, every correct variant keeps them (real nbgrader)."""

import pytest

from tests.mutants import runner

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("optimizers")]


def test_optimizers_mutant_catalogue(tmp_path):
    cat, results = runner.grade_catalogue(tmp_path, "optimizers")
    problems = runner.check_catalogue(cat, results, min_mutants=25, min_correct_per_function=2)
    assert not problems, "\n".join(problems)
