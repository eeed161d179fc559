"""One grading task: one student's submission, graded in a scratch course.

:func:`grade_submission` is the task function for both executors (local pool
and Dask). It takes a self-contained :class:`GradeTask` (bytes, no paths into
the course) and returns an :class:`autograder.results.StudentResult`, so it runs the same on a remote Dask
worker as in a local thread. Layout of the scratch folder::

    <tmp>/autograder-XXXX/
        nbgrader_config.py, gradebook.db     this assignment's rows only (private copy)
        submitted/<student>/<assignment>/    the one (repaired) submission
        autograded/<student>/<assignment>/   the kernel's working directory
        ipc/                                 kernel sockets, connection file, kernel.pid
        job.json, result.json, events.jsonl

The kernel needs only ``autograded/<student>/<assignment>`` and ``ipc/``; that is
what a sandbox exposes (see autograder.grading.kernel).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import reduce
from . import scratch as _scratch
from . import kernel as _kernel
from . import procs
from .repair import UnreadableNotebook, repair_notebook
from ..notebook import DELIMITERS, Delimiters
from ..results import LOG_TAIL, Status, StudentResult, tests_from_cells

#: Seconds allowed on top of the notebook budget for nbgrader and kernel start-up.
STARTUP_GRACE = 90.0


@dataclass
class GradeTask:
    assignment: str
    student: str
    notebooks: dict                      # notebook name -> submitted bytes (None when absent)
    masters: dict                        # notebook name -> master cells (autograder.grading.gradebook.master_cells)
    template_db: bytes                   # sqlite gradebook with only this assignment's rows
    config_text: str                     # the course's nbgrader_config.py
    timestamp: str | None = None         # contents of nbgrader's timestamp.txt
    extra_files: dict = field(default_factory=dict)  # other submitted files: relpath -> bytes
    cell_timeout: int = 60
    notebook_budget: float = 600.0
    submission_sha256: str = ""
    launch: str = "auto"                 # "auto" | "forkserver" | "subprocess"
    templates: dict = field(default_factory=dict)  # notebook -> autograder.grading.reduce.template_info
    restrictions: tuple = ()             # the course's policy.Restriction rules (c.Policy.restrictions)
    delimiters: Delimiters = DELIMITERS  # the course's solution/hidden-test delimiters (nbgrader_config.py)


def submission_digest(notebooks: dict, timestamp: str | None) -> str:
    h = hashlib.sha256()
    for name in sorted(notebooks):
        h.update(name.encode())
        h.update(notebooks[name] or b"<missing>")
    h.update((timestamp or "").encode())
    return h.hexdigest()


# --- launching the grading process -------------------------------------------------------------

_SERVER = None
_SERVER_LOCK = threading.Lock()


def _fork_server():
    global _SERVER
    with _SERVER_LOCK:
        if _SERVER is None:
            from .forkserver import ForkServer

            _SERVER = ForkServer(env=_kernel.grading_env())
        return _SERVER


def start_fork_server() -> None:
    """Start this process's fork server ahead of the first task (best effort)."""
    try:
        _fork_server().start()
    except OSError:
        pass


