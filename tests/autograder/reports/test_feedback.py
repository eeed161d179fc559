"""Student feedback: points, failing messages, nbgrader layout, and no hidden test anywhere."""

from __future__ import annotations

import re
import subprocess
import sys

import nbformat
import pytest

from autograder.course import CourseError
from autograder.reports import feedback
from autograder.results import StudentResult, TestResult
from tests.autograder.feedback_batch import (ASSIGNMENT, CANARY, HINT_ADD, HINT_SCALE, files_under, graded_batch,
                                             leaks)

pytestmark = pytest.mark.xdist_group("feedback")


def _text(html: str) -> str:
    """Visible text of an HTML page, roughly (tags dropped, entities kept)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# ---------------------------------------------------------------- unit: sanitizing without nbgrader

def _toy_autograded_notebook():
    hidden = f"### BEGIN HIDDEN TESTS\nsecret_{CANARY} = compute_the_oracle_value()\n### END HIDDEN TESTS"
    test_cell = nbformat.v4.new_code_cell(f"assert f(1) == 1, 'visible'\n{hidden}")
    test_cell.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True, "grade_id": "test_f",
                                      "points": 2, "checksum": f"md5-of-{CANARY}", "schema_version": 3}
    test_cell.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text=f"debug {CANARY}\n"),
        nbformat.v4.new_output("error", ename="AssertionError", evalue="f is off by one",
                               traceback=[f"Cell In[3], line 3\n----> 3 secret_{CANARY} = compute_the_oracle_value()"]),
    ]
    student = nbformat.v4.new_code_cell("f(0)")
    student.outputs = [nbformat.v4.new_output(
        "error", ename="ValueError", evalue="bad input",
        traceback=[f"File helper.py: secret_{CANARY} = compute_the_oracle_value()"])]
    snoop = nbformat.v4.new_code_cell("print(In)")
    snoop.outputs = [nbformat.v4.new_output("stream", name="stdout",
                                            text=f"['', 'secret_{CANARY} = compute_the_oracle_value()']\n")]
    nb = nbformat.v4.new_notebook(cells=[test_cell, student, snoop])
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {"x": CANARY}}}
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def test_sanitize_keeps_points_and_message_and_drops_everything_hidden():
    nb = _toy_autograded_notebook()
    result = StudentResult("s1", "toy", tests=[TestResult("test_f", 0.0, 2.0, "AssertionError: f is off by one")])
    secrets = feedback.hidden_lines([c.source for c in nb.cells if feedback.is_test_cell(c)])
    assert f"secret_{CANARY} = compute_the_oracle_value()" in secrets
    clean = feedback.sanitize_notebook(nb, result, secrets)
    dumped = nbformat.writes(clean)
    assert CANARY not in dumped, leaks(dumped)
    assert "Traceback" not in dumped and "Cell In[" not in dumped
    html = feedback.render_html(clean, "t")
    assert CANARY not in html and not leaks(html)
    text = _text(html)
    assert "test_f: 0 / 2 points" in text
    assert "AssertionError: f is off by one" in text
    assert "ValueError: bad input" in text          # the student's own error, message only
    assert clean.cells[1].source.startswith("assert f(1) == 1")   # the visible part of the test stays
    assert feedback.REDACTED in text                # the In-history print was redacted


def test_flagged_submission_shows_nothing_it_printed_after_the_first_hidden_test():
    """An encoding the redaction cannot read (here base64 of a hidden line) never reaches a flagged student's page."""
    import base64

    nb = _toy_autograded_notebook()
    encoded = base64.b64encode(f"secret_{CANARY} = compute_the_oracle_value()".encode()).decode()
    later = nbformat.v4.new_code_cell("print(stolen)")
    later.outputs = [nbformat.v4.new_output("stream", name="stdout", text=encoded + "\n")]
    nb.cells.append(later)
    secrets = feedback.hidden_lines([c.source for c in nb.cells if feedback.is_test_cell(c)])
    tests = [TestResult("test_f", 2.0, 2.0, f"AssertionError: {encoded}")]
    honest = feedback.render_html(feedback.sanitize_notebook(
        nb, StudentResult("s1", "toy", status="graded", tests=tests), secrets), "t")
    assert encoded in honest  # the redaction alone cannot see it: this is why flagged pages drop it
    flagged = feedback.render_html(feedback.sanitize_notebook(
        nb, StudentResult("s1", "toy", status="flagged", reason="policy", tests=tests), secrets), "t")
    assert encoded not in flagged and CANARY not in flagged
    assert "under review" in flagged


def test_a_message_shared_by_many_tests_is_said_once():
    reason = "unreadable_notebook: not valid notebook JSON (line 3)"
    tests = [TestResult(f"test_{i}", 0.0, 1.0, reason) for i in range(23)]
    tests += [TestResult(f"test_x{i}", 0.0, 1.0, "NameError: name 'sgd' is not defined") for i in range(3)]
    page = feedback.summary_html(StudentResult("s1", "toy", status="unreadable_notebook", reason=reason, tests=tests))
    assert page.count(reason) == 1
    assert page.count("NameError") == 1 and page.count("same message as") == 2


