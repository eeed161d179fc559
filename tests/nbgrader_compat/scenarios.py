"""The scenario catalogue: nbgrader's own autograde fixtures rebuilt as small courses.

Each scenario names the test of nbgrader's ``nbgrader/tests/apps/test_nbgrader_autograde.py`` it rebuilds
(``origin``). Fixture files are nbgrader's (files/, BSD-3, see files/README.md); the few notebooks nbgrader
has no fixture for (a task cell, an instructor helper cell) are built here with nbgrader's cell metadata.
Scenarios isolate one nbgrader feature each, so a difference points at one cause.
"""

from __future__ import annotations

import nbformat

from .harness import DUEDATE, Deliberate, Scenario, edited, fixture_nb, released

# --- notebooks nbgrader has no fixture for --------------------------------------------------------


def _cell(source: str, grade_id: str | None = None, *, cell_type: str = "code", solution=False, grade=False,
          locked=False, task=False, points=None):
    c = nbformat.v4.new_code_cell(source) if cell_type == "code" else nbformat.v4.new_markdown_cell(source)
    if grade_id:
        m = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
             "solution": solution, "task": task}
        if grade or task:
            m["points"] = points
        c.metadata["nbgrader"] = m
    return c


def _notebook(cells) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    return nb


def helper_cell_notebook():
    """A test that relies on an instructor code cell which is neither a test nor locked (ordinary in nbgrader)."""
    return _notebook([
        _cell("# Circles"),
        _cell("import math\nTOL = 1e-9\n\ndef close(a, b):\n    return abs(a - b) < TOL"),
        _cell("def area(r):\n    ### BEGIN SOLUTION\n    return 3.141592653589793 * r ** 2\n    ### END SOLUTION",
              "area", solution=True),
        _cell("assert close(area(1), math.pi)\nassert close(area(2), 4 * math.pi)", "test_area", grade=True,
              locked=True, points=3),
        _cell("assert area(0) == 0", "test_area_zero", grade=True, locked=True, points=1),
    ])


HELPER_RIGHT = "def area(r):\n    return 3.141592653589793 * r ** 2"
HELPER_WRONG = "def area(r):\n    return 2 * 3.141592653589793 * r"


def manual_notebook():
    """Manually graded answers (markdown and code solution+grade cells), a task cell, one auto test."""
    return _notebook([
        _cell("def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION", "double", solution=True),
        _cell("assert double(2) == 4", "test_double", grade=True, locked=True, points=1),
        _cell("Explain in one sentence why `double(0) == 0`.", "explain_q", cell_type="markdown", locked=True),
        _cell("### BEGIN SOLUTION\nZero times two is zero.\n### END SOLUTION", "explain", cell_type="markdown",
              solution=True, grade=True, points=2),
        _cell("# plot double on [0, 3]\n### BEGIN SOLUTION\nprint([double(x) for x in range(4)])\n### END SOLUTION",
              "plot_double", solution=True, grade=True, points=2),
        _cell("Task: compare `double` with `x + x` for negative numbers and describe what you see.", "task_compare",
              cell_type="markdown", locked=True, task=True, points=1),
    ])


MANUAL_ANSWERS = {"double": "def double(x):\n    return x * 2",
                  "explain": "Because 2 * 0 is 0.",
                  "plot_double": "print([double(x) for x in range(4)])"}


def uses_helper_notebook():
    """A test that imports an instructor helper module shipped next to the notebook."""
    return _notebook([
        _cell("def total(xs):\n    ### BEGIN SOLUTION\n    return sum(xs)\n    ### END SOLUTION", "total", solution=True),
        _cell("import helper\nassert total(helper.VALUES) == helper.EXPECTED", "test_total", grade=True,
              locked=True, points=2),
    ])


HELPER_PY = "VALUES = [1, 2, 3]\nEXPECTED = 6\n"


# --- answers for nbgrader's fixtures --------------------------------------------------------------

SQUARES_RIGHT = ('def squares(n):\n    if n < 1:\n        raise ValueError("n must be greater than or equal to 1")\n'
                 '    return [i ** 2 for i in range(1, n + 1)]')
SUM_RIGHT = "def sum_of_squares(n):\n    return sum(squares(n))"


def _touched(src: str) -> str:
    """A solution cell the student edited without changing what it does (no "No response." comment)."""
    return src + "\n# my answer"


