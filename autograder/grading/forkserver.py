"""A tiny fork server: import nbgrader once, fork one grading process per task.

Starting ``python -m autograder.grading.child`` costs about two seconds of imports per
submission; forking from a process that already imported them costs
milliseconds. Unlike ``multiprocessing``'s forkserver this never re-imports the
caller's ``__main__`` (scripts without a main guard keep working) and works from
daemonic processes such as Dask workers.

Protocol: one job path per line on stdin; the server forks, the child runs
:func:`autograder.grading.child.entry` in a new session, and the server answers
``"<pid> <start time>"`` on stdout. Children are reaped by the server (SIGCHLD
ignored), so the caller is not their parent and only sees a pid: pids are
recycled quickly on a busy machine (``pid_max`` is often 32768), so a process
is identified by its pid AND its start time (:class:`Proc`), and nothing is
waited on or killed under a pid that now belongs to someone else
(:mod:`autograder.grading.procs`).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from .procs import Proc, kill_group, start_time


def serve() -> None:
    from . import child  # the expensive imports, once
    from . import sandbox

    sandbox.probe()  # forked children inherit the cached answer instead of running bwrap each

    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    stdin, stdout = sys.stdin, sys.stdout
    launched: dict = {}  # pid -> (start time, job path): cleaned up if our client dies
    for line in stdin:
        job = line.strip()
        if not job:
            continue
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                devnull = os.open(os.devnull, os.O_RDWR)
                for fd in (0, 1):
                    os.dup2(devnull, fd)
                child.entry(job)
            except BaseException:  # noqa: BLE001 (entry already records its errors)
                code = 1
            finally:
                os._exit(code)
        launched[pid] = (start_time(pid), Path(job))
        stdout.write(f"{pid} {launched[pid][0]}\n")
        stdout.flush()
        for done in [p for p, (_, j) in launched.items() if not j.parent.exists()]:
            del launched[done]  # its client already removed the scratch folder
    _client_gone(launched)


def _client_gone(launched: dict) -> None:
    """stdin closed: our client (the coordinator or a Dask worker) finished or was killed.

    A SIGKILLed client never runs its cleanup, so its grading processes, their
    kernels and their scratch folders would outlive it: kill and remove what is
    still there (after a normal exit nothing is).
    """
    launched = {p: v for p, v in launched.items() if v[1].parent.exists()}
    if not launched:
        return
    procs = {pid: Proc(pid, start) for pid, (start, _) in launched.items()}
    for proc in procs.values():
        kill_group(proc)
    for _ in range(3):  # a kernel being started as its grader was killed writes kernel.pid a bit later
        for _, job in launched.values():
            _kill_kernel(job.parent / "ipc" / "kernel.pid")
        time.sleep(0.3)
    if os.environ.get("AUTOGRADER_KEEP_SCRATCH") != "1":
        import shutil

        for _, job in launched.values():
            if job.parent.name.startswith("autograder-"):
                shutil.rmtree(job.parent, ignore_errors=True)


def _kill_kernel(pid_file: Path) -> None:
    """Kill the kernel recorded in ``ipc/kernel.pid`` (pid and start time), if it still runs."""
    try:
        pid, start = (pid_file.read_text().split() + ["0"])[:2]
        proc = Proc(int(pid), int(start))
    except (OSError, ValueError):
        return
    if proc.start:
        kill_group(proc)


class ForkServer:
    """Client side, one per process; thread-safe."""

    def __init__(self, env: dict | None = None):
        self._env = env
        self._proc = None
        self._lock = threading.Lock()

    def _ensure(self):
        if self._proc is None or self._proc.poll() is not None:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "autograder.grading.forkserver"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL, env=self._env, text=True, bufsize=1, start_new_session=True)
        return self._proc

    def start(self) -> None:
        """Start the server now (its imports take seconds) so that it is ready for the first task."""
        with self._lock:
            self._ensure()

    def launch(self, job_path: Path) -> "Proc":
        with self._lock:
            for attempt in range(2):
                proc = self._ensure()
                try:
                    proc.stdin.write(f"{job_path}\n")
                    proc.stdin.flush()
                    line = proc.stdout.readline()
                    if line.strip():
                        pid, start = line.split()
                        return Proc(int(pid), int(start))
                except (BrokenPipeError, ValueError, OSError):
                    pass
                self._proc = None
            raise RuntimeError("the grading fork server could not start a grading process")

    def close(self):
        with self._lock:
            if self._proc is not None and self._proc.poll() is None:
                self._proc.stdin.close()
                try:
                    self._proc.wait(5)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
            self._proc = None


if __name__ == "__main__":
    serve()
