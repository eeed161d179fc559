"""TA report: histogram, pass rate per test (worst first), failure messages, non-graded students, timing."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys

import pytest

from autograder.reports import report
from autograder.results import StudentResult, TestResult
from tests.autograder.feedback_batch import ASSIGNMENT, CANARY, CELL_TIMEOUT, HINT_ADD, HINT_SCALE, graded_batch

pytestmark = pytest.mark.xdist_group("feedback")


def _r(sid, status="graded", tests=(), secs=None, reason=""):
    tests = [TestResult(n, s, m, msg) for n, s, m, msg in tests]
    return StudentResult(sid, "a", status=status, reason=reason, seconds=secs, tests=tests)


def test_build_report_sorts_worst_test_first_and_counts_messages():
    results = [
        _r("s1", tests=[("t_easy", 1, 1, ""), ("t_hard", 0, 2, "AssertionError: off by 2x")], secs=3.0),
        _r("s2", tests=[("t_easy", 1, 1, ""), ("t_hard", 0, 2, "AssertionError: off by 2x")], secs=5.0),
        _r("s3", tests=[("t_easy", 0, 1, "NameError: x"), ("t_hard", 2, 2, "")], secs=4.0),
        _r("s4", status="unreadable_notebook", reason="not valid JSON",
           tests=[("t_easy", 0, 1, "not graded"), ("t_hard", 0, 2, "not graded")]),
    ]
    rep = report.build_report(results, "a")
    assert [t["name"] for t in rep["tests"]] == ["t_hard", "t_easy"]
    hard = rep["tests"][0]
    assert hard["attempts"] == 3 and hard["passed"] == 1            # the unreadable notebook is not an attempt
    assert hard["top_failures"] == [{"message": "AssertionError: off by 2x", "count": 2}]
    assert rep["not_graded"] == [{"student": "s4", "status": "unreadable_notebook", "reason": "not valid JSON"}]
    assert rep["score"]["mean"] == pytest.approx((1 + 1 + 2) / 3, abs=1e-4)
    assert rep["status_counts"] == {"graded": 3, "unreadable_notebook": 1}
    figs = report.figures(rep)
    for name in ("histogram", "pass_rate", "timing"):
        assert base64.b64decode(figs[name])[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def course_with_report(tmp_path_factory):
    root = graded_batch(tmp_path_factory)
    proc = subprocess.run([sys.executable, "-m", "autograder", "report", ASSIGNMENT], cwd=root,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return root


@pytest.mark.slow
def test_report_json_numbers(course_with_report):
    rep = json.loads((course_with_report / "grades" / ASSIGNMENT / "report.json").read_text())
    assert rep["students"] == 8 and rep["graded"] == 6 and rep["ran"] == 7
    assert rep["status_counts"] == {"graded": 6, "timed_out": 1, "unreadable_notebook": 1}
    tests = {t["name"]: t for t in rep["tests"]}
    # test_add passes for good, late, snoop, looper (its loop came after the tests) and buggy_scale
    assert (tests["test_add"]["passed"], tests["test_add"]["attempts"]) == (5, 7)
    assert (tests["test_scale"]["passed"], tests["test_scale"]["attempts"]) == (5, 7)
    assert (tests["test_scale_visible"]["passed"], tests["test_scale_visible"]["attempts"]) == (5, 7)
    rates = [t["pass_rate"] for t in rep["tests"]]
    assert rates == sorted(rates)
    add_msgs = {m["message"]: m["count"] for m in tests["test_add"]["top_failures"]}
    assert add_msgs[f"AssertionError: {HINT_ADD}"] == 1
    # the blank notebook's stub is "not attempted", apart from the failures of students who tried
    assert not any("NotImplementedError" in m for m in add_msgs)
    assert tests["test_add"]["not_attempted"] == 1 and tests["test_add"]["attempted_pass_rate"] == round(5 / 6, 4)
    scale_msgs = {m["message"] for m in tests["test_scale"]["top_failures"]}
    assert f"AssertionError: {HINT_SCALE}" in scale_msgs
    not_graded = {n["student"]: n for n in rep["not_graded"]}
    assert set(not_graded) == {"looper", "mangled"}
    assert not_graded["looper"]["status"] == "timed_out" and "did not finish" in not_graded["looper"]["reason"]
    assert not_graded["mangled"]["status"] == "unreadable_notebook" and "JSON" in not_graded["mangled"]["reason"]
    late = {l["student"]: l for l in rep["late"]}
    assert late["late"]["penalty"] == pytest.approx(1.2)
    secs = {p["student"]: p["grading_seconds"] for p in rep["per_student"]}
    assert all(v is not None for v in secs.values()), secs
    assert secs["looper"] >= CELL_TIMEOUT > secs["mangled"]
    scores = {p["student"]: p["score"] for p in rep["per_student"]}
    assert scores == {"blank": 0, "buggy_add": 4, "buggy_scale": 2, "good": 6, "late": 4.8, "snoop": 6,
                      "looper": 6, "mangled": 0}


@pytest.mark.slow
def test_report_html_is_self_contained_with_images(course_with_report):
    page = (course_with_report / "grades" / ASSIGNMENT / "report.html").read_text()
    images = re.findall(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'", page)
    assert len(images) == 3
    for img in images:
        assert base64.b64decode(img)[:4] == b"\x89PNG"
    assert not re.search(r"""(src|href)=["']?(https?:|//|file:)""", page), "the page must not load anything"
    assert "Hardest test" in page and "timed_out" in page and "did not finish" in page
    assert HINT_ADD in page and CANARY not in page