def _release_touched(notebook: str, ids):
    def make(course):
        nb = released(notebook)(course)
        return edited(nb, {gid: _touched(next(c.source for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == gid))
                           for gid in ids})
    return make


AUTO_ONLY_DROP = ("baz", "quux")  # the manually graded cells of submitted-*.ipynb


def _auto_only(name: str, answers: dict | None = None):
    return edited(fixture_nb(name), answers, drop=AUTO_ONLY_DROP)


TS_ON_TIME = "text:2015-02-02 14:58:23.948203 America/Los_Angeles"
TS_1H_LATE = "text:2015-02-02 15:58:23.948203 America/Los_Angeles"
TS_EARLY = "text:2015-02-01 14:58:23.948203 America/Los_Angeles"
TS_INVALID = "text:But I want to be a timestamp string :("

HIDDEN_STUB = 'c.ClearSolutions.code_stub = dict(python="# YOUR CODE HERE")\n'

# --- the catalogue ----------------------------------------------------------------------------------

SCENARIOS = {s.name: s for s in [
    Scenario(
        "hidden_tests_late",
        "hidden tests restored at grading (visible checks pass, hidden ones fail; a right answer passes all); "
        "a due date with LateSubmissionPlugin 'zero': on time, 1 h late, no timestamp",
        origin="test_hidden_tests_single_notebook, test_late_submission_penalty_zero, test_grade_timestamp",
        duedate=DUEDATE,
        config=HIDDEN_STUB + "c.LateSubmissionPlugin.penalty_method = 'zero'\n",
        source={"p1.ipynb": edited(fixture_nb("test-hidden-tests.ipynb"))},
        students={
            "foo": {"p1.ipynb": _release_touched("p1", ["squares", "sum_of_squares"]), "timestamp.txt": TS_ON_TIME},
            "bar": {"p1.ipynb": released("p1", {"squares": SQUARES_RIGHT, "sum_of_squares": SUM_RIGHT}),
                    "timestamp.txt": TS_1H_LATE},
            "baz": {"p1.ipynb": released("p1", {"squares": SQUARES_RIGHT, "sum_of_squares": SUM_RIGHT})},
        },
    ),
    Scenario(
        "deleted_test_cell",
        "a student deleted a test cell (and answered it wrongly); a right answer",
        origin="(nbgrader's OverwriteCells with its default add_missing_cells=False)",
        config=HIDDEN_STUB,
        source={"p1.ipynb": edited(fixture_nb("test-hidden-tests.ipynb"))},
        students={
            "deleter": {"p1.ipynb": lambda course: edited(
                released("p1", {"squares": "def squares(n):\n    return []", "sum_of_squares": SUM_RIGHT})(course),
                drop=("correct_squares",))},
            "right": {"p1.ipynb": released("p1", {"squares": SQUARES_RIGHT, "sum_of_squares": SUM_RIGHT})},
        },
        deliberate=(Deliberate(
            "students/deleter/notebooks/p1/cells/correct_squares/*",
            "the project puts a deleted test cell back from the gradebook and runs it (autograder.grading.repair: "
            "auto_score 0.0, nothing for a TA to grade); nbgrader with add_missing_cells=False leaves it "
            "ungraded (auto_score None, needs_manual_grade True)"),),
    ),
    Scenario(
        "autotest_multi_notebook",
        "three notebooks per assignment (AUTOTEST simple, multi, hidden); a student who submitted one only",
        origin="test_grade_autotest, test_grade_complex_autotest, test_hidden_tests_autotest, "
               "test_grade_missing_notebook",
        config=HIDDEN_STUB,
        course_files={"autotests.yml": "autotests.yml"},
        source={"p1.ipynb": "autotest-simple.ipynb", "p2.ipynb": "autotest-multi.ipynb",
                "p3.ipynb": "autotest-hidden.ipynb"},
        students={
            "bar": {"p1.ipynb": "autotest-simple-changed.ipynb", "p2.ipynb": "autotest-multi-changed.ipynb",
                    "p3.ipynb": "autotest-hidden-changed-right.ipynb"},
            "baz": {"p1.ipynb": "autotest-simple-changed.ipynb", "p3.ipynb": "autotest-hidden-changed-wrong.ipynb"},
        },
    ),
    Scenario(
        "cheat_attempts_auto",
        "showtraceback overrides and edited grade/locked cells, on nbgrader's notebook without its manual cells",
        origin="test_showtraceback_exploit (+ submitted-grade-cell-changed, submitted-locked-cell-changed)",
        source={"p1.ipynb": _auto_only("submitted-unchanged.ipynb")},
        students={
            "bar": {"p1.ipynb": _auto_only("submitted-changed.ipynb")},
            "spam": {"p1.ipynb": _auto_only("submitted-cheat-attempt.ipynb")},
            "eggs": {"p1.ipynb": _auto_only("submitted-cheat-attempt-alternative.ipynb")},
            # answered (a = 2) so the restored `assert a == 1` fails where the commented-out copy would pass
            "gcc": {"p1.ipynb": _auto_only("submitted-grade-cell-changed.ipynb", {"set_a": "a = 2"})},
            "lcc": {"p1.ipynb": _auto_only("submitted-locked-cell-changed.ipynb", {"set_a": "a = 1"})},
        },
    ),
    Scenario(
        "manual_cells",
        "nbgrader's basic fixture: manually graded markdown and code answers next to auto tests",
        origin="test_grade, test_showtraceback_exploit",
        source={"p1.ipynb": "submitted-unchanged.ipynb"},
        students={"bar": {"p1.ipynb": "submitted-changed.ipynb"},
                  "spam": {"p1.ipynb": "submitted-cheat-attempt.ipynb"}},
    ),
    Scenario(
        "manual_and_task_cells",
        "markdown and code solution+grade cells and a task cell, answered",
        origin="(no nbgrader fixture has a task cell; cell metadata as nbgrader's create_assignment writes it)",
        source={"p1.ipynb": manual_notebook()},
        students={"ann": {"p1.ipynb": released("p1", MANUAL_ANSWERS)}},
    ),
    Scenario(
        "unanswered",
        "a student who submitted the release unchanged: nbgrader comments 'No response.' on each answer cell",
        origin="test_grade (foo), test_hidden_tests_single_notebook",
        config=HIDDEN_STUB,
        source={"p1.ipynb": edited(fixture_nb("test-hidden-tests.ipynb"))},
        students={"foo": {"p1.ipynb": released("p1")}},
    ),
    Scenario(
        "late_zero_two_notebooks",
        "due date, LateSubmissionPlugin 'zero', two notebooks: on time, 1 h late, no timestamp, empty timestamp",
        origin="test_late_submission_penalty_zero, test_grade_timestamp, test_grade_empty_timestamp",
        duedate=DUEDATE,
        config=HIDDEN_STUB + "c.LateSubmissionPlugin.penalty_method = 'zero'\n",
        course_files={"autotests.yml": "autotests.yml"},
        source={"p1.ipynb": edited(fixture_nb("test-hidden-tests.ipynb")), "p2.ipynb": "autotest-simple.ipynb"},
        students={
            "ontime": {"p1.ipynb": released("p1", {"squares": SQUARES_RIGHT, "sum_of_squares": SUM_RIGHT}),
                       "p2.ipynb": "autotest-simple-changed.ipynb", "timestamp.txt": TS_ON_TIME},
            "late": {"p1.ipynb": released("p1", {"squares": SQUARES_RIGHT, "sum_of_squares": SUM_RIGHT}),
                     "p2.ipynb": "autotest-simple-changed.ipynb", "timestamp.txt": TS_1H_LATE},
            "nots": {"p1.ipynb": _release_touched("p1", ["squares", "sum_of_squares"]),
                     "p2.ipynb": "autotest-simple-changed.ipynb"},
            "emptyts": {"p1.ipynb": _release_touched("p1", ["squares", "sum_of_squares"]),
                        "p2.ipynb": "autotest-simple-changed.ipynb", "timestamp.txt": "text:"},
        },
    ),
    Scenario(
        "late_plugin",
        "a late-penalty plugin module in the course folder (1 point per hour late)",
        origin="test_late_submission_penalty_plugin",
        duedate=DUEDATE,
        config=HIDDEN_STUB + "c.AssignLatePenalties.plugin_class = 'late_plugin.Blarg'\n",
        course_files={"late_plugin.py": "text:from nbgrader.plugins import BasePlugin\n\n\nclass Blarg(BasePlugin):\n"
                                        "    def late_submission_penalty(self, student_id, score, total_seconds_late):\n"
                                        "        return int(total_seconds_late / 3600)\n"},
        source={"p1.ipynb": edited(fixture_nb("test-hidden-tests.ipynb"))},
        students={
            "late4h": {"p1.ipynb": released("p1", {"squares": SQUARES_RIGHT, "sum_of_squares": SUM_RIGHT}),
                       "timestamp.txt": "text:2015-02-02 18:58:23.948203 America/Los_Angeles"},
            "late1h": {"p1.ipynb": released("p1", {"squares": SQUARES_RIGHT, "sum_of_squares": SUM_RIGHT}),
                       "timestamp.txt": TS_1H_LATE},
        },
    ),
    Scenario(
        "timeouts",
        "a solution cell slower than Execute.timeout, an infinite loop in an answer, a fast answer",
        origin="test_autograde_timeout, test_infinite_loop",
        config="c.Execute.timeout = 3\n",
        source={"p1.ipynb": "timeout.ipynb"},
        students={
            "slow": {"p1.ipynb": "timeout.ipynb"},
            "loop": {"p1.ipynb": edited(fixture_nb("timeout.ipynb"),
                                        {"squares": "def foo():\n    return True\nwhile True:\n    pass"})},
            "fast": {"p1.ipynb": edited(fixture_nb("timeout.ipynb"), {"squares": "def foo():\n    return True"})},
        },
    ),
    Scenario(
        "instructor_files",
        "tests read instructor files (data.txt, helper.py) that students kept, deleted or changed; "
        "Autograde.exclude_overwriting keeps the student's helper.py; an image in the assignment",
        origin="test_grade_overwrite_files, test_force (extra files), open_relative_file.ipynb, test-hidden-tests.ipynb's jupyter.png",
        config='c.Autograde.exclude_overwriting = {"ps1": ["helper.py"]}\n',
        source={"p1.ipynb": "open_relative_file.ipynb", "p2.ipynb": uses_helper_notebook(),
                "data.txt": "data.txt", "helper.py": "text:" + HELPER_PY, "jupyter.png": "jupyter.png"},
        students={
            "kept": {"p1.ipynb": released("p1"), "p2.ipynb": released("p2", {"total": "def total(xs):\n    return sum(xs)"}),
                     "data.txt": "data.txt", "helper.py": "text:" + HELPER_PY},
            "deleted": {"p1.ipynb": released("p1"), "p2.ipynb": released("p2", {"total": "def total(xs):\n    return sum(xs)"})},
            "changed": {"p1.ipynb": released("p1"), "p2.ipynb": released("p2", {"total": "def total(xs):\n    return sum(xs)"}),
                        "data.txt": "text:only\ntwo lines", "helper.py": "text:VALUES = [1]\nEXPECTED = 1\n"},
        },
    ),
    Scenario(
        "instructor_helper_cell",
        "a test uses an import, a constant and a helper defined in an ordinary instructor code cell",
        origin="(like validating-environment-variable.ipynb's `import os` cell, made score-relevant)",
        source={"p1.ipynb": helper_cell_notebook()},
        students={"right": {"p1.ipynb": released("p1", {"area": HELPER_RIGHT})},
                  "wrong": {"p1.ipynb": released("p1", {"area": HELPER_WRONG})}},
    ),
    Scenario(
        "no_grade_cells",
        "an assignment without grade cells: a notebook with side effects and one with an infinite loop",
        origin="test_side_effects, test_infinite_loop",
        config="c.Execute.timeout = 3\n",
        source={"p1.ipynb": "side-effects.ipynb", "p2.ipynb": "infinite-loop.ipynb"},
        students={"foo": {"p1.ipynb": "side-effects.ipynb", "p2.ipynb": "infinite-loop.ipynb"}},
    ),
    Scenario(
        "failed_student",
        "one student's grading fails (invalid timestamp.txt); the other is graded",
        origin="test_grade_empty_timestamp",
        duedate=DUEDATE,
        config=HIDDEN_STUB,
        source={"p1.ipynb": edited(fixture_nb("test-hidden-tests.ipynb"))},
        students={
            "good": {"p1.ipynb": released("p1", {"squares": SQUARES_RIGHT, "sum_of_squares": SUM_RIGHT}),
                     "timestamp.txt": TS_EARLY},
            "bad": {"p1.ipynb": released("p1", {"squares": SQUARES_RIGHT, "sum_of_squares": SUM_RIGHT}),
                    "timestamp.txt": TS_INVALID},
        },
    ),
]}
