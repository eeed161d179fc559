"""The demo's sample submissions are data shipped with the package, and they still fit the course."""

from __future__ import annotations

import pytest

from autograder import demo
from autograder.course import discover_assignments
from autograder.notebook import solution_submission
from tests.helpers.nbgrader_course import REPO, answer_cells, read_source


@pytest.mark.parametrize("assignment", discover_assignments(REPO))
def test_every_assignment_ships_buggy_samples_for_its_own_answer_cells(assignment):
    samples, note = demo._mutants(assignment)
    assert note is None and 1 <= len(samples) <= 3
    src = read_source(assignment)
    answers = answer_cells(src)
    assert len({s.function for s in samples}) == len(samples)
    for s in samples:
        assert s.function in answers, f"{s.name}: no answer cell {s.function!r} in source/{assignment}"
        solution = solution_submission(src)
        buggy = solution_submission(src, {s.function: s.code})
        assert buggy != solution, f"{s.name} is the solution itself"


def test_the_demo_does_not_read_the_test_suite():
    text = (REPO / "autograder" / "demo.py").read_text()
    assert "tests/mutants" not in text and "tests.mutants" not in text