def _run_child(job_path: Path, limit: float, env: dict, launch: str) -> tuple[str, float]:
    """Run the grading process; return ("ok"|"killed", seconds)."""
    t0 = time.monotonic()
    if launch in ("auto", "forkserver") and sys.platform != "win32":
        proc = _fork_server().launch(job_path)
        if not procs.wait(proc, limit):
            procs.kill_group(proc)
            procs.wait(proc, 10)
            return "killed", time.monotonic() - t0
        return "ok", time.monotonic() - t0
    proc = subprocess.Popen([sys.executable, "-m", "autograder.grading.child", str(job_path)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        proc.wait(limit)
        return "ok", time.monotonic() - t0
    except subprocess.TimeoutExpired:
        procs.kill_group(proc.pid)
        proc.wait(10)
        return "killed", time.monotonic() - t0


def _kill_kernel(ipc_dir: Path) -> None:
    """Kill a kernel left behind by a killed grading process (``kernel.pid``: pid and start time)."""
    pid_file = ipc_dir / "kernel.pid"
    if pid_file.exists():
        try:
            pid, start = (pid_file.read_text().split() + ["0"])[:2]
            proc = procs.Proc(int(pid), int(start))
        except ValueError:
            return
        if proc.start:  # without a start time the pid may be someone else's by now
            procs.kill_group(proc)


def _status_from_events(events: list) -> tuple[Status, str | None]:
    died = [e for e in events if e["event"] == "kernel_died"]
    if died:
        e = died[0]
        where = e.get("grade_id") or f"cell {e['cell']}"
        return Status.KERNEL_DIED, f"the kernel died while running {where}"
    timeouts = [e for e in events if e["event"] == "timeout"]
    skipped = [e for e in events if e["event"] == "skipped_budget"]
    wedged = [e for e in events if e["event"] == "skipped_unresponsive"]
    if timeouts or skipped:
        parts = []
        if timeouts:
            e = timeouts[0]
            parts.append(f"{e.get('grade_id') or 'cell %d' % e['cell']} did not finish in {e['seconds']} s")
            if e.get("unresponsive"):
                parts[-1] += " and the kernel ignored the interrupt (stopped)"
        if wedged:
            parts.append(f"{len(wedged)} cell(s) not run: the kernel stopped responding")
        if skipped:
            parts.append(f"{len(skipped)} cell(s) not run: notebook budget spent")
        return Status.TIMED_OUT, "; ".join(parts)
    return Status.GRADED, None


def _result(task: GradeTask, status: Status, reason: str | None, cells=(), late_penalty: float = 0.0,
            **kw) -> StudentResult:
    return StudentResult(
        task.student, task.assignment, Status(status), reason,
        tests=tests_from_cells(task.masters, cells, status, reason),
        late_penalty=late_penalty, cells=list(cells), submission_sha256=task.submission_sha256,
        sandbox=_kernel.sandbox_description(), host=os.uname().nodename if hasattr(os, "uname") else "", **kw)


def grade_submission(task: GradeTask) -> StudentResult:
    """Grade one submission; never raises (any failure becomes a status)."""
    t0 = time.monotonic()
    prep: dict = {}
    try:
        out = _grade(task, prep)
    except Exception as e:  # noqa: BLE001 (the batch must go on)
        import traceback

        out = _result(task, Status.ERROR, f"{type(e).__name__}: {e}", log=traceback.format_exc()[-LOG_TAIL:])
    # Policy findings void the tests they attack, whatever the run produced (autograder.grading.policy).
    out.integrity = prep.get("integrity", {})
    functions = {m["name"] for cells in task.masters.values() for m in cells if m["kind"] == "answer"}
    out.void(prep.get("policy", []), functions)
    out.seconds = round(time.monotonic() - t0, 3)
    return out


def _grade(task: GradeTask, prep: dict) -> StudentResult:
    if not any(v is not None for v in task.notebooks.values()):
        return _result(task, Status.MISSING, "no notebook submitted")
    repairs: list[str] = []
    repaired = {}
    for name, data in task.notebooks.items():
        if data is None:
            repairs.append(f"{name}.ipynb was not submitted: its tests score 0")
            continue
        try:
            repaired[name], notes = repair_notebook(data, task.masters.get(name, []), task.delimiters)
        except UnreadableNotebook as e:
            return _result(task, Status.UNREADABLE, str(e), repairs=repairs)
        repairs.extend(notes if len(task.notebooks) == 1 else [f"{name}: {n}" for n in notes])
        # Run only student-authored code + locked cells; scan the student's code (autograder.grading.reduce).
        repaired[name], student_cells, info = reduce.graded_notebook(
            repaired[name], task.masters.get(name, []), task.templates.get(name, {}), task.delimiters)
        scan = reduce.scan_submission(student_cells, task.masters.get(name, []), task.restrictions)
        prep.setdefault("policy", []).extend(
            dict(f.as_dict(), notebook=name) for f in scan.findings)
        prep.setdefault("integrity", {})[name] = dict(info, unparsed_cells=scan.unparsed)

    keep = os.environ.get("AUTOGRADER_KEEP_SCRATCH") == "1"
    scratch = Path(tempfile.mkdtemp(prefix="autograder-"))
    try:
        _scratch.mark(scratch)  # a killed owner's folder is removed by the next run (autograder.grading.scratch)
        (scratch / "nbgrader_config.py").write_text(task.config_text)
        (scratch / "gradebook.db").write_bytes(task.template_db)
        sub = scratch / "submitted" / task.student / task.assignment
        sub.mkdir(parents=True)
        for rel, data in task.extra_files.items():
            target = (sub / rel).resolve()
            if target.is_relative_to(sub.resolve()):
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
        for name, data in repaired.items():
            (sub / f"{name}.ipynb").write_bytes(data)
        if task.timestamp:
            (sub / "timestamp.txt").write_text(task.timestamp)
        ipc = scratch / "ipc"
        ipc.mkdir()
        job = {"root": str(scratch), "assignment": task.assignment, "student": task.student,
               "cell_timeout": int(task.cell_timeout), "notebook_budget": float(task.notebook_budget),
               "ipc_dir": str(ipc)}
        job_path = scratch / "job.json"
        job_path.write_text(json.dumps(job))
        limit = float(task.notebook_budget) + STARTUP_GRACE
        outcome, _ = _run_child(job_path, limit, _kernel.grading_env(), task.launch)
        _kill_kernel(ipc)
        if outcome == "killed":
            return _result(task, Status.TIMED_OUT,
                           f"the notebook did not finish within its time budget of {task.notebook_budget:g} s",
                           repairs=repairs)
        res_path = scratch / "result.json"
        if not res_path.exists():
            return _result(task, Status.ERROR, "the grading process exited without a result", repairs=repairs)
        res = json.loads(res_path.read_text())
        if not res.get("success"):
            log = ((res.get("log") or "") + "\n" + (res.get("error") or "")).strip()
            return _result(task, Status.ERROR, _short_error(res), repairs=repairs, log=log[-LOG_TAIL:])
        events = []
        ev_path = scratch / "events.jsonl"
        if ev_path.exists():
            events = [json.loads(line) for line in ev_path.read_text().splitlines() if line.strip()]
        status, reason = _status_from_events(events)
        files = {}
        graded_dir = scratch / "autograded" / task.student / task.assignment
        if graded_dir.exists():
            for f in sorted(graded_dir.rglob("*")):
                if f.is_file() and not f.is_symlink() and f.stat().st_size <= 50_000_000:
                    files[str(f.relative_to(graded_dir))] = f.read_bytes()
        return _result(task, status, reason, cells=res["cells"], repairs=repairs, files=files,
                       timestamp=res.get("timestamp"), late_penalty=float(res.get("late_penalty") or 0.0),
                       cell_seconds=round(sum(e.get("seconds", 0) for e in events if e["event"] == "ran"), 3))
    finally:
        if not keep:
            shutil.rmtree(scratch, ignore_errors=True)


def _short_error(res: dict) -> str:
    text = (res.get("error") or "") + "\n" + (res.get("log") or "")
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line and not line.startswith(("File ", "^", "~")) and ("Error" in line or "error" in line):
            return line[-400:]
    return (text.strip().splitlines() or ["nbgrader autograde failed"])[-1][-400:]
