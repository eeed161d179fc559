"""The one result type: scoring, voiding, statuses and the grades/<assignment>/ files (fast, no nbgrader run)."""

from __future__ import annotations

import csv
import json

import pytest

from autograder import results as R
from autograder.results import Status, StudentResult, TestResult

MASTERS = {"nb": [
    {"name": "add", "kind": "answer", "points": None},
    {"name": "test_add", "kind": "test", "points": 2},
    {"name": "test_scale", "kind": "test", "points": 3},
]}


def _result(**kw) -> StudentResult:
    tests = kw.pop("tests", [TestResult("test_add", 2.0, 2.0), TestResult("test_scale", 1.5, 3.0, "off")])
    return StudentResult("s1", "a", tests=tests, **kw)


def test_score_is_partial_credit_minus_late_penalty_never_below_zero():
    r = _result()
    assert (r.raw_score, r.max_score, r.score) == (3.5, 5.0, 3.5)
    assert r.percent == pytest.approx(70.0)
    r.late_penalty = 1.2
    assert r.score == pytest.approx(2.3) and r.raw_score == 3.5
    r.late_penalty = 10
    assert r.score == 0.0


def test_passed_means_full_points():
    assert TestResult("t", 2.0, 2.0).passed and not TestResult("t", 1.999, 2.0).passed


def test_status_is_an_enum_with_the_documented_names():
    assert [s.value for s in Status] == ["graded", "needs_review", "flagged", "timed_out", "kernel_died",
                                         "unreadable_notebook", "missing", "error"]
    assert StudentResult("s", "a", status="timed_out").status is Status.TIMED_OUT
    with pytest.raises(ValueError):
        StudentResult("s", "a", status="done")
    assert {s for s in Status if not s.ran} == {Status.UNREADABLE, Status.MISSING, Status.ERROR}


def test_void_zeroes_the_scope_or_everything_and_keeps_the_earlier_status_in_the_reason():
    f = {"rule": "tamper_class", "message": "class A defines __eq__", "cell": "add", "line": 3, "scope": "add"}
    r = _result().void([f], {"add", "scale"})
    assert r.status is Status.FLAGGED and [t.score for t in r.tests] == [0.0, 1.5]
    assert "review" in r.tests[0].message and r.tests[1].message == "off"
    assert r.reason == "tamper_class: class A defines __eq__ (add, line 3)" and r.policy == [f]
    hook = dict(f, rule="tracing", scope=None)
    r = _result(status=Status.TIMED_OUT, reason="cell 3 did not finish").void([hook], {"add", "scale"})
    assert r.score == 0.0 and r.reason.endswith("; also timed_out: cell 3 did not finish")
    assert _result().void([], {"add"}).status is Status.GRADED


def test_tests_from_cells_fill_what_did_not_run_with_the_status_message():
    cells = [{"notebook": "nb", "name": "test_add", "auto_score": 0.0, "message": None}]
    tests = R.tests_from_cells(MASTERS, cells, Status.TIMED_OUT, "cell 3 did not finish in 5 s")
    assert [(t.name, t.score, t.max_score) for t in tests] == [("test_add", 0.0, 2.0), ("test_scale", 0.0, 3.0)]
    assert tests[0].message == "this check did not pass"
    assert tests[1].message == "not graded: cell 3 did not finish in 5 s"
    long = [{"notebook": "nb", "name": "test_add", "auto_score": 0.0, "message": "x" * 5000}]
    assert len(R.tests_from_cells(MASTERS, long, Status.GRADED, None)[0].message) < R.MAX_MESSAGE + 10


def test_results_json_round_trips_and_the_tables_agree(tmp_path):
    r = _result(late_penalty=0.5, timestamp="2030-01-10T11:00:00", seconds=1.25, repairs=["restored x"])
    path = R.write_result(tmp_path, r)
    data = json.loads(path.read_text())
    assert data["score"] == 3.0 and data["extra_data"]["max_score"] == 5.0
    assert [t["status"] for t in data["tests"]] == ["passed", "failed"] and data["tests"][0]["output"] == ""
    back = R.read_results(tmp_path)["s1"]
    assert (back.score, back.late_penalty, back.status, back.repairs, back.seconds) == (3.0, 0.5, "graded",
                                                                                      ["restored x"], 1.25)
    R.write_result(tmp_path, StudentResult("s2", "a", Status.ERROR, "boom", log="Traceback ..."))
    csv_path, summary_path = R.write_tables(tmp_path, "a", ["test_add", "test_scale"], {"workers": 1})
    rows = list(csv.reader(csv_path.open()))
    assert rows[0] == ["student_id", "assignment", "score", "max_score", "status", "test_add", "test_scale"]
    assert rows[1] == ["s1", "a", "3", "5", "graded", "2", "1.5"] and rows[2][4] == "error"
    summary = json.loads(summary_path.read_text())
    assert summary["counts"] == {"graded": 1, "error": 1} and summary["students"]["s2"]["log_tail"] == "Traceback ..."


def test_an_unreadable_results_file_is_skipped(tmp_path):
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "x.json").write_text("{not json")
    assert R.read_results(tmp_path) == {}


def test_needs_review_keeps_the_score_and_only_replaces_a_clean_status():
    r = StudentResult("s", "a", tests=[TestResult("t", 2.0, 2.0)])
    r.mark_for_review("two notebooks at the same time")
    assert r.status is Status.NEEDS_REVIEW and r.score == 2.0 and r.reason == "two notebooks at the same time"
    t = StudentResult("s", "a", status="timed_out", reason="cell 3 ran out of time")
    t.mark_for_review("no notebook looks like the assignment")
    assert t.status is Status.TIMED_OUT
    assert t.reason == "cell 3 ran out of time; needs review: no notebook looks like the assignment"
    assert StudentResult("s", "a").mark_for_review("").status is Status.GRADED
