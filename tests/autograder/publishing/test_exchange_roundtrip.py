"""The course run end to end through nbgrader's exchange, the way a JupyterHub course runs it.

instructor ``python -m autograder publish --exchange`` (gates, then ``release_assignment``)
-> two students, each with their own HOME and folder, ``fetch_assignment``, complete the
notebook with the instructor's solutions and ``submit`` (bob after the due date)
-> TA ``nbgrader collect`` -> ``python -m autograder grade`` -> ``python -m autograder feedback
--release`` (``release_feedback``) -> each student ``fetch_feedback`` gets only their own
feedback, with no hidden test in it -> ``nbgrader export`` and ``python -m autograder export``,
where bob's total carries the late penalty of ``autograder.late.PercentPerDayPenalty``.

A reduced ``regularization`` notebook (setup + graded cells) keeps it fast.
"""

from __future__ import annotations

import csv
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import nbformat
import pytest

from autograder.reports.feedback import split_hidden
from tests.helpers.nbgrader_course import REPO, answer_cells, grading_env, read_source, strip_solution_markers

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("roundtrip")]

A = "regularization"
COURSE_ID = "regopt"  # nbgrader_config.py's CourseDirectory.course_id
PERCENT_PER_DAY = 10.0  # PercentPerDayPenalty's default, which nbgrader_config.py keeps


