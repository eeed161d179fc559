"""The TA's whole pipeline on both gradebook backends: SQLite and a real PostgreSQL server.

The course points at its gradebook the documented way (``c.CourseDirectory.db_url``
in nbgrader_config.py, README "PostgreSQL gradebook"); then, as a TA runs them:
``python -m autograder grade`` (workers get a private sqlite copy, the coordinator
merges into the course database), a resumed run and a ``--force`` regrade (merges
into existing rows), ``export``, ``feedback``, ``report``, and what formgrader
reads: nbgrader's Gradebook API and ``nbgrader export``.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest
from sqlalchemy import create_engine, text

from tests.autograder.feedback_batch import ASSIGNMENT, DUE, source_notebook, submissions
from tests.helpers.nbgrader_course import ScratchCourse, grading_env
from tests.helpers.postgres import db_url_for

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("postgres")]

# (status, score) of each student of feedback_batch.submissions, worked out from the notebook:
# test_add 2 points, test_scale 3 (hidden), test_scale_visible 1.
EXPECTED = {
    "good": ("graded", 6.0),
    "buggy_add": ("graded", 4.0),      # add(0, 0) passes, the hidden add(2, 3) fails: -2
    "buggy_scale": ("graded", 2.0),    # x + k: hidden table and scale(1, 1) == 1 fail: -4
    "blank": ("graded", 0.0),
    "late": ("graded", 4.8),           # 6 points less nbgrader's late penalty: 2 started days x 10 %
    "snoop": ("graded", 6.0),          # its extra cell fails, no test cell does
    "looper": ("timed_out", 6.0),      # the loop is after the tests
    "mangled": ("unreadable_notebook", 0.0),
}


def _cli(root, *args, timeout=900):
    proc = subprocess.run([sys.executable, "-m", "autograder", *args], cwd=root, env=grading_env(),
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"autograder {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def _build(root, url):
    """feedback_batch's course, with the gradebook at ``url`` set in nbgrader_config.py before anything runs."""
    course = ScratchCourse(root, [ASSIGNMENT], source_nbs={ASSIGNMENT: source_notebook()})
    cfg = course.root / "nbgrader_config.py"
    cfg.write_text(cfg.read_text() + f"\nc.CourseDirectory.db_url = {url!r}\n")
    course.nbgrader("db", "assignment", "add", ASSIGNMENT, f"--duedate={DUE.isoformat()} UTC")
    course.generate(ASSIGNMENT)
    for sid, (nb, stamp) in submissions(course).items():
        dest = course.root / "submitted" / sid / ASSIGNMENT
        if isinstance(nb, bytes):
            dest.mkdir(parents=True, exist_ok=True)
            (dest / f"{ASSIGNMENT}.ipynb").write_bytes(nb)
        else:
            course.submit(ASSIGNMENT, sid, nb)
        (dest / "timestamp.txt").write_text(stamp.strftime("%Y-%m-%d %H:%M:%S.%f UTC"))
    return course


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def graded(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(f"pg_{request.param}") / "course"
    url = db_url_for(request.param, root.parent, request)
    course = _build(root, url)
    _cli(root, "grade", ASSIGNMENT, "--workers", "2", "--no-progress", "--timeout-cell", "10")
    return request.param, course.root, url


def _results(root):
    folder = root / "grades" / ASSIGNMENT / "results"
    return {p.stem: json.loads(p.read_text()) for p in folder.glob("*.json")}


def _submission_rows(url) -> dict:
    """student -> number of submission rows for the assignment, straight from the database."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text(
                "SELECT s.student_id, count(*) FROM submitted_assignment s JOIN assignment a "
                "ON s.assignment_id = a.id WHERE a.name = :a GROUP BY s.student_id"), {"a": ASSIGNMENT}).all()
    finally:
        engine.dispose()
    return dict(rows)


def test_statuses_and_scores(graded):
    kind, root, url = graded
    got = {s: (r["extra_data"]["status"], r["score"]) for s, r in _results(root).items()}
    assert got == EXPECTED, kind
    assert url.startswith("postgresql+psycopg://" if kind == "postgresql" else "sqlite:///")
    assert not (root / "gradebook.db").exists() or kind == "sqlite"  # nothing fell back to a local sqlite


def test_gradebook_cells_match_results_through_nbgrader_api(graded):
    """What formgrader shows: per-cell scores in the course gradebook equal results/<student>.json."""
    from nbgrader.api import Gradebook

    kind, root, url = graded
    results = _results(root)
    with Gradebook(url) as gb:
        assert {s.id for s in gb.students} == set(EXPECTED)
        for sid, r in results.items():
            sub = gb.find_submission(ASSIGNMENT, sid)
            cells = {g.cell.name: g.score for nb in sub.notebooks for g in nb.grades}
            want = {t["name"]: t["score"] for t in r["tests"]}
            if r["extra_data"]["status"] == "unreadable_notebook":
                want = {name: 0.0 for name in cells}
            assert cells == pytest.approx(want), (kind, sid)
            assert sub.score - sub.late_submission_penalty == pytest.approx(EXPECTED[sid][1]), (kind, sid)
        assert gb.find_submission(ASSIGNMENT, "late").late_submission_penalty == pytest.approx(1.2)
        assert gb.find_submission(ASSIGNMENT, "good").late_submission_penalty == 0
    assert _submission_rows(url) == {s: 1 for s in EXPECTED}


def test_nbgrader_export_reads_the_same_database(graded):
    kind, root, url = graded
    out = root / "nbgrader_grades.csv"
    proc = subprocess.run([sys.executable, "-m", "nbgrader", "export", f"--to={out}"], cwd=root, env=grading_env(),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(out, newline="") as fh:
        rows = {r["student_id"]: r for r in csv.DictReader(fh) if r["assignment"] == ASSIGNMENT}
    assert set(rows) == set(EXPECTED)
    for sid, (_, score) in EXPECTED.items():
        assert float(rows[sid]["score"]) == pytest.approx(score), (kind, sid)
    assert float(rows["late"]["raw_score"]) == pytest.approx(6.0)
    assert float(rows["late"]["score"]) == pytest.approx(6.0 - 1.2)


def test_export_feedback_report(graded):
    kind, root, url = graded
    _cli(root, "export", ASSIGNMENT)
    with open(root / "grades" / ASSIGNMENT / "lms.csv", newline="") as fh:
        lms = {r["student_id"]: r for r in csv.DictReader(fh)}
    assert float(lms["late"]["late_penalty"]) == pytest.approx(1.2), kind
    assert float(lms["good"]["total"]) == 6.0 and float(lms["late"]["total"]) == pytest.approx(4.8)
    _cli(root, "feedback", ASSIGNMENT, "--student", "buggy_add", "--student", "good")
    pages = {p.relative_to(root / "feedback").as_posix() for p in (root / "feedback").rglob("*.html")}
    assert pages == {f"{s}/{ASSIGNMENT}/{ASSIGNMENT}.html" for s in ("buggy_add", "good")}, kind
    assert "add looks like a - b" in (root / "feedback" / "buggy_add" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    _cli(root, "report", ASSIGNMENT)
    assert "<html" in (root / "grades" / ASSIGNMENT / "report.html").read_text().lower()


def test_resume_and_force_merge_into_existing_rows(graded):
    """A resumed run skips everyone; --force regrades into the same rows (update, never a second row)."""
    kind, root, url = graded
    before = {s: r["score"] for s, r in _results(root).items()}
    proc = _cli(root, "grade", ASSIGNMENT, "--workers", "2", "--no-progress", "--timeout-cell", "10")
    assert f"skipping {len(EXPECTED)} student(s)" in proc.stderr, proc.stderr[-2000:]
    _cli(root, "grade", ASSIGNMENT, "--workers", "2", "--no-progress", "--timeout-cell", "10", "--force",
         "--student", "good", "buggy_add")
    assert {s: r["score"] for s, r in _results(root).items()} == before
    assert _submission_rows(url) == {s: 1 for s in EXPECTED}


def test_grade_into_an_empty_database_with_the_db_url_flag(tmp_path, db_url):
    """A fresh clone: the database is empty, `--db-url` points at it; the grader builds the assignment's
    rows from source/ (in a scratch sqlite gradebook, then copied in) and merges the students."""
    from nbgrader.api import Gradebook

    from tests.autograder import toycourse as T
    from tests.helpers.nbgrader_course import solution_submission

    c = T.make_course(tmp_path / "course")
    c.submit(T.A, "good", solution_submission(c.source_nb(T.A)))
    c.submit(T.A, "buggy", T.with_answer(c, "add", "def add(a, b):\n    return a - b\n"))
    proc = _cli(c.root, "grade", T.A, "--workers", "2", "--no-progress", "--db-url", db_url)
    assert "generating them from source/" in proc.stderr
    with Gradebook(db_url) as gb:
        scores = {s.student.id: s.score for s in gb.find_assignment(T.A).submissions}
        cells = {g.cell.name: g.max_score for g in gb.find_submission(T.A, "good").notebooks[0].grades}
    assert scores == {"good": 6.0, "buggy": 4.0}
    assert cells == {"test_add": 2.0, "test_scale": 3.0, "test_scale_one": 1.0}