def test_placeholder_mode_hides_even_the_visible_part():
    nb = _toy_autograded_notebook()
    result = StudentResult("s1", "toy", tests=[TestResult("test_f", 2.0, 2.0)])
    clean = feedback.sanitize_notebook(nb, result, set(), tests="placeholder")
    assert clean.cells[1].source == "# test cell test_f (hidden)"
    assert "2 / 2 points" in clean.cells[2].source


def test_split_hidden_handles_several_and_unterminated_regions():
    src = "a = 1\n### BEGIN HIDDEN TESTS\nh1\n### END HIDDEN TESTS\nb = 2\n### BEGIN HIDDEN TESTS\nh2"
    visible, hidden = feedback.split_hidden(src)
    assert visible == "a = 1\nb = 2"
    assert hidden == ["h1", "h2"]


# ---------------------------------------------------------------- end to end through nbgrader

@pytest.fixture(scope="module")
def batch_feedback(tmp_path_factory):
    root = graded_batch(tmp_path_factory)
    proc = subprocess.run([sys.executable, "-m", "autograder", "--course-dir", str(root), "feedback", ASSIGNMENT],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return root


@pytest.mark.slow
def test_no_canary_in_any_feedback_file(batch_feedback):
    files = files_under(batch_feedback / "feedback") + files_under(batch_feedback / "grades")
    # 7 notebooks that ran, in nbgrader's layout and in grades/; the unreadable one gets a summary page
    assert len([f for f in files if f.parent.name == "feedback" and f.suffix == ".html"]) == 8
    assert len(list((batch_feedback / "feedback").glob(f"*/{ASSIGNMENT}/*.html"))) == 7
    for f in files:
        found = leaks(f.read_text(errors="replace"))
        assert not found, f"{f} leaks hidden test code: {found}"
        assert "BEGIN HIDDEN TESTS" not in f.read_text(errors="replace")


@pytest.mark.slow
def test_feedback_shows_points_and_the_failing_checks_message(batch_feedback):
    fb = batch_feedback / "grades" / ASSIGNMENT / "feedback"
    buggy_add = _text((fb / "buggy_add.html").read_text())
    assert "test_add: 0 / 2 points" in buggy_add
    assert f"AssertionError: {HINT_ADD}" in buggy_add
    assert "test_scale: 3 / 3 points" in buggy_add
    assert "Score: 4 / 6" in buggy_add
    buggy_scale = _text((fb / "buggy_scale.html").read_text())
    assert f"AssertionError: {HINT_SCALE}" in buggy_scale
    assert "AssertionError: scale(1, 1) should be 1" in buggy_scale
    blank = _text((fb / "blank.html").read_text())
    assert "Score: 0 / 6" in blank and "NotImplementedError" in blank
    good = _text((fb / "good.html").read_text())
    assert "Score: 6 / 6" in good and "AssertionError" not in good
    assert "visible check passed" in good           # output of a test cell without hidden tests is kept
    assert "Traceback" not in buggy_add + blank
    mangled = _text((fb / "mangled.html").read_text())
    assert "unreadable_notebook" in mangled and "not valid notebook JSON" in mangled
    looper = _text((fb / "looper.html").read_text())
    assert "timed_out" in looper and "Score: 6 / 6" in looper
    assert not any("cdnjs.cloudflare.com/ajax/libs/mathjax" in p.read_text() for p in fb.glob("*.html"))


@pytest.mark.slow
def test_snooping_student_sees_redaction_not_hidden_tests(batch_feedback):
    snoop = (batch_feedback / "grades" / ASSIGNMENT / "feedback" / "snoop.html").read_text()
    assert CANARY not in snoop
    assert feedback.REDACTED in _text(snoop)


@pytest.mark.slow
def test_late_submission_summary_shows_the_penalty(batch_feedback):
    late = _text((batch_feedback / "grades" / ASSIGNMENT / "feedback" / "late.html").read_text())
    # 6 points earned, 2 started days late at 10 % per day
    assert "Score: 4.8 / 6" in late and "1.2 late penalty" in late


@pytest.mark.slow
def test_nbgrader_layout_and_release_feedback(batch_feedback, tmp_path):
    root = batch_feedback
    for sid in ("good", "blank", "snoop"):
        d = root / "feedback" / sid / ASSIGNMENT
        assert (d / f"{ASSIGNMENT}.html").exists() and (d / "timestamp.txt").exists()
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    exchange.chmod(0o777)   # nbgrader refuses an exchange that others cannot write
    cfg = (root / "nbgrader_config.py").read_text()
    (root / "nbgrader_config.py").write_text(cfg + f"\nc.Exchange.root = {str(exchange)!r}\n")
    try:
        released, skipped = feedback.release_feedback(root, ASSIGNMENT, ["good", "blank"])
    finally:
        (root / "nbgrader_config.py").write_text(cfg)
    assert released == ["good"] and skipped == ["blank"]
    out = list(exchange.rglob("*.html"))
    assert len(out) == 1, out
    assert not leaks(out[0].read_text()) and "test_add: 2 / 2 points" in _text(out[0].read_text())


def test_unknown_student_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\n")
    with pytest.raises(CourseError, match="nothing graded"):
        feedback.generate_feedback(tmp_path, "nope")
    from autograder.cli import main

    assert main(["feedback", "nope", "--root", str(tmp_path)]) == 2
    assert "error: nothing graded for 'nope'" in capsys.readouterr().err
