"""LMS export and late penalties through nbgrader's late-submission plugin."""

from __future__ import annotations

import csv
import subprocess
import sys

import pytest

from autograder.reports import lms as export
from autograder.results import StudentResult, TestResult
from tests.autograder.feedback_batch import ASSIGNMENT, build_course, graded_batch, submissions

pytestmark = pytest.mark.xdist_group("feedback")


def _rows(path):
    with open(path, newline="") as fh:
        return {r["student_id"]: r for r in csv.DictReader(fh)}


def test_lms_csv_columns_and_numbers(tmp_path):
    results = [
        StudentResult("alice", "a", tests=[TestResult("t", 6, 8)]),
        StudentResult("bob", "a", tests=[TestResult("t", 8, 8)], late_penalty=1.6, seconds_late=90000,
                      timestamp="2030-01-11T14:00:00"),
        StudentResult("carol", "a", status="timed_out", tests=[TestResult("t", 0, 8)]),
    ]
    path = export.write_lms_csv(results, tmp_path / "lms.csv")
    with open(path, newline="") as fh:
        header = next(csv.reader(fh))
    assert header == export.LMS_COLUMNS
    rows = _rows(path)
    assert (rows["alice"]["total"], rows["alice"]["max_score"], rows["alice"]["percent"]) == ("6", "8", "75.00")
    assert (rows["bob"]["total"], rows["bob"]["raw_score"], rows["bob"]["late_penalty"]) == ("6.4", "8", "1.6")
    assert rows["bob"]["percent"] == "80.00" and rows["bob"]["seconds_late"] == "90000"
    assert rows["carol"]["status"] == "timed_out" and rows["carol"]["total"] == "0"


def test_canvas_moodle_blackboard_formats(tmp_path):
    results = [StudentResult("1234", "optimizers", tests=[TestResult("t", 31, 31)]),
               StudentResult("2222", "optimizers", tests=[TestResult("t", 20, 31)], late_penalty=2)]
    names = {"1234": "lovelace_ada", "2222": None}
    canvas = export.write_lms_csv(results, tmp_path / "c.csv", fmt="canvas", column="Optimizers (98765)",
                                  names=names)
    rows = list(csv.reader(open(canvas, newline="")))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Optimizers (98765)"]
    assert rows[1][0].strip() == "Points Possible" and rows[1][5] == "31"
    assert rows[2] == ["Lovelace, Ada", "1234", "", "", "", "31"]
    assert rows[3][1:] == ["2222", "", "", "", "18"]  # total after the late penalty
    moodle = list(csv.reader(open(export.write_lms_csv(results, tmp_path / "m.csv", fmt="moodle", names=names))))
    assert moodle[0] == ["ID number", "Full name", "optimizers"] and moodle[1] == ["1234", "Ada Lovelace", "31"]
    bb = list(csv.reader(open(export.write_lms_csv(results, tmp_path / "b.csv", fmt="blackboard", names=names))))
    assert bb[0] == ["Last Name", "First Name", "Username", "optimizers"] and bb[1] == ["Lovelace", "Ada", "1234", "31"]
    with pytest.raises(ValueError, match="choose one of"):
        export.write_lms_csv(results, tmp_path / "x.csv", fmt="d2l")


def test_lms_late_flag_without_a_due_date_is_said_loudly(tmp_path):
    import json

    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\n")
    (tmp_path / "grades" / "hw" / "results").mkdir(parents=True)
    (tmp_path / "collected").mkdir()
    (tmp_path / "collected" / "hw.json").write_text(json.dumps({"2222": {"lms_late": True, "lms_name": "doe_john"}}))
    proc = subprocess.run([sys.executable, "-m", "autograder", "export", "hw", "--root", str(tmp_path)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "marked 1 submission(s) late (2222)" in proc.stderr and "no due date" in proc.stderr
    assert "nbgrader db assignment add hw --duedate" in proc.stderr


def test_export_on_a_folder_without_grades_says_what_to_do(tmp_path):
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\n")
    proc = subprocess.run([sys.executable, "-m", "autograder", "export", "hw", "--root", str(tmp_path)],
                          capture_output=True, text=True)
    assert proc.returncode != 0 and "python -m autograder grade hw" in proc.stderr


@pytest.mark.slow
def test_late_submission_loses_ten_percent_per_started_day_through_nbgrader(tmp_path_factory):
    """The batch graded by `python -m autograder grade`: nbgrader's AssignLatePenalties calls the plugin."""
    from nbgrader.api import Gradebook

    root = graded_batch(tmp_path_factory)
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        late = gb.find_submission(ASSIGNMENT, "late")
        on_time = gb.find_submission(ASSIGNMENT, "good")
        assert late.total_seconds_late == pytest.approx(27 * 3600)
        assert late.late_submission_penalty == pytest.approx(1.2)     # 6 points x 2 started days x 10 %
        assert on_time.late_submission_penalty == 0
    out = root / "grades" / ASSIGNMENT / "lms.csv"
    proc = subprocess.run([sys.executable, "-m", "autograder", "export", ASSIGNMENT, "--root", str(root)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "1 with a late penalty" in proc.stdout
    rows = _rows(out)
    assert set(rows) == {"blank", "buggy_add", "buggy_scale", "good", "late", "looper", "mangled", "snoop"}
    assert rows["mangled"]["status"] == "unreadable_notebook" and rows["mangled"]["total"] == "0"
    assert (rows["late"]["total"], rows["late"]["raw_score"], rows["late"]["late_penalty"]) == ("4.8", "6", "1.2")
    assert rows["late"]["percent"] == "80.00" and rows["late"]["timestamp"].startswith("2030-01-11T15:00")
    assert (rows["good"]["total"], rows["good"]["late_penalty"], rows["good"]["percent"]) == ("6", "0", "100.00")
    assert rows["buggy_add"]["total"] == "4" and rows["blank"]["total"] == "0"


@pytest.mark.slow
def test_configured_penalty_applies_through_the_autograder_grade_command(tmp_path):
    """Same plugin, another rate in nbgrader_config.py, graded by `python -m autograder grade`."""
    course = build_course(tmp_path / "course", students={})
    batch = submissions(course)
    course.submit(ASSIGNMENT, "late", batch["late"][0])
    stamp = course.root / "submitted" / "late" / ASSIGNMENT / "timestamp.txt"
    stamp.write_text("2030-01-11 15:00:00.000000 UTC")      # 27 h late: two started days
    cfg = course.root / "nbgrader_config.py"
    cfg.write_text(cfg.read_text() + "\nc.PercentPerDayPenalty.percent_per_day = 25.0\n")
    from tests.helpers.nbgrader_course import grading_env

    proc = subprocess.run([sys.executable, "-m", "autograder", "grade", ASSIGNMENT, "--workers", "1",
                           "--no-progress"], cwd=course.root, env=grading_env(), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    proc = subprocess.run([sys.executable, "-m", "autograder", "export", ASSIGNMENT], cwd=course.root,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    row = _rows(course.root / "grades" / ASSIGNMENT / "lms.csv")["late"]
    assert (row["raw_score"], row["late_penalty"], row["total"], row["percent"]) == ("6", "3", "3", "50.00")
