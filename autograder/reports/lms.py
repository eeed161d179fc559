"""The LMS export: one CSV row per student with the total after the late penalty.

Rows come from :func:`autograder.results.load_results` (nbgrader's gradebook
merged with the grade run's results).

    python -m autograder export ASSIGNMENT [--out grades/A/lms.csv]
"""

from __future__ import annotations

import csv
from pathlib import Path

from ..results import StudentResult

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
