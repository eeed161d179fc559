"""Execution checks that student code cannot switch off (mixed into the grading Execute preprocessor).

:class:`IntegrityExecuteMixin`: a test cell scores 0 when its ``execute_reply``
from the kernel is not ``ok`` or never came, even if no error output was shown
(``showtraceback``, ``set_custom_exc`` or ``sys.excepthook`` overrides); and
outputs are capped per cell and per notebook while they arrive, so a million
lines never reach memory or disk.
"""

from __future__ import annotations

from nbformat.notebooknode import NotebookNode

from ..notebook import is_test_cell

#: Output caps (characters of text/data kept).
MAX_CELL_OUTPUT = 100_000
MAX_NOTEBOOK_OUTPUT = 2_000_000
MAX_ERROR_TEXT = 4_000
REPLY_ENAME = "GradingIntegrityError"
TRUNCATED_NOTE = "\n[output truncated by the grader: this cell printed more than {n:,} characters]\n"


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


class IntegrityExecuteMixin:
    """Mixed in before nbgrader's Execute (see autograder.grading.child.BudgetedExecute)."""

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

