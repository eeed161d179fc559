"""The grading process of one task: nbgrader's Autograde in a scratch course.

Runs in a process of its own (forked from a preloaded forkserver, or
``python -m autograder.grading.child JOB.json``), so the worker can kill it, and its
kernel, when the notebook budget is exceeded. It writes ``result.json`` next to
the job file: the per-cell grades read back from the scratch gradebook and each
test cell's first error (exception type and message only).
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
import traceback
from pathlib import Path

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Float, Unicode

from . import kernel as _kernel
from .execute import IntegrityExecuteMixin

TIMEOUT_ENAME = "CellTimeoutError"
BUDGET_ENAME = "NotebookTimeout"
DEAD_ENAME = "KernelDied"
#: Seconds a kernel gets to go idle after its reply before it counts as wedged (nbclient's 4 s is short
#: on a loaded machine; it never costs an honest kernel time), and after a timeout's interrupt (an honest
#: kernel goes idle at once; a broken or interrupt-ignoring one would make every timeout cost this more).
IOPUB_GRACE = 15
INTERRUPT_GRACE = 5


def _error(ename: str, evalue: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


class BudgetedExecute(IntegrityExecuteMixin, Execute):
    """nbgrader's Execute with a whole-notebook budget and dead-kernel handling.

    IntegrityExecuteMixin (autograder.grading.execute) scores a test cell 0 when the
    kernel's execute_reply is not ok, and caps outputs as they arrive.
    Each cell gets ``min(per-cell timeout, what is left of the budget)``. Cells
    that never ran (budget spent, kernel dead) get an error output, so nbgrader
    scores their tests 0 instead of full marks for a cell without errors; cells
    that finished keep their results.
    """

    notebook_budget = Float(0.0, help="Seconds for the whole notebook (0: no limit).").tag(config=True)
    ipc_dir = Unicode("", help="Private folder for the kernel's IPC sockets.").tag(config=True)
    events_file = Unicode("", help="Where per-cell events are appended as JSON lines.").tag(config=True)

    def __init__(self, **kw):
        kw["kernel_manager_class"] = _kernel.grading_kernel_manager_class(self._ipc_dir_from(kw))
        super().__init__(**kw)
        self._iopub_grace = max(int(self.iopub_timeout or 0), IOPUB_GRACE)
        self.iopub_timeout = self._iopub_grace
        # Nothing is read from the kernel after its last cell: kill it instead of a graceful shutdown
        # (ipykernel's exit handlers, then bwrap's teardown, cost 1-3 s per submission).
        self.shutdown_kernel = "immediate"

    @staticmethod
    def _ipc_dir_from(kw):
        cfg = kw.get("config") or getattr(kw.get("parent"), "config", None)
        try:
            return cfg.BudgetedExecute.ipc_dir or os.environ["AUTOGRADER_IPC_DIR"]
        except (AttributeError, KeyError):
            return os.environ.get("AUTOGRADER_IPC_DIR", "ipc")

    def _event(self, **ev):
        if self.events_file:
            with open(self.events_file, "a") as fh:
                fh.write(json.dumps(ev) + "\n")

    def preprocess(self, nb, resources=None, km=None):
        self._cell_timeout = int(self.timeout or 30)
        self._deadline = time.monotonic() + self.notebook_budget if self.notebook_budget > 0 else None
        self._dead_at = None
        self._dead_why = ""
        return super().preprocess(nb, resources, km)

    async def _async_handle_timeout(self, timeout, cell=None):
        self.iopub_timeout = INTERRUPT_GRACE  # read by nbclient right after this returns
        return await super()._async_handle_timeout(timeout, cell)

    def _kernel_alive(self) -> bool:
        from jupyter_core.utils import run_sync

        try:
            return bool(run_sync(self.km.is_alive)())
        except Exception:  # noqa: BLE001 (a manager that cannot tell counts as dead)
            return False

    def _kill_kernel(self) -> None:
        """Kill a wedged kernel (its whole session: bwrap and everything in its pid namespace)."""
        import signal

        proc = getattr(getattr(self.km, "provisioner", None), "process", None)
        if proc is None or proc.poll() is not None:  # not yet reaped: the pid is still the kernel's
            return
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            try:
                proc.kill()
            except OSError:
                pass

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or not cell.source.strip():
            return super().preprocess_cell(cell, resources, index)
        grade_id = (cell.metadata.get("nbgrader") or {}).get("grade_id")
        if self._dead_at is not None:
            cell.outputs = [_error(DEAD_ENAME, f"not run: the kernel {self._dead_why} while running cell "
                                               f"{self._dead_at}")]
            self._event(cell=index, grade_id=grade_id,
                        event="skipped_dead" if self._dead_why == "died" else "skipped_unresponsive")
            return cell, resources
        timeout = self._cell_timeout
        if self._deadline is not None:
            remaining = self._deadline - time.monotonic()
            if remaining <= 0:
                cell.outputs = [_error(
                    BUDGET_ENAME,
                    f"not run: the notebook's time budget of {self.notebook_budget:g} s ran out before this cell",
                )]
                self._event(cell=index, grade_id=grade_id, event="skipped_budget")
                return cell, resources
            timeout = max(1, min(timeout, math.ceil(remaining)))
        self.timeout = timeout
        self.iopub_timeout = self._iopub_grace
        t0 = time.monotonic()
        try:
            out = super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            return self._died(cell, resources, index, grade_id, t0)
        except CellTimeoutError:
            # nbclient raises this when the kernel does not go idle within iopub_timeout after its reply
            # (or after a timeout's interrupt). Uncaught it aborts nbgrader's whole run and every earlier
            # result with it. A kernel that died meanwhile (signal, OOM kill) is a dead kernel; one that is
            # alive but ignores interrupts is wedged: kill it, fail this cell as timed out, skip the rest.
            if not self._kernel_alive():
                return self._died(cell, resources, index, grade_id, t0)
            self._kill_kernel()
            self._dead_at, self._dead_why = index, "stopped responding"
            msg = f"this cell did not finish in {timeout} s and the kernel stopped responding"
            cell.outputs = [o for o in cell.get("outputs", []) if o.get("output_type") != "error"]
            cell.outputs.append(NotebookNode(output_type="error", ename=TIMEOUT_ENAME, evalue=msg,
                                             traceback=[f"{TIMEOUT_ENAME}: {msg}"]))
            self._event(cell=index, grade_id=grade_id, event="timeout", seconds=timeout,
                        budget=timeout < self._cell_timeout, unresponsive=True)
            return cell, resources
        finally:
            self.timeout = self._cell_timeout
        outputs = cell.get("outputs", [])
        if any(o.get("output_type") == "error" and o.get("ename") == TIMEOUT_ENAME for o in outputs):
            # The interrupt's KeyboardInterrupt adds nothing for the student.
            cell.outputs = [o for o in outputs if not (o.get("output_type") == "error" and o.get("ename") != TIMEOUT_ENAME)]
            for o in cell.outputs:
                if o.get("output_type") == "error":
                    o["evalue"] = f"this cell did not finish in {timeout} s"
                    o["traceback"] = [f"{TIMEOUT_ENAME}: this cell did not finish in {timeout} s"]
            self._event(cell=index, grade_id=grade_id, event="timeout", seconds=timeout,
                        budget=timeout < self._cell_timeout)
        else:
            self._event(cell=index, grade_id=grade_id, event="ran", seconds=time.monotonic() - t0)
        return out


    def _died(self, cell, resources, index, grade_id, t0):
        self._dead_at, self._dead_why = index, "died"
        cell.outputs = list(cell.get("outputs", [])) + [_error(
            DEAD_ENAME,
            "the kernel died while running this cell (it crashed, exited or ran out of memory)",
        )]
        self._event(cell=index, grade_id=grade_id, event="kernel_died", seconds=time.monotonic() - t0)
        return cell, resources


def _autograde_preprocessors(cfg):
    from nbgrader.converters.autograde import Autograde

    configured = cfg.Autograde.get("autograde_preprocessors") if "Autograde" in cfg else None
    pps = list(configured or Autograde.class_traits()["autograde_preprocessors"].default())
    names = {"Execute", "nbgrader.preprocessors.Execute", "nbgrader.preprocessors.execute.Execute"}
    return [BudgetedExecute if (pp is Execute or pp in names) else pp for pp in pps]


def first_error(cell) -> str | None:
    for o in cell.get("outputs", []):
        if o.get("output_type") == "error":
            ename, evalue = o.get("ename") or "Error", (o.get("evalue") or "").strip()
            return f"{ename}: {evalue}" if evalue else ename
    return None


def run(job: dict) -> dict:
    """Autograde ``job['student']`` in the scratch course ``job['root']``."""
    from nbgrader.api import Gradebook
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader
    import nbformat

    root = Path(job["root"])
    os.environ.update(_kernel.grading_env())
    os.environ["AUTOGRADER_IPC_DIR"] = job["ipc_dir"]
    cfg = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    if "Sandbox" in cfg:  # c.Sandbox.* limits for the kernels (autograder.grading.sandbox)
        from . import sandbox

        sandbox.configure(dict(cfg.Sandbox))
    db_url = f"sqlite:///{root / 'gradebook.db'}"
    cfg.CourseDirectory.root = str(root)
    cfg.CourseDirectory.db_url = db_url
    cfg.Execute.timeout = int(job["cell_timeout"])
    cfg.ExecutePreprocessor.timeout = int(job["cell_timeout"])
    cfg.BudgetedExecute.notebook_budget = float(job["notebook_budget"])
    cfg.BudgetedExecute.ipc_dir = job["ipc_dir"]
    cfg.BudgetedExecute.events_file = str(Path(job["ipc_dir"]).parent / "events.jsonl")
    cfg.Autograde.autograde_preprocessors = _autograde_preprocessors(cfg)
    # Restoring deleted test cells is done (and recorded) by autograder.grading.repair; keep nbgrader's as a backstop.
    cfg.OverwriteCells.add_missing_cells = True

    coursedir = CourseDirectory(config=cfg)
    api = NbGraderAPI(coursedir=coursedir, config=cfg)
    assignment, student = job["assignment"], job["student"]
    res = api.autograde(assignment, student, force=True, create=True)
    out = {"success": bool(res.get("success")), "log": (res.get("log") or "")[-8000:],
           "error": (res.get("error") or "")[-4000:], "cells": [], "late_penalty": 0.0, "timestamp": None}
    if not out["success"]:
        return out
    with Gradebook(db_url) as gb:
        sub = gb.find_submission(assignment, student)
        out["timestamp"] = sub.timestamp.isoformat() if sub.timestamp else None
        for snb in sub.notebooks:
            out["late_penalty"] += float(snb.late_submission_penalty or 0.0)
            graded = root / "autograded" / student / assignment / f"{snb.name}.ipynb"
            errors = {}
            if graded.exists():
                gnb = nbformat.read(str(graded), as_version=4)
                for cell in gnb.cells:
                    gid = (cell.metadata.get("nbgrader") or {}).get("grade_id")
                    if gid and cell.cell_type == "code":
                        errors[gid] = first_error(cell)
            for g in snb.grades:
                out["cells"].append({
                    "notebook": snb.name, "name": g.cell.name, "cell_type": g.cell.cell_type,
                    "auto_score": g.auto_score, "max_score": float(g.max_score),
                    "needs_manual_grade": bool(g.needs_manual_grade), "message": errors.get(g.cell.name),
                })
    return out


def entry(job_path: str) -> None:
    """Process entry point: run the job, always leave a result.json behind."""
    try:
        os.setsid()
    except OSError:
        pass
    job_path = Path(job_path)
    job = json.loads(job_path.read_text())
    try:
        out = run(job)
    except BaseException:  # the worker turns any crash into a per-student status
        out = {"success": False, "log": "", "error": traceback.format_exc()[-4000:], "cells": []}
    tmp = job_path.with_name("result.json.tmp")
    tmp.write_text(json.dumps(out))
    tmp.replace(job_path.with_name("result.json"))


if __name__ == "__main__":
    entry(sys.argv[1])
