"""nbgrader's notebook vocabulary: cell kinds and the failing check's message.

nbgrader marks cells in ``cell.metadata.nbgrader``: ``solution`` (an answer the
student writes), ``grade`` (points; a graded cell without ``solution`` is a
test cell), ``locked``, ``task``, and names each with a ``grade_id``.
"""

from __future__ import annotations

import re
from pathlib import Path

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
#: nbgrader's solution delimiter lines (ClearSolutions' defaults, which this course keeps).
SOLUTION_MARKER = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", re.M)


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def is_test_cell(cell) -> bool:
    """An autograded test cell: code, with points, not a solution."""
    meta = nbgrader_meta(cell)
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def solution_submission(source_nb, replace: dict | None = None):
    """The instructor notebook as a student would submit it: a copy with outputs cleared and solution
    markers removed; ``replace`` maps answer-cell grade ids to other code (a mutant, a variant)."""
    import nbformat

    nb = nbformat.reads(nbformat.writes(nbformat.from_dict(source_nb)), as_version=4)  # a deep copy
    answers = set()
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        meta = nbgrader_meta(cell)
        if meta.get("solution"):
            answers.add(meta.get("grade_id"))
            cell.source = SOLUTION_MARKER.sub("", cell.source)
            if replace and meta.get("grade_id") in replace:
                cell.source = replace[meta["grade_id"]]
    missing = set(replace or ()) - answers
    if missing:
        raise KeyError(f"no answer cell with grade_id {sorted(missing)} in the notebook")
    return nb


def error_message(output) -> str:
    """``"<ename>: <evalue>"`` of an error output: what students may see of a failing check."""
    ename = _ANSI.sub("", str(output.get("ename", "") or "Error"))
    evalue = _ANSI.sub("", str(output.get("evalue", "") or "")).strip()
    return f"{ename}: {evalue}" if evalue else ename


def test_messages(nb) -> dict:
    """grade_id -> failing message for every test cell of an autograded notebook ("" when it passed)."""
    out = {}
    for cell in nb.cells:
        if not is_test_cell(cell):
            continue
        msg = ""
        for o in cell.get("outputs", []):
            if o.get("output_type") == "error":
                msg = error_message(o)
                break
        out[nbgrader_meta(cell).get("grade_id", "")] = msg
    return out


def autograded_notebooks(root: Path, assignment: str, student: str) -> list[Path]:
    return sorted((Path(root) / "autograded" / student / assignment).glob("*.ipynb"))


def autograded_messages(root: Path, assignment: str, student: str) -> dict:
    """grade_id -> failing message, from the student's autograded notebooks (unreadable ones are skipped)."""
    import nbformat

    msgs = {}
    for path in autograded_notebooks(root, assignment, student):
        try:
            msgs.update(test_messages(nbformat.read(str(path), as_version=4)))
        except Exception:  # noqa: BLE001 (an unreadable autograded notebook keeps the gradebook scores)
            pass
    return msgs
