"""A tiny fork server: import nbgrader once, fork one grading process per task.

Starting ``python -m autograder.child`` costs about two seconds of imports per
submission; forking from a process that already imported them costs
milliseconds. Unlike ``multiprocessing``'s forkserver this never re-imports the
caller's ``__main__`` (scripts without a main guard keep working) and works from
daemonic processes such as Dask workers.

Protocol: one job path per line on stdin; the server forks, the child runs
:func:`autograder.child.entry` in a new session, and the server answers the
child's pid on stdout. Children are reaped by the server (SIGCHLD ignored).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path


def serve() -> None:
    from . import child  # the expensive imports, once

    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    stdin, stdout = sys.stdin, sys.stdout
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
        stdout.write(f"{pid}\n")
        stdout.flush()


class ForkServer:
    """Client side, one per process; thread-safe."""

    def __init__(self, env: dict | None = None):
        self._env = env
        self._proc = None
        self._lock = threading.Lock()

    def _ensure(self):
        if self._proc is None or self._proc.poll() is not None:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "autograder.forkserver"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL, env=self._env, text=True, bufsize=1, start_new_session=True)
        return self._proc

    def launch(self, job_path: Path) -> int:
        with self._lock:
            for attempt in range(2):
                proc = self._ensure()
                try:
                    proc.stdin.write(f"{job_path}\n")
                    proc.stdin.flush()
                    line = proc.stdout.readline()
                    if line.strip():
                        return int(line)
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


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie counts as dead
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def wait(pid: int, limit: float, poll: float = 0.05) -> bool:
    """Wait until ``pid`` exits; False when ``limit`` seconds passed first."""
    end = time.monotonic() + limit
    while alive(pid):
        if time.monotonic() > end:
            return False
        time.sleep(poll)
    return True


if __name__ == "__main__":
    serve()
