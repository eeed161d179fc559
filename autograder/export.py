"""Per-student results of a graded assignment, and the LMS export.

Everything the TA-facing outputs (feedback, report, Gradescope, LMS CSV) show
comes from one loader, :func:`load_results`, which merges

- nbgrader's gradebook (authoritative scores: manual grades win, late penalties
  from ``autograder.late.PercentPerDayPenalty``, submission timestamps),
- the autograded notebooks (the failing check's message of each test cell:
  exception type and message only),
- the grade run's own outputs under ``grades/<assignment>/`` when present
  (``summary.json``: status and timing per student; ``results/<id>.json``).

    python -m autograder export ASSIGNMENT [--out grades/A/lms.csv]
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import re
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@dataclass
class TestResult:
    __test__ = False  # not a pytest class
    name: str
    score: float
    max_score: float
    message: str = ""          # "<ExceptionType>: <message>" of the failing check, "" if it passed
    notebook: str = ""

    @property
    def passed(self) -> bool:
        return self.max_score > 0 and self.score >= self.max_score - 1e-9


@dataclass
class StudentResult:
    student: str
    assignment: str
    status: str = "graded"      # graded, timed_out, kernel_died, unreadable_notebook, missing, error, ...
    reason: str = ""
    score: float = 0.0          # before the late penalty
    max_score: float = 0.0
    late_penalty: float = 0.0
    timestamp: str | None = None
    seconds_late: float = 0.0
    grading_seconds: float | None = None
    tests: list[TestResult] = field(default_factory=list)

    @property
    def total(self) -> float:
        return max(0.0, self.score - self.late_penalty)

    @property
    def percent(self) -> float:
        return 100.0 * self.total / self.max_score if self.max_score else 0.0

    def to_dict(self) -> dict:
        d = asdict(self)
        d["total"] = self.total
        d["percent"] = round(self.percent, 2)
        return d


# --------------------------------------------------------------------------- config

def load_nbgrader_config(root: Path):
    """The course's traitlets config (``<root>/nbgrader_config.py``), root pinned to ``root``."""
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    cfg = Config()
    path = Path(root) / "nbgrader_config.py"
    if path.exists():
        cfg.merge(PyFileConfigLoader(path.name, path=str(path.parent)).load_config())
    cfg.CourseDirectory.root = str(Path(root).resolve())
    return cfg


def coursedir(root: Path):
    from nbgrader.coursedir import CourseDirectory

    return CourseDirectory(config=load_nbgrader_config(root))


def db_url(root: Path) -> str:
    return coursedir(root).db_url


def check_course(root: Path, assignment: str) -> None:
    """Fail early with a clear message when there is nothing graded to read."""
    root = Path(root)
    if not (root / "nbgrader_config.py").exists():
        raise SystemExit(f"error: {root.resolve()} is not a course folder (no nbgrader_config.py); "
                         "run from the course root or pass --root")
    has_autograded = any((root / "autograded").glob(f"*/{assignment}"))
    has_grades = (root / "grades" / assignment).exists()
    if not (has_autograded or has_grades):
        raise SystemExit(f"error: nothing graded for {assignment!r} in {root.resolve()}: no autograded/*/{assignment}/ "
                         f"and no grades/{assignment}/; run `python -m autograder grade {assignment}` first")


# --------------------------------------------------------------------------- messages

def error_message(output) -> str:
    """``"<ename>: <evalue>"`` of an error output: what students may see of a failing check."""
    ename = _ANSI.sub("", str(output.get("ename", "") or "Error"))
    evalue = _ANSI.sub("", str(output.get("evalue", "") or "")).strip()
    return f"{ename}: {evalue}" if evalue else ename


def is_test_cell(cell) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {}) or {}
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def notebook_messages(nb) -> dict:
    """grade_id -> failing message for every test cell of an autograded notebook ("" when it passed)."""
    out = {}
    for cell in nb.cells:
        if not is_test_cell(cell):
            continue
        gid = cell.metadata.nbgrader.get("grade_id", "")
        msg = ""
        for o in cell.get("outputs", []):
            if o.get("output_type") == "error":
                msg = error_message(o)
                break
        out[gid] = msg
    return out


