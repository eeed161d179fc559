"""The real regularization notebook, reduced to its graded cells, through the autograder."""

from __future__ import annotations

import nbformat
import pytest

from autograder.grading.batch import grade
from tests.autograder import toycourse  # noqa: F401  (puts the venv's bin on PATH for nbgrader)
from tests.helpers.nbgrader_course import REPO, ScratchCourse, solution_submission

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("autograder")]
A = "regularization"


@pytest.mark.skipif(not (REPO / "source" / A / f"{A}.ipynb").exists(), reason="no regularization source notebook")
def test_regularization_solution_full_blank_zero(tmp_path):
    c = ScratchCourse(tmp_path / "course", [A], reduced=True)
    c.generate(A)
    c.submit(A, "solution", solution_submission(c.source_nb(A)))
    c.submit(A, "blank", nbformat.read(str(c.release_path(A)), as_version=4))
    s = grade(c.root, A, workers=2, progress=False)
    sol, blank = s["students"]["solution"], s["students"]["blank"]
    assert sol["status"] == "graded" and blank["status"] == "graded", s["students"]
    assert sol["max_score"] > 0 and sol["score"] == sol["max_score"]
    assert blank["score"] == 0.0
    assert c.result(A, "solution").total == sol["max_score"]
