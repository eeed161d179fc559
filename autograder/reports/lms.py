"""The LMS export: grade CSVs in the formats the big LMSs import.

Rows come from :func:`autograder.results.load_results` (nbgrader's gradebook
merged with the grade run's results).

``python -m autograder export ASSIGNMENT --format canvas|moodle|blackboard|plain``

Every format carries the total after the late penalty; the student is
identified by the id ``collect`` took from the LMS download (for Canvas, the
numeric Canvas user id in ``name_<id>_<submission>_file.ipynb``), and the name
the LMS wrote in the file name, when there was one.

==========  ====================================================================
canvas      Canvas Gradebook import: ``Student, ID, SIS User ID, SIS Login ID,
            Section, <column>``, then a ``Points Possible`` row. Canvas matches
            rows on ``ID``. ``<column>`` is ``Name (assignment id)`` for an
            existing Canvas assignment (``--lms-column "Optimizers (12345)"``,
            shown in Canvas's own gradebook export); a name without an id makes
            Canvas create a new column on import.
moodle      Moodle "Import grades from CSV file": ``ID number, Full name,
            <column>``; at import, map ``ID number`` to the user field that
            holds the LMS id and ``<column>`` to the grade item.
blackboard  Blackboard Learn Grade Center upload: ``Last Name, First Name,
            Username, <column>``; a column header without ``|<column id>``
            creates a new Grade Center column. Usernames must be what Blackboard
            knows: collect with a roster of usernames.
plain       the course's own columns (id, totals, penalty, time, status).
==========  ====================================================================
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from ..results import StudentResult

FORMATS = ("plain", "canvas", "moodle", "blackboard")
LMS_COLUMNS = ["student_id", "assignment", "total", "max_score", "percent", "raw_score",
               "late_penalty", "seconds_late", "timestamp", "status"]


@dataclass
class GradeRow:
    """What an LMS import needs about one student."""

    student_id: str
    name: str | None
    assignment: str
    total: float
    max_score: float
    raw_score: float = 0.0
    late_penalty: float = 0.0
    seconds_late: float = 0.0
    timestamp: str | None = None
    status: str = "graded"

    @property
    def percent(self) -> float:
        return 100.0 * self.total / self.max_score if self.max_score else 0.0

    def name_parts(self) -> tuple[str, str]:
        """``(last, first)`` from an LMS name such as ``lovelace_ada`` or ``Lovelace, Ada``."""
        name = (self.name or "").replace(",", " ").replace("_", " ").split()
        if not name:
            return "", ""
        return name[0].title(), " ".join(name[1:]).title()


def _num(x: float | None) -> str:
    return f"{x:.4f}".rstrip("0").rstrip(".") if x is not None else ""


def write_grades_csv(rows: list[GradeRow], path: Path, fmt: str = "plain", column: str | None = None) -> Path:
    """Write ``rows`` as ``fmt`` to ``path``; ``column`` names the LMS's grade column."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown LMS format {fmt!r}; choose one of {', '.join(FORMATS)}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    col = column or (rows[0].assignment if rows else "grade")
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        if fmt == "plain":
            w.writerow(LMS_COLUMNS)
            for r in rows:
                w.writerow([r.student_id, r.assignment, _num(r.total), _num(r.max_score), f"{r.percent:.2f}",
                            _num(r.raw_score), _num(r.late_penalty), f"{r.seconds_late:.0f}", r.timestamp or "",
                            r.status])
        elif fmt == "canvas":
            w.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", col])
            w.writerow(["    Points Possible", "", "", "", "", _num(rows[0].max_score if rows else 0)])
            for r in rows:
                last, first = r.name_parts()
                w.writerow([f"{last}, {first}".strip(", ") if last else r.student_id, r.student_id, "", "", "",
                            _num(r.total)])
        elif fmt == "moodle":
            w.writerow(["ID number", "Full name", col])
            for r in rows:
                last, first = r.name_parts()
                w.writerow([r.student_id, f"{first} {last}".strip(), _num(r.total)])
        else:  # blackboard
            w.writerow(["Last Name", "First Name", "Username", col])
            for r in rows:
                last, first = r.name_parts()
                w.writerow([last, first, r.student_id, _num(r.total)])
    return path


def write_lms_csv(results: list[StudentResult], path: Path, fmt: str = "plain", column: str | None = None,
                  names: dict | None = None) -> Path:
    """One row per student in an LMS's import format; ``names`` maps ids to the LMS's names (from collect)."""
    names = names or {}
    rows = [GradeRow(r.student, names.get(r.student), r.assignment, r.score, r.max_score, r.raw_score,
                     r.late_penalty, r.seconds_late, r.timestamp, str(r.status)) for r in results]
    return write_grades_csv(rows, path, fmt=fmt, column=column)
