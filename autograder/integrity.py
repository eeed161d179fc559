"""Grading checks that student code cannot switch off (grader side).

1. :func:`graded_notebook`: the authoritative run executes only student-authored
   code plus the locked cells: setup cell(s), answer cells, cells the student
   added (ids unknown to the instructor notebook, kept for fairness) and the test
   cells. Instructor demo cells are dropped, so hooks planted in them vanish and
   grading is faster; test cells are self-contained (spec §3), so scores do not
   change. Hidden tests are stripped from the notebook written to the kernel's
   working folder: nbgrader's OverwriteCells restores them from the gradebook in
   the trusted process.
2. :func:`scan_submission` runs :mod:`autograder.policy` on those cells;
   :meth:`autograder.results.StudentResult.void` zeroes the tests of flagged
   functions (every test for a global hook) and sets the status ``flagged`` with
   the reasons, for TA review.
3. :class:`IntegrityExecuteMixin` (mixed into the grading Execute preprocessor):
   a test cell scores 0 when its ``execute_reply`` from the kernel is not ``ok``
   or never came, even if no error output was shown (``showtraceback``,
   ``set_custom_exc`` or ``sys.excepthook`` overrides); and outputs are capped
   per cell and per notebook while they arrive, so a million lines never reach
   memory or disk.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.notebooknode import NotebookNode

from . import policy
from .repair import HIDDEN_RE, MISSING_NOTE

#: Output caps (characters of text/data kept).
MAX_CELL_OUTPUT = 100_000
MAX_NOTEBOOK_OUTPUT = 2_000_000
MAX_ERROR_TEXT = 4_000
REPLY_ENAME = "GradingIntegrityError"
TRUNCATED_NOTE = "\n[output truncated by the grader: this cell printed more than {n:,} characters]\n"


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

def graded_notebook(data: bytes, masters: list, template: dict) -> tuple[bytes, list, dict]:
    """Repaired notebook bytes -> ``(reduced bytes, student cells, info)``.

    Student cells are :class:`autograder.policy.StudentCell` for the policy scan.
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
            cell.source = HIDDEN_RE.sub("", cell.source.replace(MISSING_NOTE, ""))
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


def scan_submission(student_cells: list, masters: list) -> policy.ScanResult:
    setup = [m["source"] for m in masters if m["kind"] == "locked" and m["cell_type"] == "code"]
    functions = {m["name"] for m in masters if m["kind"] == "answer"}
    return policy.scan(student_cells, setup, functions=functions)


# --- execution: reply status and output caps -----------------------------------------------------

def _size(out) -> int:
    if out.get("output_type") == "stream":
        return len(out.get("text", ""))
    if out.get("output_type") == "error":
        return len(out.get("evalue", "")) + sum(len(x) for x in out.get("traceback", []))
    return sum(len(v) if isinstance(v, str) else len(str(v)) for v in (out.get("data") or {}).values())


def _clip_error(out) -> None:
    out["evalue"] = (out.get("evalue") or "")[:MAX_ERROR_TEXT]
    tb, total, kept = out.get("traceback") or [], 0, []
    for line in tb:
        total += len(line)
        if total > MAX_ERROR_TEXT:
            kept.append("[traceback truncated by the grader]")
            break
        kept.append(line)
    out["traceback"] = kept


def is_test_cell(cell) -> bool:
    meta = cell.metadata.get("nbgrader") or {}
    return bool(meta.get("grade")) and not meta.get("solution") and cell.cell_type == "code"


class IntegrityExecuteMixin:
    """Mixed in before nbgrader's Execute (see autograder.child.BudgetedExecute)."""

    def _integrity_init(self):
        if not hasattr(self, "_ig_replies"):
            self._ig_replies = {}
            self._ig_cell_chars = {}
            self._ig_truncated = set()
            self._ig_total = 0

    async def _ig_on_executed(self, cell=None, cell_index=None, execute_reply=None, **_):
        self._integrity_init()
        content = (execute_reply or {}).get("content") or {}
        self._ig_replies[cell_index] = content

    def preprocess(self, nb, resources=None, km=None):
        self._integrity_init()
        user_hook = self.on_cell_executed

        async def hook(**kw):
            await self._ig_on_executed(**kw)
            if user_hook is not None and user_hook is not hook:
                from nbclient.util import run_hook

                await run_hook(user_hook, **kw)

        self.on_cell_executed = hook
        return super().preprocess(nb, resources, km)

    def preprocess_cell(self, cell, resources, index):
        self._integrity_init()
        self._ig_replies.pop(index, None)
        out = super().preprocess_cell(cell, resources, index)
        if is_test_cell(cell) and cell.source.strip():
            reply = self._ig_replies.get(index)
            status = (reply or {}).get("status")
            shown = any(o.get("output_type") == "error" for o in cell.get("outputs", []))
            if status != "ok" and not shown:
                if reply is None:
                    ename, evalue = REPLY_ENAME, "the kernel sent no reply for this check; it counts as failed"
                else:
                    ename = reply.get("ename") or REPLY_ENAME
                    evalue = reply.get("evalue") or f"the kernel reported status {status!r} for this check"
                err = NotebookNode(output_type="error", ename=str(ename)[:200], evalue=str(evalue)[:MAX_ERROR_TEXT],
                                   traceback=[f"{ename}: {evalue}"[:MAX_ERROR_TEXT]])
                # first, so nbgrader's determine_grade sees the error before any execute_result
                cell.outputs = [err] + list(cell.get("outputs", []))
        return out

    def output(self, outs, msg, display_id, cell_index):
        self._integrity_init()
        out = super().output(outs, msg, display_id, cell_index)
        if out is None:
            return out
        if out.get("output_type") == "error":
            _clip_error(out)
            return out
        n = _size(out)
        used = self._ig_cell_chars.get(cell_index, 0)
        self._ig_cell_chars[cell_index] = used + n
        self._ig_total += n
        if used + n > MAX_CELL_OUTPUT or self._ig_total > MAX_NOTEBOOK_OUTPUT:
            if outs and outs[-1] is out:
                outs.pop()
            if cell_index not in self._ig_truncated:
                self._ig_truncated.add(cell_index)
                limit = MAX_CELL_OUTPUT if used + n > MAX_CELL_OUTPUT else MAX_NOTEBOOK_OUTPUT
                outs.append(NotebookNode(output_type="stream", name="stdout", text=TRUNCATED_NOTE.format(n=limit)))
            return None
        return out

