"""One student's result of one assignment, and the files under ``grades/<assignment>/``.

:class:`StudentResult` is the one result type: the grading task builds it,
the policy scan voids its tests, the coordinator writes it, and every report
(feedback, report, LMS export, Gradescope) reads it. Its score is computed
here and nowhere else::

    raw_score = sum(test.score)                    partial credit: nbgrader's points per test cell
    score     = max(0, raw_score - late_penalty)   late_penalty from autograder.late via nbgrader
    max_score = sum(test.max_score)

A voided test (policy finding, :meth:`StudentResult.void`) scores 0.

This module is also the only reader and writer of ``grades/<assignment>/``:

- ``results/<student_id>.json``: Gradescope's results.json format. ``score``,
  ``execution_time``, ``output`` (one status line), ``tests`` (``name``,
  ``number``, ``score``, ``max_score``, ``status`` passed/failed, ``output``: the
  failing check's message only, ``visibility``) and ``extra_data`` (status,
  reason, repairs, late penalty, timing, submission digest).
- ``grades.csv``: student_id, assignment, score, max_score, status, then one
  column per test cell (its score).
- ``summary.json``: per-student status, score and timing, plus batch totals;
  for an ``error`` status also ``log_tail``, the end of the grader's log.
- ``logs/<student_id>.log``: the grader's log of a submission whose status is
  ``error`` (for TAs; never part of the student-facing results).

Tables are rebuilt from ``results/`` after each run, so students skipped on a
resumed run still appear. :func:`load_results` merges those files with
nbgrader's gradebook (manual grades and late penalties win) for the reports.
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import StrEnum
from pathlib import Path

#: Characters of a failing check's message kept in a result.
MAX_MESSAGE = 1500
#: Characters of the grader's log kept with an ``error`` result (for the TA, never shown to the student).
LOG_TAIL = 4000
DEFAULT_VISIBILITY = "visible"
#: Float tolerance of "full marks".
EPS = 1e-9


class Status(StrEnum):
    """How a submission's grading ended (the ``status`` column and field of every output)."""

    GRADED = "graded"                    # every cell ran (or failed on its own)
    NEEDS_REVIEW = "needs_review"        # graded, but collect could not tell which notebook is the submission
    FLAGGED = "flagged"                  # the policy scan voided tests: for TA review
    TIMED_OUT = "timed_out"              # a cell or the notebook budget ran out
    KERNEL_DIED = "kernel_died"          # the kernel crashed (memory, segfault)
    UNREADABLE = "unreadable_notebook"   # not a notebook nbformat can read, even after repair
    MISSING = "missing"                  # nothing submitted
    ERROR = "error"                      # the grader itself failed

    @property
    def ran(self) -> bool:
        """The notebook was executed (its test scores mean something)."""
        return self not in (Status.UNREADABLE, Status.MISSING, Status.ERROR)


#: What a student reads on a test that did not run, by status.
NOT_RUN_MESSAGE = {
    Status.MISSING: "not graded: no submission was found",
    Status.UNREADABLE: "not graded: your notebook could not be read: {reason}",
    Status.TIMED_OUT: "not graded: {reason}",
    Status.KERNEL_DIED: "not graded: {reason}",
    Status.ERROR: "not graded: the grader failed on this submission; your TA will look at it",
}
VOIDED_MESSAGE = ("set to 0 for review: the grader found code that tampers with grading ({rules}); "
                  "your TA will look at it")


def _clip(text: str | None, n: int = MAX_MESSAGE) -> str:
    text = (text or "").strip()
    return text if len(text) <= n else text[:n] + " [...]"


@dataclass
class TestResult:
    """One test cell: nbgrader's points and the failing check's message ("" when it passed)."""

    __test__ = False  # not a pytest class
    name: str
    score: float
    max_score: float
    message: str = ""
    notebook: str = ""

    @property
    def passed(self) -> bool:
        return self.score >= self.max_score - EPS

    def gradescope(self, number: int, visibility: str = DEFAULT_VISIBILITY) -> dict:
        return {"name": self.name, "number": str(number), "score": self.score, "max_score": self.max_score,
                "status": "passed" if self.passed else "failed", "output": "" if self.passed else self.message,
                "visibility": visibility}

    @classmethod
    def from_gradescope(cls, data: dict) -> "TestResult":
        score, mx = float(data.get("score") or 0), float(data.get("max_score") or 0)
        msg = str(data.get("output") or "").strip() if score < mx else ""
        return cls(str(data.get("name", "")), score, mx, msg)


