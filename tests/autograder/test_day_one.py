"""A Canvas download graded end to end (issue 16): the right notebook, names, late flags, needs_review."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import zipfile

import nbformat
import pytest

from tests.autograder import feedback_batch as FB
from tests.helpers.nbgrader_course import grading_env

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("autograder")]


def _zip(path, entries):
    with zipfile.ZipFile(path, "w") as zf:
        for name, data, when in entries:
            zf.writestr(zipfile.ZipInfo(name, date_time=when.timetuple()[:6]), data)
    return path


def _run(root, *args):
    return subprocess.run([sys.executable, "-m", "autograder", "--course-dir", str(root), *args], env=grading_env(),
                          capture_output=True, text=True, timeout=1200)


def _canvas(course, tmp_path):
    subs = FB.submissions(course)
    good = nbformat.writes(subs["good"][0]).encode()
    buggy = nbformat.writes(subs["buggy_add"][0]).encode()
    scratch = nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print('try')")])).encode()
    late = FB.DUE + dt.timedelta(days=1, hours=3)
    on_time = FB.DUE - dt.timedelta(hours=2)
    a = FB.ASSIGNMENT
    return _zip(tmp_path / "canvas.zip", [
        (f"lovelace_ada_late_1111_1_{a}.ipynb", good, late),
        ("lovelace_ada_late_1111_2_a_scratch.ipynb", scratch, late),   # sorts first: must never be graded
        (f"kim_bo_2222_3_{a}.ipynb", good, on_time),
        (f"kim_bo_2222_4_{a}-1.ipynb", buggy, on_time),                # same time, equally the assignment
    ])


def test_canvas_zip_grades_the_right_notebook_with_names_late_penalty_and_review(tmp_path):
    course = FB.build_course(tmp_path / "course", students={})
    proc = _run(course.root, "collect", FB.ASSIGNMENT, str(_canvas(course, tmp_path)))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "need review" in proc.stdout
    proc = _run(course.root, "grade", FB.ASSIGNMENT, "--workers", "2", "--no-progress", "--timeout-cell", "10")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    summary = json.loads((course.root / "grades" / FB.ASSIGNMENT / "summary.json").read_text())
    ada, bo = summary["students"]["1111"], summary["students"]["2222"]
    assert ada["status"] == "graded" and ada["name"] == "lovelace_ada"
    assert 0 < ada["score"] < ada["max_score"]  # the assignment, not the scratch notebook (0), minus the late penalty
    assert bo["status"] == "needs_review" and "same time" in bo["reason"]
    assert "warnings" not in summary  # the due date is set: the LMS's late flag is carried by the timestamp
    assert "needs_review" in proc.stdout and "lovelace_ada" in proc.stdout
    proc = _run(course.root, "report", FB.ASSIGNMENT)
    assert proc.returncode == 0, proc.stderr
    report = json.loads((course.root / "grades" / FB.ASSIGNMENT / "report.json").read_text())
    assert [n["student"] for n in report["needs_review"]] == ["2222"]
    page = (course.root / "grades" / FB.ASSIGNMENT / "report.html").read_text()
    assert "lovelace_ada (1111)" in page and "href='feedback/1111.html'" in page


def test_late_flags_without_a_due_date_are_said_loudly(tmp_path):
    course = FB.build_course(tmp_path / "course", students={})
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course.root / 'gradebook.db'}") as gb:  # no due date this term
        gb.find_assignment(FB.ASSIGNMENT).duedate = None
        gb.db.commit()
    proc = _run(course.root, "collect", FB.ASSIGNMENT, str(_canvas(course, tmp_path)))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = _run(course.root, "grade", FB.ASSIGNMENT, "--workers", "2", "--no-progress", "--timeout-cell", "10",
                "--student", "1111")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    summary = json.loads((course.root / "grades" / FB.ASSIGNMENT / "summary.json").read_text())
    assert any("no due date" in w for w in summary["warnings"])
    assert "no due date" in proc.stdout and "no due date" in proc.stderr
    assert summary["students"]["1111"]["score"] == summary["students"]["1111"]["max_score"]
