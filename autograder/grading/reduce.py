"""The notebook that is graded: a submission reduced to student code and locked cells, and its scan.

1. :func:`graded_notebook`: the authoritative run executes only student-authored
   code plus the locked cells: setup cell(s), answer cells, cells the student
   added (ids unknown to the instructor notebook, kept for fairness) and the test
   cells. Instructor demo cells are dropped, so hooks planted in them vanish and
   grading is faster; test cells are self-contained (spec §3), so scores do not
   change. Hidden tests are stripped from the notebook written to the kernel's
   working folder: nbgrader's OverwriteCells restores them from the gradebook in
   the trusted process.
2. :func:`scan_submission` runs :mod:`autograder.grading.policy` on those cells;
   :meth:`autograder.results.StudentResult.void` zeroes the tests of flagged
   functions (every test for a global hook) and sets the status ``flagged`` with
   the reasons, for TA review.

The checks made while the notebook runs are in :mod:`autograder.grading.execute`.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

from . import policy
from ..notebook import DELIMITERS, Delimiters
from .repair import MISSING_NOTE


def _norm(src: str) -> str:
    return "\n".join(line.rstrip() for line in (src or "").strip().splitlines())


# --- the instructor notebook's own cells ---------------------------------------------------------

def template_info(course_root, assignment: str, notebook: str) -> dict:
    """Ids and demo-cell sources of the instructor notebook (source/ and release/), for :func:`graded_notebook`."""
    ids, demos, found = set(), set(), False
    for folder in ("source", "release"):
        p = Path(course_root) / folder / assignment / f"{notebook}.ipynb"
        if not p.is_file():
            continue
        try:
            nb = nbformat.read(str(p), as_version=4)
        except Exception:  # noqa: BLE001 (an unreadable template just means no reduction)
            continue
        found = True
        for c in nb.cells:
            if c.get("id"):
                ids.add(c["id"])
            if c.cell_type == "code" and not (c.metadata.get("nbgrader") or {}).get("grade_id"):
                demos.add(_norm(c.source))
    return {"ids": sorted(ids), "demo_sources": sorted(demos)} if found else {}


# --- the reduced notebook ------------------------------------------------------------------------

def graded_notebook(data: bytes, masters: list, template: dict,
                    delimiters: Delimiters = DELIMITERS) -> tuple[bytes, list, dict]:
    """Repaired notebook bytes -> ``(reduced bytes, student cells, info)``.

    Student cells are :class:`autograder.grading.policy.StudentCell` for the policy scan.
    Without a template (no source/ or release/ notebook) nothing is dropped.
    """
    nb = nbformat.reads(data.decode("utf-8"), as_version=4)
    kinds = {m["name"]: m["kind"] for m in masters}
    ids = set(template.get("ids", ()))
    demos = set(template.get("demo_sources", ()))
    keep, student, dropped, added = [], [], 0, 0
    for i, cell in enumerate(nb.cells):
        gid = (cell.metadata.get("nbgrader") or {}).get("grade_id")
        kind = kinds.get(gid)
        if cell.cell_type != "code":
            keep.append(cell)
            continue
        if kind == "answer":
            student.append(policy.StudentCell(cell.source, gid, i))
        elif kind in ("test", "locked", "task"):
            # what the student saw; the trusted process restores the gradebook's version
            cell.source = delimiters.strip_hidden(cell.source.replace(MISSING_NOTE, ""))
        elif template and (cell.get("id") in ids or _norm(cell.source) in demos):
            dropped += 1
            continue
        else:
            added += 1
            student.append(policy.StudentCell(cell.source, None, i))
        keep.append(cell)
    nb.cells = keep
    info = {"demo_cells_dropped": dropped, "added_cells": added, "reduced": bool(template)}
    return nbformat.writes(nb).encode("utf-8"), student, info


def scan_submission(student_cells: list, masters: list, restrictions=()) -> policy.ScanResult:
    setup = [m["source"] for m in masters if m["kind"] == "locked" and m["cell_type"] == "code"]
    functions = {m["name"] for m in masters if m["kind"] == "answer"}
    return policy.scan(student_cells, setup, restrictions=restrictions, functions=functions)