def function_of_test(test_name: str, functions) -> str | None:
    """``test_sgd_momentum_first_step`` -> ``sgd_momentum`` (longest matching function name)."""
    best = None
    for f in functions:
        if test_name == f"test_{f}" or test_name.startswith(f"test_{f}_"):
            if best is None or len(f) > len(best):
                best = f
    return best


@dataclass
class StudentResult:
    """One student's result of one assignment (see the module docstring for the score)."""

    student: str
    assignment: str
    status: Status = Status.GRADED
    reason: str | None = None
    tests: list[TestResult] = field(default_factory=list)
    late_penalty: float = 0.0
    timestamp: str | None = None          # submission time (ISO), from nbgrader's timestamp.txt
    seconds_late: float = 0.0
    repairs: list[str] = field(default_factory=list)
    policy: list[dict] = field(default_factory=list)   # autograder.grading.policy.Finding.as_dict() + "notebook"
    integrity: dict = field(default_factory=dict)      # notebook -> reduction info
    submission_sha256: str = ""
    sandbox: str | None = None
    host: str = ""
    seconds: float | None = None          # grading time of this submission
    cell_seconds: float | None = None     # of which running cells
    graded_at: str | None = None
    # The grading run's payload for the gradebook merge (not written to results/):
    cells: list[dict] = field(default_factory=list, repr=False)   # nbgrader's per-cell auto scores
    files: dict = field(default_factory=dict, repr=False)         # autograded/ files: relpath -> bytes
    log: str = field(default="", repr=False)                      # grader log of an error

    def __post_init__(self):
        self.status = Status(self.status)

    # --- the score: computed here only -----------------------------------------------------------

    @property
    def raw_score(self) -> float:
        return sum(t.score for t in self.tests)

    @property
    def max_score(self) -> float:
        return sum(t.max_score for t in self.tests)

    @property
    def score(self) -> float:
        return max(0.0, round(self.raw_score - (self.late_penalty or 0.0), 6))

    @property
    def percent(self) -> float:
        return 100.0 * self.score / self.max_score if self.max_score else 0.0

    def mark_for_review(self, why: str) -> "StudentResult":
        """``collect`` could not tell which notebook is the submission: keep the score, ask a TA to confirm.

        Only a cleanly graded result changes status; any other status already needs a look, and gets the
        reason appended.
        """
        if not why:
            return self
        note = f"needs review: {why}"
        if self.status == Status.GRADED:
            self.status, self.reason = Status.NEEDS_REVIEW, why
        elif note not in (self.reason or ""):
            self.reason = f"{self.reason}; {note}" if self.reason else note
        return self

    def void(self, findings: list[dict], functions) -> "StudentResult":
        """Zero the tests voided by policy ``findings``; the status becomes ``flagged`` with the reasons.

        A finding's ``scope`` is the function whose tests it voids (``None``: every test).
        """
        if not findings:
            return self
        everything = any(f["scope"] is None for f in findings)
        scopes = {f["scope"] for f in findings}
        rules = ", ".join(sorted({f["rule"] for f in findings}))
        for t in self.tests:
            if everything or function_of_test(t.name, functions) in scopes:
                if t.score > 0 or not t.message:
                    t.message = VOIDED_MESSAGE.format(rules=rules)
                t.score = 0.0
        reason = "; ".join(f"{f['rule']}: {f['message']} ({f['cell']}, line {f['line']})" for f in findings[:8])
        if len(findings) > 8:
            reason += f" (+{len(findings) - 8} more)"
        if self.status not in (Status.GRADED, Status.FLAGGED, Status.NEEDS_REVIEW) and self.reason:
            reason += f"; also {self.status}: {self.reason}"
        self.status, self.reason, self.policy = Status.FLAGGED, reason, findings
        return self

    # --- Gradescope's results.json ---------------------------------------------------------------

    def gradescope(self, visibility: str = DEFAULT_VISIBILITY) -> dict:
        line = f"{self.status}: {self.score:g}/{self.max_score:g}"
        if self.reason:
            line += f" ({self.reason})"
        return {
            "score": self.score,
            "execution_time": round(float(self.seconds or 0.0), 3),
            "output": line,
            "visibility": visibility,
            "tests": [t.gradescope(i, visibility) for i, t in enumerate(self.tests, 1)],
            "extra_data": {
                "student_id": self.student, "assignment": self.assignment, "status": str(self.status),
                "reason": self.reason, "max_score": self.max_score, "repairs": self.repairs,
                "late_penalty": self.late_penalty or 0, "timestamp": self.timestamp,
                "cell_seconds": self.cell_seconds, "submission_sha256": self.submission_sha256,
                "sandbox": self.sandbox, "policy": self.policy, "integrity": self.integrity,
                "graded_at": self.graded_at or datetime.now(timezone.utc).isoformat(timespec="seconds"),
            },
        }

    @classmethod
    def from_gradescope(cls, data: dict) -> "StudentResult":
        x = data.get("extra_data") or {}
        return cls(
            student=str(x.get("student_id", "")), assignment=str(x.get("assignment", "")),
            status=Status(x.get("status") or Status.GRADED), reason=x.get("reason"),
            tests=[TestResult.from_gradescope(t) for t in data.get("tests") or []],
            late_penalty=float(x.get("late_penalty") or 0.0), timestamp=x.get("timestamp"),
            repairs=list(x.get("repairs") or []), policy=list(x.get("policy") or []),
            integrity=dict(x.get("integrity") or {}), submission_sha256=x.get("submission_sha256") or "",
            sandbox=x.get("sandbox"), seconds=data.get("execution_time"), cell_seconds=x.get("cell_seconds"),
            graded_at=x.get("graded_at"))


