"""TA report: histogram, pass rate per test (worst first), failure messages, non-graded students, timing."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import sys

import pytest

from autograder import report
from autograder.export import StudentResult, TestResult
from tests.autograder.feedback_batch import ASSIGNMENT, CANARY, HINT_ADD, HINT_SCALE, graded_batch

pytestmark = pytest.mark.xdist_group("feedback")


def _r(sid, status="graded", tests=(), secs=None, reason=""):
    tests = [TestResult(n, s, m, msg) for n, s, m, msg in tests]
    return StudentResult(sid, "a", status=status, reason=reason, score=sum(t.score for t in tests),
                         max_score=sum(t.max_score for t in tests), grading_seconds=secs, tests=tests)


def test_build_report_sorts_worst_test_first_and_counts_messages():
    results = [
        _r("s1", tests=[("t_easy", 1, 1, ""), ("t_hard", 0, 2, "AssertionError: off by 2x")], secs=3.0),
        _r("s2", tests=[("t_easy", 1, 1, ""), ("t_hard", 0, 2, "AssertionError: off by 2x")], secs=5.0),
        _r("s3", tests=[("t_easy", 0, 1, "NameError: x"), ("t_hard", 2, 2, "")], secs=4.0),
        _r("s4", status="timed_out", reason="cell 7 ran over 60 s",
           tests=[("t_easy", 0, 1, "timeout"), ("t_hard", 0, 2, "timeout")]),
    ]
    rep = report.build_report(results, "a")
    assert [t["name"] for t in rep["tests"]] == ["t_hard", "t_easy"]
    hard = rep["tests"][0]
    assert hard["attempts"] == 3 and hard["passed"] == 1            # the timed-out notebook is not an attempt
    assert hard["top_failures"] == [{"message": "AssertionError: off by 2x", "count": 2}]
    assert rep["not_graded"] == [{"student": "s4", "status": "timed_out", "reason": "cell 7 ran over 60 s"}]
    assert rep["score"]["mean"] == pytest.approx((1 + 1 + 2) / 3, abs=1e-4)
    assert rep["status_counts"] == {"graded": 3, "timed_out": 1}
    figs = report.figures(rep)
    for name in ("histogram", "pass_rate", "timing"):
        assert base64.b64decode(figs[name])[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def course_with_report(tmp_path_factory):
    """The graded batch, plus what a grade run records for two notebooks it could not grade."""
    src = graded_batch(tmp_path_factory)
    root = tmp_path_factory.mktemp("report_course")
    shutil.copytree(src, root, dirs_exist_ok=True)
    out = root / "grades" / ASSIGNMENT
    (out / "results").mkdir(parents=True, exist_ok=True)
    students = {sid: {"status": "graded", "seconds": 2.0 + i} for i, sid in
                enumerate(["blank", "buggy_add", "buggy_scale", "good", "late", "snoop"])}
    students["looper"] = {"status": "timed_out", "reason": "notebook ran over its 600 s budget", "seconds": 600.0}
    students["mangled"] = {"status": "unreadable_notebook", "reason": "not valid JSON (line 1)", "seconds": 0.1}
    (out / "summary.json").write_text(json.dumps({"assignment": ASSIGNMENT, "students": students}))
    for sid in ("looper", "mangled"):
        (out / "results" / f"{sid}.json").write_text(json.dumps({
            "score": 0, "tests": [{"name": n, "score": 0, "max_score": m, "output": "not graded"}
                                  for n, m in (("test_add", 2), ("test_scale", 3), ("test_scale_visible", 1))],
            "extra_data": {"status": students[sid]["status"], "reason": students[sid]["reason"]}}))
    proc = subprocess.run([sys.executable, "-m", "autograder.report", ASSIGNMENT, "--root", str(root)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return root


@pytest.mark.slow
def test_report_json_numbers(course_with_report):
    rep = json.loads((course_with_report / "grades" / ASSIGNMENT / "report.json").read_text())
    assert rep["students"] == 8 and rep["graded"] == 6
    tests = {t["name"]: t for t in rep["tests"]}
    # good, late, snoop and buggy_scale pass test_add; buggy_add and blank fail it
    assert (tests["test_add"]["passed"], tests["test_add"]["attempts"]) == (4, 6)
    assert (tests["test_scale"]["passed"], tests["test_scale"]["attempts"]) == (4, 6)
    assert (tests["test_scale_visible"]["passed"], tests["test_scale_visible"]["attempts"]) == (4, 6)
    rates = [t["pass_rate"] for t in rep["tests"]]
    assert rates == sorted(rates)
    add_msgs = {m["message"]: m["count"] for m in tests["test_add"]["top_failures"]}
    assert add_msgs[f"AssertionError: {HINT_ADD}"] == 1
    assert any("NotImplementedError" in m for m in add_msgs)
    scale_msgs = {m["message"] for m in tests["test_scale"]["top_failures"]}
    assert f"AssertionError: {HINT_SCALE}" in scale_msgs
    not_graded = {n["student"]: n for n in rep["not_graded"]}
    assert not_graded["looper"]["status"] == "timed_out" and "600 s budget" in not_graded["looper"]["reason"]
    assert not_graded["mangled"]["status"] == "unreadable_notebook"
    late = {l["student"]: l for l in rep["late"]}
    assert late["late"]["penalty"] == pytest.approx(1.2)
    secs = {p["student"]: p["grading_seconds"] for p in rep["per_student"]}
    assert secs["looper"] == 600.0 and secs["good"] == 5.0
    scores = {p["student"]: p["score"] for p in rep["per_student"]}
    assert scores == {"blank": 0, "buggy_add": 4, "buggy_scale": 2, "good": 6, "late": 4.8, "snoop": 6,
                      "looper": 0, "mangled": 0}


@pytest.mark.slow
def test_report_html_is_self_contained_with_images(course_with_report):
    page = (course_with_report / "grades" / ASSIGNMENT / "report.html").read_text()
    images = re.findall(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'", page)
    assert len(images) == 3
    for img in images:
        assert base64.b64decode(img)[:4] == b"\x89PNG"
    assert not re.search(r"""(src|href)=["']?(https?:|//|file:)""", page), "the page must not load anything"
    assert "Hardest test" in page and "timed_out" in page and "notebook ran over its 600 s budget" in page
    assert HINT_ADD in page and CANARY not in page