def run(args, cwd: Path, env=None, timeout: float = 900) -> subprocess.CompletedProcess:
    proc = subprocess.run(args, cwd=cwd, env=env or grading_env(), capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, (f"`{' '.join(map(str, args))}` failed ({proc.returncode}) in {cwd}\n"
                                  f"--- stdout ---\n{proc.stdout[-4000:]}\n--- stderr ---\n{proc.stderr[-4000:]}")
    return proc


def nbgrader(*args, cwd: Path, env=None):
    return run([sys.executable, "-m", "nbgrader", *args], cwd=cwd, env=env)


def autograder(*args, cwd: Path):
    return run([sys.executable, "-m", "autograder", *args], cwd=cwd)


class Student:
    """A student account: own HOME (nbgrader's exchange cache lives there) and own working folder."""

    def __init__(self, base: Path, sid: str, exchange: Path):
        self.id = sid
        self.home = base / "home" / sid
        self.work = self.home / "work"
        self.work.mkdir(parents=True)
        self.exchange = exchange
        self.env = grading_env()
        self.env.update(HOME=str(self.home), USER=sid, LOGNAME=sid)
        for var in ("JUPYTER_DATA_DIR", "JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR"):
            self.env.pop(var, None)

    def nbgrader(self, *args):
        return nbgrader(*args, f"--course={COURSE_ID}", f"--Exchange.root={self.exchange}",
                        f"--CourseDirectory.student_id={self.id}", cwd=self.work, env=self.env)

    @property
    def notebook(self) -> Path:
        return self.work / A / f"{A}.ipynb"

    def complete_with(self, solutions: dict) -> None:
        nb = nbformat.read(str(self.notebook), as_version=4)
        cells = answer_cells(nb)
        assert set(cells) == set(solutions), f"fetched notebook answers {sorted(cells)}, source {sorted(solutions)}"
        for gid, cell in cells.items():
            cell.source = strip_solution_markers(solutions[gid].source)
        nbformat.write(nb, str(self.notebook))


@pytest.fixture
def course(tmp_path):
    root = tmp_path / "course"
    (root / "source" / A).mkdir(parents=True)
    nbformat.write(read_source(A, reduced=True), str(root / "source" / A / f"{A}.ipynb"))
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    exchange.chmod(0o777)  # students write their submissions into inbound/
    config = (REPO / "nbgrader_config.py").read_text()
    assert f'course_id = "{COURSE_ID}"' in config
    assert 'plugin_class = "autograder.late.PercentPerDayPenalty"' in config
    # The course's own settings, plus what a JupyterHub deployment sets: where the exchange is.
    # Grace 0: bob is late by seconds only (the due date falls between the two submissions).
    (root / "nbgrader_config.py").write_text(
        config + f"\nc.Exchange.root = {str(exchange)!r}\nc.PercentPerDayPenalty.grace_seconds = 0\n"
                 "c.CollectApp.check_owner = False  # the simulated students share one uid\n")
    return root, exchange, tmp_path


def test_exchange_round_trip(course):
    root, exchange, base = course
    t_start = time.perf_counter()
    timings = {}

    # --- instructor: gates, then release into the exchange
    t0 = time.perf_counter()
    proc = autograder("--course-dir", str(root), "publish", A, "--exchange", cwd=root)
    timings["publish"] = time.perf_counter() - t0
    assert "grades" in proc.stdout and "FAIL" not in proc.stdout, proc.stdout
    released = exchange / COURSE_ID / "outbound" / A / f"{A}.ipynb"
    assert released.is_file(), proc.stdout
    assert "BEGIN HIDDEN TESTS" not in released.read_text()

    # --- students fetch and complete; alice submits, the due date passes, bob submits
    solutions = answer_cells(nbformat.read(str(root / "source" / A / f"{A}.ipynb"), as_version=4))
    alice, bob = Student(base, "alice", exchange), Student(base, "bob", exchange)
    t0 = time.perf_counter()
    for s in (alice, bob):
        s.nbgrader("fetch_assignment", A)
        assert s.notebook.is_file(), f"{s.id} fetched nothing"
        s.complete_with(solutions)
    alice.nbgrader("submit", A)
    due = datetime.now(timezone.utc) + timedelta(seconds=1)
    nbgrader("db", "assignment", "add", A, f"--duedate={due.strftime('%Y-%m-%d %H:%M:%S.%f')} UTC", cwd=root)
    time.sleep(max(0.0, (due - datetime.now(timezone.utc)).total_seconds()) + 1.0)
    bob.nbgrader("submit", A)
    timings["students"] = time.perf_counter() - t0

    # --- TA: collect, grade, feedback through the exchange
    t0 = time.perf_counter()
    nbgrader("collect", A, cwd=root)
    for s in (alice, bob):
        sub = root / "submitted" / s.id / A
        assert (sub / f"{A}.ipynb").is_file() and (sub / "timestamp.txt").is_file(), f"{s.id} not collected"
    autograder("--course-dir", str(root), "grade", A, "--workers", "2", "--no-progress", cwd=root)
    proc = autograder("feedback", A, "--release", "--root", str(root), cwd=root)
    assert "released through nbgrader's exchange: 2 students" in proc.stdout, proc.stdout
    timings["ta"] = time.perf_counter() - t0

    # --- each student fetches their feedback: their own, with points, without hidden tests
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        hidden_sources = [c.source for c in gb.find_notebook(A, A).source_cells]
    hidden = {ln.strip() for src in hidden_sources for ln in split_hidden(src)[1] if len(ln.strip()) >= 12}
    assert hidden, "the gradebook holds no hidden tests: the leak check below would prove nothing"
    for s in (alice, bob):
        s.nbgrader("fetch_feedback", A)
        files = list((s.work / A / "feedback").rglob("*.html"))
        assert len(files) == 1, f"{s.id} fetched {files}"
        page = files[0].read_text()
        assert f"<b>Student:</b> {s.id}" in page, f"{s.id} got someone else's feedback"
        leaked = sorted(h for h in hidden if h in page)
        assert not leaked, f"{s.id}'s feedback shows hidden test code: {leaked[:3]}"
        assert "BEGIN HIDDEN TESTS" not in page
    late_page = next((bob.work / A / "feedback").rglob("*.html")).read_text()
    assert "late penalty" in late_page

    # --- grades: nbgrader's CSV and the LMS CSV agree, bob loses the configured percentage
    nbgrader("export", f"--to={base / 'nbgrader_grades.csv'}", cwd=root)
    with open(base / "nbgrader_grades.csv") as fh:
        nb_rows = {r["student_id"]: r for r in csv.DictReader(fh) if r["assignment"] == A}
    autograder("export", A, "--root", str(root), cwd=root)
    with open(root / "grades" / A / "lms.csv") as fh:
        lms = {r["student_id"]: r for r in csv.DictReader(fh)}
    assert set(nb_rows) == set(lms) == {"alice", "bob"}, (nb_rows, lms)
    max_score = float(lms["alice"]["max_score"])
    assert max_score > 0
    # alice: on time, full marks
    assert float(lms["alice"]["total"]) == max_score and float(lms["alice"]["late_penalty"]) == 0
    assert float(nb_rows["alice"]["raw_score"]) == max_score and float(nb_rows["alice"]["late_submission_penalty"]) == 0
    # bob: full marks earned, one started day late
    expected_penalty = round(max_score * PERCENT_PER_DAY / 100, 4)
    assert float(lms["bob"]["raw_score"]) == max_score
    assert float(lms["bob"]["late_penalty"]) == pytest.approx(expected_penalty)
    assert float(lms["bob"]["total"]) == pytest.approx(max_score - expected_penalty)
    assert 0 < float(lms["bob"]["seconds_late"]) < 3600
    assert float(nb_rows["bob"]["late_submission_penalty"]) == pytest.approx(expected_penalty)
    assert float(nb_rows["bob"]["score"]) == pytest.approx(max_score - expected_penalty)

    timings["total"] = time.perf_counter() - t_start
    print("[roundtrip] " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
