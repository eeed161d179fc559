"""End to end: a mixed batch through the real nbgrader, resume, --force, the CLI and outputs."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import nbformat
import pytest

from autograder.grading.batch import grade
from tests.autograder import toycourse as T
from tests.helpers.nbgrader_course import solution_submission

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("autograder")]

BUGGY = "def add(a, b):\n    return a - b\n"
DIES = ("import sys\nsys.setrecursionlimit(10**9)\ndef _f():\n    return list(map(lambda _: _f(), [0]))\n"
        "_f()\n")
DEAF = ("def scale(x, k):\n    return x * k\nwhile True:\n    try:\n        while True:\n            pass\n"
        "    except KeyboardInterrupt:\n        pass\n")


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    root = tmp_path_factory.mktemp("batch") / "course"
    c = T.make_course(root)
    src = c.source_nb(T.A)
    c.submit(T.A, "good", solution_submission(src))
    c.submit(T.A, "blank", nbformat.read(str(c.release_path(T.A)), as_version=4))
    c.submit(T.A, "buggy", T.with_answer(c, "add", BUGGY))
    c.submit(T.A, "loop", T.with_answer(c, "add", "while True:\n    pass\n"))
    # crashes the interpreter by SIGSEGV (C stack overflow) without a call the policy scan flags; the
    # recursion goes through map() because Python 3.11+ runs plain Python-to-Python calls on the heap
    c.submit(T.A, "dies", T.with_answer(c, "scale", DIES))
    # swallows the timeout's interrupt: the kernel never goes idle again
    c.submit(T.A, "deaf", T.with_answer(c, "scale", DEAF))
    c.submit(T.A, "deleted", T.drop_cells(T.with_answer(c, "add", BUGGY), ["test_add"]))
    c.submit(T.A, "dup", T.duplicate_cell(solution_submission(src), "test_scale"))
    c.submit(T.A, "retyped", T.retype_cell(T.with_answer(c, "add", BUGGY), "test_add"))
    c.submit(T.A, "stripped", T.strip_metadata(T.with_answer(c, "add", BUGGY)))
    T.write_raw(c, "v3", T.as_v3_bytes(solution_submission(src)))
    T.write_raw(c, "badjson", b'{"cells": [')
    summary = grade(root, T.A, workers=2, cell_timeout=4, notebook_budget=120, progress=False)
    return c, summary


def _result(c, student):
    return json.loads((c.root / "grades" / T.A / "results" / f"{student}.json").read_text())


def test_statuses_and_scores(batch):
    c, summary = batch
    got = {s: (v["status"], v["score"]) for s, v in summary["students"].items()}
    assert got == {
        "good": ("graded", 6.0), "blank": ("graded", 0.0), "buggy": ("graded", 4.0),
        "loop": ("timed_out", 4.0), "dies": ("kernel_died", 2.0), "deaf": ("timed_out", 2.0),
        "deleted": ("graded", 4.0),
        "dup": ("graded", 6.0), "retyped": ("graded", 4.0), "stripped": ("graded", 4.0),
        "v3": ("graded", 6.0), "badjson": ("unreadable_notebook", 0.0),
    }


def test_repairs_are_recorded(batch):
    c, summary = batch
    rep = {s: " ".join(v["repairs"]) for s, v in summary["students"].items()}
    assert "restored missing cell(s) from the gradebook: test_add" in rep["deleted"]
    assert "removed duplicated cell(s): test_scale" in rep["dup"]
    assert "restored the cell type of test_add" in rep["retyped"]
    assert "restored nbgrader metadata" in rep["stripped"]
    assert "upgraded nbformat 3 to 4" in rep["v3"]
    assert rep["good"] == ""
    assert _result(c, "deleted")["extra_data"]["repairs"] == summary["students"]["deleted"]["repairs"]


def test_messages_are_the_failing_check_only(batch):
    c, _ = batch
    buggy = {t["name"]: t for t in _result(c, "buggy")["tests"]}
    assert buggy["test_add"]["status"] == "failed"
    assert buggy["test_add"]["output"] == f"AssertionError: {T.HINT}"
    assert buggy["test_scale"]["status"] == "passed" and buggy["test_scale"]["output"] == ""
    loop = {t["name"]: t for t in _result(c, "loop")["tests"]}
    assert loop["test_scale"]["status"] == "passed"  # a timeout fails only what did not finish
    assert loop["test_add"]["status"] == "failed"
    dies = {t["name"]: t for t in _result(c, "dies")["tests"]}
    assert dies["test_add"]["status"] == "passed"
    assert dies["test_scale"]["output"].startswith("KernelDied:")
    deaf = {t["name"]: t for t in _result(c, "deaf")["tests"]}
    assert deaf["test_add"]["status"] == "passed"
    assert deaf["test_scale"]["output"] == "KernelDied: not run: the kernel stopped responding while running cell 4"
    assert "not be read" in _result(c, "badjson")["tests"][0]["output"]
    for student in ("buggy", "loop", "dies", "deaf", "blank", "badjson", "retyped"):
        text = (c.root / "grades" / T.A / "results" / f"{student}.json").read_text()
        assert T.SECRET not in text and "Traceback" not in text and "File \"" not in text


def test_timeout_message_names_the_limit(batch):
    c, summary = batch
    assert summary["students"]["loop"]["reason"] == "add did not finish in 4 s"
    assert summary["students"]["deaf"]["reason"] == (
        "scale did not finish in 4 s and the kernel ignored the interrupt (stopped); "
        "2 cell(s) not run: the kernel stopped responding")
    names = {t["name"]: t["output"] for t in _result(c, "loop")["tests"]}
    assert "NameError" in names["test_add"]


def test_gradescope_format(batch):
    c, _ = batch
    r = _result(c, "buggy")
    assert set(r) >= {"score", "execution_time", "tests", "extra_data"}
    for t in r["tests"]:
        assert set(t) >= {"name", "score", "max_score", "status", "output", "visibility"}
        assert t["status"] in ("passed", "failed")
    assert r["score"] == sum(t["score"] for t in r["tests"])
    assert r["extra_data"]["status"] == "graded"


def test_grades_csv_and_gradebook(batch):
    c, summary = batch
    rows = list(csv.DictReader(open(c.root / "grades" / T.A / "grades.csv")))
    assert list(rows[0])[:5] == ["student_id", "assignment", "score", "max_score", "status"]
    assert list(rows[0])[5:] == ["test_add", "test_scale", "test_scale_one"]
    by = {r["student_id"]: r for r in rows}
    assert by["buggy"]["test_add"] == "0" and by["buggy"]["test_scale"] == "3"
    assert by["badjson"]["status"] == "unreadable_notebook"
    # the coordinator merged into the course gradebook; autograded/ is filled for formgrader
    for student in ("good", "buggy", "loop", "dies"):
        r = c.result(T.A, student)
        assert r.total == summary["students"][student]["score"], student
    assert (c.root / "autograded" / "buggy" / T.A / f"{T.A}.ipynb").exists()
    assert c.result(T.A, "badjson").total == 0.0


def test_nbgrader_export_still_works(batch):
    c, _ = batch
    c.nbgrader("export", "--to", "grades_export.csv")
    rows = list(csv.DictReader(open(c.root / "grades_export.csv")))
    scores = {r["student_id"]: float(r["raw_score"]) for r in rows}
    assert scores["good"] == 6.0 and scores["buggy"] == 4.0


def test_resume_skips_then_force_regrades(batch):
    c, _ = batch
    again = grade(c.root, T.A, workers=2, cell_timeout=4, progress=False, students=["good", "buggy"])
    assert sorted(again["skipped"]) == ["buggy", "good"] and again["graded_now"] == []
    # a changed submission is regraded without --force
    c.submit(T.A, "buggy", solution_submission(c.source_nb(T.A)))
    changed = grade(c.root, T.A, workers=2, cell_timeout=4, progress=False, students=["good", "buggy"])
    assert changed["graded_now"] == ["buggy"] and changed["students"]["buggy"]["score"] == 6.0
    forced = grade(c.root, T.A, workers=2, cell_timeout=4, progress=False, students=["good"], force=True)
    assert forced["graded_now"] == ["good"]
    # the tables still list every student, not only the ones graded in this run
    assert len(forced["students"]) == 12


def test_missing_student_is_reported(batch):
    c, _ = batch
    s = grade(c.root, T.A, workers=1, progress=False, students=["nobody"])
    assert s["students"]["nobody"]["status"] == "missing"


def test_cli_grade(batch):
    c, _ = batch
    proc = subprocess.run([sys.executable, "-m", "autograder", "--course-dir", str(c.root), "grade", T.A,
                           "--workers", "2", "--student", "good", "--force", "--output", str(c.root / "out2"),
                           "--timeout-cell", "10", "--no-progress"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "good" in proc.stdout and "graded" in proc.stdout
    assert json.loads((c.root / "out2" / "results" / "good.json").read_text())["score"] == 6.0


def test_error_status_keeps_the_grader_log_for_tas(batch, monkeypatch, tmp_path):
    """A grader failure is an ``error`` with nbgrader's log tail in summary.json, not in the student's file."""
    c, _ = batch
    import autograder.grading.batch as G

    monkeypatch.setattr(G.gbmod, "export_assignment", lambda *a, **k: b"this is not a sqlite gradebook")
    out = tmp_path / "out"
    s = grade(c.root, T.A, workers=1, cell_timeout=4, progress=False, students=["good"], force=True, output=out)
    row = s["students"]["good"]
    assert row["status"] == "error" and row["reason"]
    assert "Traceback" in row["log_tail"] or "[ERROR]" in row["log_tail"], row["log_tail"]
    assert (out / "logs" / "good.log").read_text()[-200:] == row["log_tail"][-200:]
    student_file = (out / "results" / "good.json").read_text()
    assert "log_tail" not in student_file and "Traceback" not in student_file
    # a later successful run drops the stale log
    monkeypatch.undo()
    s = grade(c.root, T.A, workers=1, cell_timeout=4, progress=False, students=["good"], force=True, output=out)
    assert s["students"]["good"]["status"] == "graded" and "log_tail" not in s["students"]["good"]
    assert not (out / "logs" / "good.log").exists()