def tests_from_cells(masters: dict, cells: list, status: Status, reason: str | None) -> list[TestResult]:
    """Test results from nbgrader's per-cell scores; a test that did not run scores 0 with the status's message.

    ``masters``: notebook -> master cells (autograder.grading.gradebook.master_cells);
    ``cells``: dicts with notebook, name, auto_score, message.
    """
    got = {(c["notebook"], c["name"]): c for c in cells}
    not_run = NOT_RUN_MESSAGE.get(Status(status), "not graded").format(reason=reason)
    tests = []
    for nb_name, mcells in masters.items():
        for m in mcells:
            if m["kind"] != "test":
                continue
            c = got.get((nb_name, m["name"]))
            max_score = float(m["points"] or 0.0)
            if c is None:
                tests.append(TestResult(m["name"], 0.0, max_score, _clip(not_run), nb_name))
                continue
            score = float(c["auto_score"] or 0.0)
            msg = c.get("message") or ("this check did not pass" if score < max_score else "")
            tests.append(TestResult(m["name"], score, max_score, _clip(msg) if score < max_score else "", nb_name))
    return tests


# --- grades/<assignment>/ ----------------------------------------------------------------------------

def output_dir(course_root: Path, assignment: str, override=None) -> Path:
    return Path(override).resolve() if override else Path(course_root) / "grades" / assignment


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    except OSError:  # full disk: leave no half-written .tmp behind (the previous file, if any, is intact)
        tmp.unlink(missing_ok=True)
        raise


def write_result(out_dir: Path, result: StudentResult) -> Path:
    """``results/<student>.json`` (and ``logs/<student>.log`` for an error)."""
    path = Path(out_dir) / "results" / f"{result.student}.json"
    _atomic_write(path, json.dumps(result.gradescope(), indent=1))
    log_path = Path(out_dir) / "logs" / f"{result.student}.log"
    if result.status == Status.ERROR:
        _atomic_write(log_path, result.log or result.reason or "")
    elif log_path.exists():
        log_path.unlink()
    return path


def read_results(out_dir: Path) -> dict[str, StudentResult]:
    """``{student_id: StudentResult}`` of every student graded so far (``results/*.json``)."""
    found = {}
    folder = Path(out_dir) / "results"
    if folder.exists():
        for p in sorted(folder.glob("*.json")):
            try:
                r = StudentResult.from_gradescope(json.loads(p.read_text()))
            except (OSError, ValueError, TypeError, KeyError):
                continue
            r.student = r.student or p.stem
            found[p.stem] = r
    return found


def _log_tail(out_dir: Path, student: str) -> str:
    try:
        return (Path(out_dir) / "logs" / f"{student}.log").read_text(errors="replace")[-LOG_TAIL:]
    except OSError:
        return ""