def autograded_notebooks(root: Path, assignment: str, student: str) -> list[Path]:
    return sorted((Path(root) / "autograded" / student / assignment).glob("*.ipynb"))


# --------------------------------------------------------------------------- loading

def _read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _summary_entries(summary) -> dict:
    """student -> entry from the grade run's summary.json, whatever its top-level shape."""
    if not summary:
        return {}
    items = summary.get("students", summary) if isinstance(summary, dict) else summary
    if isinstance(items, dict):
        return {str(k): (v if isinstance(v, dict) else {"status": v}) for k, v in items.items()
                if isinstance(v, (dict, str))}
    out = {}
    for e in items or []:
        if isinstance(e, dict):
            sid = e.get("student") or e.get("student_id") or e.get("id")
            if sid:
                out[str(sid)] = e
    return out


def _seconds(entry: dict):
    for key in ("grading_seconds", "seconds", "elapsed", "duration", "wall_seconds", "execution_time", "time"):
        v = entry.get(key)
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
            return float(v)
    return None


def _gradebook_results(root: Path, assignment: str) -> dict:
    from nbgrader.api import Gradebook, MissingEntry

    url = db_url(root)
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).exists():
        return {}
    out = {}
    with Gradebook(url) as gb:
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
                    cell = grade.cell
                    if cell.cell_type != "code":
                        continue
                    score = float(grade.score) if grade.score is not None else 0.0
                    r.tests.append(TestResult(cell.name, score, float(grade.max_score), "", nb.name))
            r.score = sum(t.score for t in r.tests)
            r.max_score = sum(t.max_score for t in r.tests)
            out[r.student] = r
    return out


def _results_json_tests(data: dict) -> list[TestResult]:
    tests = []
    for t in data.get("tests", []) or []:
        name = str(t.get("name", ""))
        score = float(t.get("score", 0) or 0)
        mx = float(t.get("max_score", 0) or 0)
        msg = str(t.get("output", "") or "") if score < mx else ""
        tests.append(TestResult(name, score, mx, msg.strip()))
    return tests


def load_results(root: Path, assignment: str) -> list[StudentResult]:
    """Every student of ``assignment`` known to the gradebook, the autograded folder or the grade run."""
    root = Path(root)
    grades_dir = root / "grades" / assignment
    summary = _summary_entries(_read_json(grades_dir / "summary.json"))
    results = _gradebook_results(root, assignment)
    students = set(results) | set(summary)
    students |= {p.parent.name for p in (root / "autograded").glob(f"*/{assignment}") if p.is_dir()}
    students |= {p.stem for p in (grades_dir / "results").glob("*.json")}
    out = []
    for sid in sorted(students):
        r = results.get(sid) or StudentResult(sid, assignment)
        entry = summary.get(sid, {})
        rjson = _read_json(grades_dir / "results" / f"{sid}.json") or {}
        rstatus = (rjson.get("extra_data") or {}).get("status") or entry.get("status")
        # The gradebook is authoritative (manual grades made after the run win), except when the grade
        # run did not grade the notebook: then its results (zeros with a reason) describe the submission.
        if rjson.get("tests") and (not r.tests or (rstatus and rstatus != "graded")):
            r.tests = _results_json_tests(rjson)
            r.score = sum(t.score for t in r.tests)
            r.max_score = sum(t.max_score for t in r.tests)
        # messages: from the autograded notebook (same rule as the grade run), else results/<id>.json
        msgs = {}
        for path in autograded_notebooks(root, assignment, sid):
            try:
                msgs.update(notebook_messages(nbformat.read(str(path), as_version=4)))
            except Exception:  # an unreadable autograded notebook keeps the gradebook scores
                pass
        for t in _results_json_tests(rjson):
            msgs.setdefault(t.name, t.message)
        for t in r.tests:
            if not t.passed:
                t.message = msgs.get(t.name, "") or t.message
            else:
                t.message = ""
        status = entry.get("status") or rstatus
        if status:
            r.status = str(status)
        elif not r.tests:
            r.status = "missing"
        r.reason = str(entry.get("reason") or entry.get("error") or entry.get("message")
                       or (rjson.get("extra_data") or {}).get("reason") or "")
        if not r.late_penalty and (rjson.get("extra_data") or {}).get("late_penalty"):
            r.late_penalty = float(rjson["extra_data"]["late_penalty"])
        r.grading_seconds = _seconds(entry)
        if r.grading_seconds is None and isinstance(rjson.get("execution_time"), (int, float)):
            r.grading_seconds = float(rjson["execution_time"])
        if not r.max_score and entry.get("max_score"):
            r.max_score = float(entry["max_score"])
        out.append(r)
    return out


