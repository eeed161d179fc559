"""A small synthetic assignment with canaries in its hidden tests, graded by the real nbgrader.

Shared by the feedback, report, export and Gradescope tests. ``CANARY`` is
planted in every hidden region (comment, string, identifier, printed output);
it must never appear in anything a student can see.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import nbformat

from tests.helpers.nbgrader_course import ScratchCourse, solution_submission

from tests.autograder.toycourse import toy_notebook

ASSIGNMENT = "toyassign"
CANARY = "qz7canary"
DUE = dt.datetime(2030, 1, 10, 12, 0, 0)
HINT_ADD = "add looks like a - b: check the sign"
HINT_SCALE = "scale adds k instead of multiplying by it"


def source_notebook():
    return toy_notebook("# Toy assignment\nTwo functions, three check cells.", f'''
            assert add(0, 0) == 0, "add(0, 0) should be 0"
            ### BEGIN HIDDEN TESTS
            # {CANARY}_comment: the instructor's secret reasoning
            {CANARY}_name = "{CANARY}_string"
            print("{CANARY}_printed")
            def _{CANARY}_oracle(a, b):
                return a + b  # {CANARY}_oracle
            if add(2, 3) == 2 - 3:
                raise AssertionError("{HINT_ADD}")
            assert add(2, 3) == _{CANARY}_oracle(2, 3), "add(2, 3) is wrong"
            ### END HIDDEN TESTS
        ''', f'''
            assert scale(2, 2) == 4, "scale(2, 2) should be 4"
            ### BEGIN HIDDEN TESTS
            {CANARY}_table = [(2, 3, 6), (4, 5, 20)]  # {CANARY}_cases
            for x, k, want in {CANARY}_table:
                if scale(x, k) == x + k:
                    raise AssertionError("{HINT_SCALE}")
                assert scale(x, k) == want, f"scale({{x}}, {{k}}) should be {{want}}"
            ### END HIDDEN TESTS
        ''', ("test_scale_visible", '''
            assert scale(1, 1) == 1, "scale(1, 1) should be 1"
            print("visible check passed")
        '''), language_info={"name": "python", "version": "3.11"})


def _replace(nb, grade_id, source):
    for c in nb.cells:
        if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id:
            c.source = source
    return nb


def submissions(course: ScratchCourse) -> dict:
    """student id -> (notebook, timestamp or None). A mixed batch."""
    src = course.source_nb(ASSIGNMENT)
    release = nbformat.read(str(course.release_path(ASSIGNMENT)), as_version=4)
    subs = {
        "good": solution_submission(src),
        "buggy_add": solution_submission(src, {"add": "def add(a, b):\n    return a - b\n"}),
        "buggy_scale": solution_submission(src, {"scale": "def scale(x, k):\n    return x + k\n"}),
        "blank": release,
    }
    # A student who prints the kernel's input history after the tests ran: it holds the hidden tests.
    snoop = solution_submission(src)
    snoop.cells.append(nbformat.v4.new_code_cell("print('\\n'.join(In))\nraise RuntimeError([s for s in In if 'HIDDEN' in s][0])"))
    subs["snoop"] = snoop
    subs["late"] = solution_submission(src)
    looper = solution_submission(src)
    looper.cells.append(nbformat.v4.new_code_cell("while True:\n    pass"))
    subs["looper"] = looper
    subs["mangled"] = b'{"cells": [ this is not JSON'
    stamps = {s: (DUE - dt.timedelta(hours=1)) for s in subs}
    stamps["late"] = DUE + dt.timedelta(days=1, hours=3)   # two started days late
    return {s: (nb, stamps[s]) for s, nb in subs.items()}


def build_course(root: Path, students: dict | None = None) -> ScratchCourse:
    """Scratch course with the toy assignment generated, its due date set, and the batch submitted."""
    course = ScratchCourse(Path(root), [ASSIGNMENT], source_nbs={ASSIGNMENT: source_notebook()})
    course.nbgrader("db", "assignment", "add", ASSIGNMENT, f"--duedate={DUE.isoformat()} UTC")
    course.generate(ASSIGNMENT)
    for sid, (nb, stamp) in (submissions(course) if students is None else students).items():
        if isinstance(nb, bytes):
            dest = course.root / "submitted" / sid / ASSIGNMENT
            dest.mkdir(parents=True, exist_ok=True)
            (dest / f"{ASSIGNMENT}.ipynb").write_bytes(nb)
        else:
            course.submit(ASSIGNMENT, sid, nb)
        if stamp is not None:
            (course.root / "submitted" / sid / ASSIGNMENT / "timestamp.txt").write_text(
                stamp.strftime("%Y-%m-%d %H:%M:%S.%f UTC"))
    # "good" came through `nbgrader submit`, which leaves a secret that release_feedback needs.
    good = course.root / "submitted" / "good" / ASSIGNMENT
    if good.exists():
        (good / "submission_secret.txt").write_text("0123456789abcdef" * 8)
    return course


_CACHE: dict = {}


CELL_TIMEOUT = 10


def grade(root: Path, *extra: str) -> subprocess.CompletedProcess:
    """``python -m autograder grade`` on the course, as a TA runs it."""
    from tests.helpers.nbgrader_course import grading_env

    proc = subprocess.run([sys.executable, "-m", "autograder", "grade", ASSIGNMENT, "--workers", "2",
                           "--no-progress", "--timeout-cell", str(CELL_TIMEOUT), *extra],
                          cwd=root, env=grading_env(), capture_output=True, text=True, timeout=1200)
    if proc.returncode != 0:
        raise RuntimeError(f"autograder grade failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return proc


def graded_batch(tmp_path_factory) -> Path:
    """Build and grade the batch (``python -m autograder grade``) once per test process; returns the course root."""
    if "root" not in _CACHE:
        root = tmp_path_factory.mktemp("toy_course")
        build_course(root)
        grade(root)
        _CACHE["root"] = root
    return _CACHE["root"]


def files_under(root: Path):
    return [p for p in Path(root).rglob("*") if p.is_file()]


def leaks(text: str) -> list[str]:
    """Places where the canary shows up, in the text or in any base64 blob inside it."""
    import base64
    import re

    found = []
    if CANARY in text:
        i = text.index(CANARY)
        found.append(text[max(0, i - 80): i + 80])
    for blob in re.findall(r"[A-Za-z0-9+/]{40,}={0,2}", text):
        try:
            decoded = base64.b64decode(blob + "=" * (-len(blob) % 4), validate=False)
        except Exception:
            continue
        if CANARY.encode() in decoded:
            found.append(f"base64 blob {blob[:40]}...")
    return found
