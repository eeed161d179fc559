"""A small synthetic nbgrader course for the autograder tests, and mangled submissions.

Two graded functions and three test cells, built with tools/nbauthor.py, so
the tests run in seconds and do not depend on the real notebooks.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat

from tests.helpers.nbgrader_course import REPO, ScratchCourse, nb_meta, solution_submission

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
from tools.nbauthor import answer, code, md, setup, test  # noqa: E402

A = "toy"
SECRET = "hidden_oracle_marker_42"
HINT = "add looks like a - b: check the sign"


def toy_notebook(title: str, test_add: str, test_scale: str, last_test: tuple, language_info=None):
    """The toy assignment: setup, ``add`` and ``scale`` with their test cells (2 and 3 points), a third
    1-point test ``last_test = (grade id, source)`` and a demo cell. Shared by every toy-course test."""
    cells = [
        md(title),
        setup("import math\nprint('setup ok')"),
        answer("add", '''
            def add(a, b):
                """Return a + b."""
                ### BEGIN SOLUTION
                return a + b
                ### END SOLUTION
        '''),
        test("test_add", test_add, points=2),
        answer("scale", '''
            def scale(x, k):
                """Return x * k."""
                ### BEGIN SOLUTION
                return x * k
                ### END SOLUTION
        '''),
        test("test_scale", test_scale, points=3),
        test(last_test[0], last_test[1], points=1),
        code("print('demo:', add(1, 2))"),
    ]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    if language_info:
        nb.metadata["language_info"] = language_info
    return nb


def source_notebook():
    return toy_notebook("# Toy\nTwo functions.", f'''
            assert add(0, 0) == 0, "add(0, 0) should be 0"
            ### BEGIN HIDDEN TESTS
            {SECRET} = 1
            if add(2, 3) == -1:
                raise AssertionError("{HINT}")
            assert add(2, 3) == 5, "add(2, 3) should be 5"
            ### END HIDDEN TESTS
        ''', '''
            assert scale(2, 2) == 4, "scale(2, 2) should be 4"
            ### BEGIN HIDDEN TESTS
            assert scale(4, 5) == 20, "scale(4, 5) should be 20"
            ### END HIDDEN TESTS
        ''', ("test_scale_one", '''
            assert scale(1, 1) == 1, "scale(1, 1) should be 1"
        '''))


MAX_SCORE = 6.0


def make_course(root: Path) -> ScratchCourse:
    course = ScratchCourse(root, [A], source_nbs={A: source_notebook()})
    course.generate(A)
    return course


def with_answer(course, function: str, code_text: str):
    return solution_submission(course.source_nb(A), {function: code_text})


def drop_cells(nb, grade_ids):
    nb = nbformat.from_dict(nb)
    nb.cells = [c for c in nb.cells if nb_meta(c).get("grade_id") not in set(grade_ids)]
    return nb


def duplicate_cell(nb, grade_id):
    nb = nbformat.from_dict(nb)
    i = next(i for i, c in enumerate(nb.cells) if nb_meta(c).get("grade_id") == grade_id)
    copy = nbformat.from_dict(json.loads(json.dumps(nb.cells[i])))
    copy["id"] = "dup" + copy.get("id", "x")[:20]
    nb.cells.insert(i + 1, copy)
    return nb


def retype_cell(nb, grade_id):
    nb = nbformat.from_dict(nb)
    i = next(i for i, c in enumerate(nb.cells) if nb_meta(c).get("grade_id") == grade_id)
    old = nb.cells[i]
    new = nbformat.v4.new_markdown_cell(old.source)
    new.metadata = old.metadata
    nb.cells[i] = new
    return nb


def strip_metadata(nb):
    nb = nbformat.from_dict(nb)
    for c in nb.cells:
        c.metadata.pop("nbgrader", None)
    return nb


def as_v3_bytes(nb) -> bytes:
    return nbformat.writes(nbformat.convert(nbformat.from_dict(nb), 3)).encode()


def write_raw(course, student: str, data: bytes):
    dest = course.root / "submitted" / student / A
    dest.mkdir(parents=True, exist_ok=True)
    (dest / f"{A}.ipynb").write_bytes(data)