# --------------------------------------------------------------------------- LMS export


def write_lms_csv(results: list[StudentResult], path: Path, fmt: str = "plain", column: str | None = None,
                  names: dict | None = None) -> Path:
    """One row per student in an LMS's import format (see autograder.lms_formats)."""
    from autograder.lms_formats import GradeRow, write_grades_csv

    names = names or {}
    rows = [GradeRow(r.student, names.get(r.student), r.assignment, r.total, r.max_score, r.score, r.late_penalty,
                     r.seconds_late, r.timestamp, r.status) for r in results]
    return write_grades_csv(rows, path, fmt=fmt, column=column)


def _due_date(root: Path, assignment: str):
    from nbgrader.api import Gradebook, MissingEntry

    try:
        with Gradebook(db_url(root)) as gb:
            return gb.find_assignment(assignment).duedate
    except (MissingEntry, Exception):  # noqa: BLE001 - no gradebook: no due date
        return None


def export_main(args) -> int:
    from autograder.collect import load_ledger

    root = Path(args.root)
    check_course(root, args.assignment)
    results = load_results(root, args.assignment)
    ledger = load_ledger(root, args.assignment)
    fmt = getattr(args, "format", "plain") or "plain"
    default = "lms.csv" if fmt == "plain" else f"lms-{fmt}.csv"
    out = Path(args.out) if args.out else root / "grades" / args.assignment / default
    write_lms_csv(results, out, fmt=fmt, column=getattr(args, "lms_column", None),
                  names={sid: e.get("lms_name") for sid, e in ledger.items()})
    late = sum(1 for r in results if r.late_penalty > 0)
    print(f"wrote {out} ({fmt} format, {len(results)} students, {late} with a late penalty)")
    lms_late = sorted(sid for sid, e in ledger.items() if e.get("lms_late"))
    if lms_late and _due_date(root, args.assignment) is None:
        print(f"warning: the LMS marked {len(lms_late)} submission(s) late ({', '.join(lms_late[:10])}), but "
              f"{args.assignment!r} has no due date in the gradebook, so no late penalty was applied. Set it with "
              f"`nbgrader db assignment add {args.assignment} --duedate=\"YYYY-MM-DD HH:MM:SS UTC\"` and regrade "
              "with `grade --force`.", file=sys.stderr)
    return 0


def add_root_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--root", default=".", help="course folder holding nbgrader_config.py (default: current folder)")


def register(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "export", help="write an LMS-ready CSV (id, total after late penalty, max, percent)",
        description="Write grades/<ASSIGNMENT>/lms.csv: one row per student with the total after the late "
                    "penalty, the maximum, the percent, the raw score and the penalty (nbgrader's gradebook).")
    p.add_argument("assignment", help="assignment name, e.g. optimizers")
    p.add_argument("--out", help="CSV path (default grades/<ASSIGNMENT>/lms.csv, lms-<format>.csv for an LMS format)")
    p.add_argument("--format", choices=("plain", "canvas", "moodle", "blackboard"), default="plain",
                   help="plain (default), or the gradebook import format of Canvas, Moodle or Blackboard")
    p.add_argument("--lms-column", metavar="NAME",
                   help="the LMS's grade column, e.g. \"Optimizers (12345)\" for an existing Canvas assignment "
                        "(default: the assignment name, which makes a new column)")
    add_root_argument(p)
    p.set_defaults(func=export_main)
    return p


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.export")
    sub = parser.add_subparsers(dest="command", required=True)
    register(sub)
    args = parser.parse_args(["export", *(sys.argv[1:] if argv is None else argv)])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