def write_tables(out_dir: Path, assignment: str, test_names: list, run_info: dict,
                 names: dict | None = None) -> tuple[Path, Path]:
    """``grades.csv`` and ``summary.json`` from every ``results/*.json``; ``names``: the LMS's names by id."""
    results = read_results(out_dir)
    csv_path = Path(out_dir) / "grades.csv"
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["student_id", "assignment", "score", "max_score", "status", *test_names])
    for sid, r in sorted(results.items()):
        per = {t.name: t.score for t in r.tests}
        w.writerow([sid, assignment, f"{r.score:g}", f"{r.max_score:g}", str(r.status),
                    *(f"{per[n]:g}" if n in per else "" for n in test_names)])
    _atomic_write(csv_path, buf.getvalue())
    counts: dict = {}
    students = {}
    for sid, r in sorted(results.items()):
        counts[str(r.status)] = counts.get(str(r.status), 0) + 1
        students[sid] = {"status": str(r.status), "reason": r.reason, "score": r.score, "max_score": r.max_score,
                         "seconds": r.seconds, "cell_seconds": r.cell_seconds, "repairs": r.repairs,
                         "sandbox": r.sandbox, "flags": sorted({f["rule"] for f in r.policy}),
                         "graded_at": r.graded_at}
        if names and names.get(sid):
            students[sid]["name"] = names[sid]
        if r.status == Status.ERROR:
            students[sid]["log_tail"] = _log_tail(out_dir, sid)
    summary = {"assignment": assignment, "tests": test_names, "counts": counts, **run_info, "students": students}
    summary_path = Path(out_dir) / "summary.json"
    _atomic_write(summary_path, json.dumps(summary, indent=1))
    return csv_path, summary_path


# --- the merged view the reports read --------------------------------------------------------------

def _gradebook_results(db_url: str, assignment: str) -> dict[str, StudentResult]:
    from nbgrader.api import Gradebook, MissingEntry

    if db_url.startswith("sqlite:///") and not Path(db_url[len("sqlite:///"):]).exists():
        return {}
    out = {}
    with Gradebook(db_url) as gb:
        try:
            gb.find_assignment(assignment)
        except MissingEntry:
            return {}
        for sub in gb.assignment_submissions(assignment):
            r = StudentResult(sub.student.id, assignment)
            r.timestamp = sub.timestamp.isoformat() if sub.timestamp else None
            r.seconds_late = float(sub.total_seconds_late or 0.0)
            r.late_penalty = float(sub.late_submission_penalty or 0.0)
            for nb in sub.notebooks:
                for grade in nb.grades:
                    if grade.cell.cell_type != "code":
                        continue
                    score = float(grade.score) if grade.score is not None else 0.0
                    r.tests.append(TestResult(grade.cell.name, score, float(grade.max_score), "", nb.name))
            out[r.student] = r
    return out


def load_results(root: Path, assignment: str, db_url: str | None = None) -> list[StudentResult]:
    """Every student of ``assignment`` known to the gradebook, ``autograded/`` or ``grades/<assignment>/results/``.

    The gradebook is authoritative for scores (manual grades made after the run
    win), late penalties and timestamps, except when the grade run did not grade
    the notebook: then its results (zeros with a reason) describe the
    submission. Messages of failing tests come from the autograded notebooks
    (the same rule as the grade run), else from results/<id>.json.
    """
    from .course import Course
    from .notebook import autograded_messages

    root = Path(root)
    db_url = db_url or Course(root, require_config=False).db_url
    stored = read_results(output_dir(root, assignment))
    book = _gradebook_results(db_url, assignment)
    students = set(book) | set(stored)
    students |= {p.parent.name for p in (root / "autograded").glob(f"*/{assignment}") if p.is_dir()}
    out = []
    for sid in sorted(students):
        r = book.get(sid) or StudentResult(sid, assignment)
        run = stored.get(sid)
        if run is not None:
            if run.tests and (not r.tests or run.status != Status.GRADED):
                r.tests = [TestResult(t.name, t.score, t.max_score, t.message, t.notebook) for t in run.tests]
            r.status, r.reason = run.status, run.reason
            r.repairs = run.repairs
            r.late_penalty = r.late_penalty or run.late_penalty
            r.seconds = run.seconds
        elif not r.tests:
            r.status = Status.MISSING
        found = autograded_messages(root, assignment, sid)
        for t in run.tests if run is not None else ():
            found.setdefault(t.name, t.message)
        for t in r.tests:
            t.message = "" if t.passed else (found.get(t.name, "") or t.message)
        r.reason = r.reason or ""
        out.append(r)
    return out
