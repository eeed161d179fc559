"""nbgrader's notebook vocabulary: cell kinds, solution/hidden-test regions, the failing check's message.

nbgrader marks cells in ``cell.metadata.nbgrader``: ``solution`` (an answer the
student writes), ``grade`` (points; a graded cell without ``solution`` is a
test cell), ``locked``, ``task``, and names each with a ``grade_id``.

Regions are delimited as nbgrader's preprocessors read them: a line containing
``ClearSolutions.begin_solution_delimeter`` ("BEGIN SOLUTION") opens a solution
region up to the line containing the end delimiter; ``ClearHiddenTests`` does
the same for hidden tests. :class:`Delimiters` reads the delimiters from the
course's ``nbgrader_config.py``, so every module that looks for regions (the
release checks, gates, bundles, repair, reduction, feedback) sees what nbgrader
sees.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@dataclass(frozen=True)
class Delimiters:
    """nbgrader's region delimiters (defaults: nbgrader's own)."""

    begin_solution: str = "BEGIN SOLUTION"
    end_solution: str = "END SOLUTION"
    begin_hidden: str = "BEGIN HIDDEN TESTS"
    end_hidden: str = "END HIDDEN TESTS"

    @classmethod
    def from_config(cls, config) -> "Delimiters":
        """The delimiters a traitlets config (``nbgrader_config.py``) sets, nbgrader's defaults otherwise."""
        cs, ch = config.get("ClearSolutions", {}) or {}, config.get("ClearHiddenTests", {}) or {}
        return cls(cs.get("begin_solution_delimeter", cls.begin_solution),
                   cs.get("end_solution_delimeter", cls.end_solution),
                   ch.get("begin_test_delimeter", cls.begin_hidden),
                   ch.get("end_test_delimeter", cls.end_hidden))

    @classmethod
    def for_course(cls, root) -> "Delimiters":
        from .course import load_config

        return cls.from_config(load_config(Path(root)))

    @property
    def markers(self) -> tuple[str, ...]:
        return self.begin_solution, self.end_solution, self.begin_hidden, self.end_hidden

    def has_marker(self, text: str) -> bool:
        return any(m in text for m in self.markers)

    def opens(self, line: str) -> bool:
        return self.begin_solution in line or self.begin_hidden in line

    def regions(self, source: str) -> list[tuple[str, list[str]]]:
        """``[("solution" | "hidden", lines inside)]``; an unterminated region runs to the end of the cell."""
        out, kind, body = [], None, []
        for line in source.split("\n"):
            if kind is None:
                if self.begin_solution in line:
                    kind, body = "solution", []
                elif self.begin_hidden in line:
                    kind, body = "hidden", []
            elif (kind == "solution" and self.end_solution in line) or (kind == "hidden" and self.end_hidden in line):
                out.append((kind, body))
                kind = None
            else:
                body.append(line)
        if kind is not None:
            out.append((kind, body))
        return out

    def _keep(self, source: str, drop: set) -> tuple[list[str], list[str]]:
        """(lines outside the ``drop`` regions, lines inside them); marker lines of dropped regions go."""
        kept, inside, kind = [], [], None
        for line in source.split("\n"):
            if kind is None:
                opening = ("solution" if self.begin_solution in line
                           else "hidden" if self.begin_hidden in line else None)
                if opening in drop:
                    kind = opening
                else:
                    kept.append(line)
            elif (kind == "solution" and self.end_solution in line) or (kind == "hidden" and self.end_hidden in line):
                kind = None
            else:
                inside.append(line)
        return kept, inside

    def outside(self, source: str) -> str:
        """``source`` without its solution and hidden-test regions (what a student sees of it, roughly)."""
        return "\n".join(self._keep(source, {"solution", "hidden"})[0])

    def split_hidden(self, source: str) -> tuple[str, list[str]]:
        """``(visible_source, hidden_lines)`` of a test cell."""
        kept, inside = self._keep(source, {"hidden"})
        return "\n".join(kept).rstrip(), inside

    def strip_hidden(self, source: str) -> str:
        """``source`` with its hidden-test regions (and their marker lines) removed."""
        return "\n".join(self._keep(source, {"hidden"})[0])

    def strip_solution_markers(self, source: str) -> str:
        """``source`` with the solution marker lines removed and the solution kept (the instructor's answer)."""
        lines = [ln for ln in source.split("\n") if self.begin_solution not in ln and self.end_solution not in ln]
        return "\n".join(lines)


#: nbgrader's defaults, which this course keeps (modules given no config use these).
DELIMITERS = Delimiters()


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def is_test_cell(cell) -> bool:
    """An autograded test cell: code, with points, not a solution."""
    meta = nbgrader_meta(cell)
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def solution_submission(source_nb, replace: dict | None = None, delimiters: Delimiters = DELIMITERS):
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
            cell.source = delimiters.strip_solution_markers(cell.source)
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
