"""One grading task: one student's submission, graded in a scratch course.

:func:`grade_submission` is the task function for both executors (local pool
and Dask). It takes a self-contained :class:`GradeTask` (bytes, no paths into
the course) and returns a plain dict, so it runs the same on a remote Dask
worker as in a local thread. Layout of the scratch folder::

    <tmp>/autograder-XXXX/
        nbgrader_config.py, gradebook.db     this assignment's rows only (private copy)
        submitted/<student>/<assignment>/    the one (repaired) submission
        autograded/<student>/<assignment>/   the kernel's working directory
        ipc/                                 kernel sockets, connection file, kernel.pid
        job.json, result.json, events.jsonl

The kernel needs only ``autograded/<student>/<assignment>`` and ``ipc/``; that is
what a sandbox exposes (see autograder.kernel).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import integrity, scratch as _scratch
from . import kernel as _kernel
from .repair import UnreadableNotebook, repair_notebook

STATUSES = ("graded", "flagged", "timed_out", "kernel_died", "unreadable_notebook", "missing", "error")
#: Seconds allowed on top of the notebook budget for nbgrader and kernel start-up.
STARTUP_GRACE = 90.0
MAX_MESSAGE = 1500
#: Characters of the grader's log kept with an ``error`` result (for the TA, never shown to the student).
LOG_TAIL = 4000


@dataclass
class GradeTask:
    assignment: str
    student: str
    notebooks: dict                      # notebook name -> submitted bytes (None when absent)
    masters: dict                        # notebook name -> master cells (autograder.gradebook.master_cells)
    template_db: bytes                   # sqlite gradebook with only this assignment's rows
    config_text: str                     # the course's nbgrader_config.py
    timestamp: str | None = None         # contents of nbgrader's timestamp.txt
    extra_files: dict = field(default_factory=dict)  # other submitted files: relpath -> bytes
    cell_timeout: int = 60
    notebook_budget: float = 600.0
    submission_sha256: str = ""
    launch: str = "auto"                 # "auto" | "forkserver" | "subprocess"
    templates: dict = field(default_factory=dict)  # notebook -> autograder.integrity.template_info


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

            _SERVER = ForkServer(env=_kernel.kernel_env())
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
        from . import forkserver

        proc = _fork_server().launch(job_path)
        if not forkserver.wait(proc, limit):
            forkserver.kill_group(proc)
            forkserver.wait(proc, 10)
            return "killed", time.monotonic() - t0
        return "ok", time.monotonic() - t0
    proc = subprocess.Popen([sys.executable, "-m", "autograder.child", str(job_path)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        proc.wait(limit)
        return "ok", time.monotonic() - t0
    except subprocess.TimeoutExpired:
        _kill_group(proc.pid)
        proc.wait(10)
        return "killed", time.monotonic() - t0


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _kill_kernel(ipc_dir: Path) -> None:
    """Kill a kernel left behind by a killed grading process (``kernel.pid``: pid and start time)."""
    from .forkserver import Proc, kill_group

    pid_file = ipc_dir / "kernel.pid"
    if pid_file.exists():
        try:
            pid, start = (pid_file.read_text().split() + ["0"])[:2]
            proc = Proc(int(pid), int(start))
        except ValueError:
            return
        if proc.start:  # without a start time the pid may be someone else's by now
            kill_group(proc)


# --- results -----------------------------------------------------------------------------------

def _clip(msg: str | None) -> str:
    msg = (msg or "").strip()
    return msg if len(msg) <= MAX_MESSAGE else msg[:MAX_MESSAGE] + " [...]"


def _tests(masters: dict, cells: list, fallback: str | None) -> list:
    """One entry per test cell, in notebook order: name, score, max_score, message."""
    got = {(c["notebook"], c["name"]): c for c in cells}
    tests = []
    for nb_name, mcells in masters.items():
        for m in mcells:
            if m["kind"] != "test":
                continue
            c = got.get((nb_name, m["name"]))
            max_score = float(m["points"] or 0.0)
            if c is None:
                tests.append({"name": m["name"], "notebook": nb_name, "score": 0.0, "max_score": max_score,
                              "message": _clip(fallback or "not graded")})
                continue
            score = float(c["auto_score"] or 0.0)
            msg = c.get("message")
            if score < max_score and not msg:
                msg = "this check did not pass"
            tests.append({"name": m["name"], "notebook": nb_name, "score": score, "max_score": max_score,
                          "message": _clip(msg) if score < max_score else ""})
    return tests


def _status_from_events(events: list) -> tuple[str, str | None]:
    died = [e for e in events if e["event"] == "kernel_died"]
    if died:
        e = died[0]
        where = e.get("grade_id") or f"cell {e['cell']}"
        return "kernel_died", f"the kernel died while running {where}"
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
        return "timed_out", "; ".join(parts)
    return "graded", None


def _result(task: GradeTask, status: str, reason: str | None, **kw) -> dict:
    out = {
        "student": task.student, "assignment": task.assignment, "status": status, "reason": reason,
        "cells": [], "tests": [], "late_penalties": {}, "timestamp": None, "repairs": [],
        "files": {}, "time": 0.0, "submission_sha256": task.submission_sha256,
        "sandbox": _kernel.sandbox_description(), "host": os.uname().nodename if hasattr(os, "uname") else "",
    }
    out.update(kw)
    if not out["tests"]:
        out["tests"] = _tests(task.masters, out["cells"], kw.pop("fallback", None) or _fallback(status, reason))
    out.pop("fallback", None)
    out["score"] = round(sum(t["score"] for t in out["tests"]) - sum(out["late_penalties"].values() or [0.0]), 6)
    out["score"] = max(0.0, out["score"])
    out["max_score"] = sum(t["max_score"] for t in out["tests"])
    return out


def _fallback(status: str, reason: str | None) -> str:
    return {
        "missing": "not graded: no submission was found",
        "unreadable_notebook": f"not graded: your notebook could not be read: {reason}",
        "timed_out": f"not graded: {reason}",
        "kernel_died": f"not graded: {reason}",
        "error": "not graded: the grader failed on this submission; your TA will look at it",
    }.get(status, "not graded")


def grade_submission(task: GradeTask) -> dict:
    """Grade one submission; never raises (any failure becomes a status)."""
    t0 = time.monotonic()
    prep: dict = {}
    try:
        out = _grade(task, prep)
    except Exception as e:  # noqa: BLE001 (the batch must go on)
        import traceback

        out = _result(task, "error", f"{type(e).__name__}: {e}", log=traceback.format_exc()[-LOG_TAIL:])
    # Policy findings void the tests they attack, whatever the run produced (autograder.integrity).
    out["integrity"] = prep.get("integrity", {})
    functions = {m["name"] for cells in task.masters.values() for m in cells if m["kind"] == "answer"}
    integrity.apply_policy(out, prep.get("policy", []), functions)
    out["time"] = round(time.monotonic() - t0, 3)
    return out


def _grade(task: GradeTask, prep: dict) -> dict:
    if not any(v is not None for v in task.notebooks.values()):
        return _result(task, "missing", "no notebook submitted")
    repairs: list[str] = []
    repaired = {}
    for name, data in task.notebooks.items():
        if data is None:
            repairs.append(f"{name}.ipynb was not submitted: its tests score 0")
            continue
        try:
            repaired[name], notes = repair_notebook(data, task.masters.get(name, []))
        except UnreadableNotebook as e:
            return _result(task, "unreadable_notebook", str(e), repairs=repairs)
        repairs.extend(notes if len(task.notebooks) == 1 else [f"{name}: {n}" for n in notes])
        # Run only student-authored code + locked cells; scan the student's code (autograder.integrity).
        repaired[name], student_cells, info = integrity.graded_notebook(
            repaired[name], task.masters.get(name, []), task.templates.get(name, {}))
        scan = integrity.scan_submission(student_cells, task.masters.get(name, []))
        prep.setdefault("policy", []).extend(
            dict(f.as_dict(), notebook=name) for f in scan.findings)
        prep.setdefault("integrity", {})[name] = dict(info, unparsed_cells=scan.unparsed)

    keep = os.environ.get("AUTOGRADER_KEEP_SCRATCH") == "1"
    scratch = Path(tempfile.mkdtemp(prefix="autograder-"))
    try:
        _scratch.mark(scratch)  # a killed owner's folder is removed by the next run (autograder.scratch)
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
        outcome, _ = _run_child(job_path, limit, _kernel.kernel_env(), task.launch)
        _kill_kernel(ipc)
        if outcome == "killed":
            return _result(task, "timed_out",
                           f"the notebook did not finish within its time budget of {task.notebook_budget:g} s",
                           repairs=repairs)
        res_path = scratch / "result.json"
        if not res_path.exists():
            return _result(task, "error", "the grading process exited without a result", repairs=repairs)
        res = json.loads(res_path.read_text())
        if not res.get("success"):
            log = ((res.get("log") or "") + "\n" + (res.get("error") or "")).strip()
            return _result(task, "error", _short_error(res), repairs=repairs, log=log[-LOG_TAIL:])
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
        penalties = {}
        if res.get("late_penalty"):
            penalties = {name: 0.0 for name in task.masters}
            first = next(iter(penalties), None)
            if first is not None:
                penalties[first] = float(res["late_penalty"])
        return _result(task, status, reason, cells=res["cells"], repairs=repairs, files=files,
                       timestamp=res.get("timestamp"), late_penalties=penalties,
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
