"""The LMS export: one CSV row per student with the total after the late penalty.

Rows come from :func:`autograder.results.load_results` (nbgrader's gradebook
merged with the grade run's results).

    python -m autograder export ASSIGNMENT [--out grades/A/lms.csv]
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from .course import graded_course
from .results import StudentResult, load_results


# --------------------------------------------------------------------------- LMS export

LMS_COLUMNS = ["student_id", "assignment", "total", "max_score", "percent", "raw_score",
               "late_penalty", "seconds_late", "timestamp", "status"]


def write_lms_csv(results: list[StudentResult], path: Path) -> Path:
    """One row per student: what an LMS grade import needs (id, total after penalty, max, percent)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(LMS_COLUMNS)
        for r in results:
            w.writerow([r.student, r.assignment, _num(r.score), _num(r.max_score), f"{r.percent:.2f}",
                        _num(r.raw_score), _num(r.late_penalty), f"{r.seconds_late:.0f}", r.timestamp or "",
                        str(r.status)])
    return path


def _num(x: float) -> str:
    return f"{x:.4f}".rstrip("0").rstrip(".") if x is not None else ""


def export_main(args) -> int:
    course = graded_course(args.root, args.assignment)
    root = Path(args.root)
    results = load_results(root, args.assignment, course.db_url)
    out = Path(args.out) if args.out else root / "grades" / args.assignment / "lms.csv"
    write_lms_csv(results, out)
    late = sum(1 for r in results if r.late_penalty > 0)
    print(f"wrote {out} ({len(results)} students, {late} with a late penalty)")
    return 0


def add_root_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--root", default=".", help="course folder holding nbgrader_config.py (default: current folder)")


def register(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "export", help="write an LMS-ready CSV (id, total after late penalty, max, percent)",
        description="Write grades/<ASSIGNMENT>/lms.csv: one row per student with the total after the late "
                    "penalty, the maximum, the percent, the raw score and the penalty (nbgrader's gradebook).")
    p.add_argument("assignment", help="assignment name, e.g. optimizers")
    p.add_argument("--out", help="CSV path (default grades/<ASSIGNMENT>/lms.csv)")
    add_root_argument(p)
    p.set_defaults(func=export_main)
    return p


if __name__ == "__main__":  # the same command as ``python -m autograder export``
    from autograder.cli import main

    sys.exit(main(["export", *sys.argv[1:]]))
