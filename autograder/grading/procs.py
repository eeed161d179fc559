"""Processes that are not our children: identified by pid AND start time, waited on and killed safely.

pids are recycled quickly on a busy machine (``pid_max`` is often 32768), so a
process is a :class:`Proc` (pid, start time from ``/proc/<pid>/stat``) and
nothing is waited on or killed under a pid that now belongs to someone else.
Used by the fork server, the grading task and the kernel launcher.
"""

from __future__ import annotations

import os
import signal
import time
from typing import NamedTuple


class Proc(NamedTuple):
    """A process that is not our child: its pid and its start time (0: it had already exited)."""

    pid: int
    start: int


def _stat(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[-1].split()
    except OSError:
        return None


def start_time(pid: int) -> int:
    """Start time of ``pid`` in clock ticks since boot (0 when unknown or gone)."""
    st = _stat(pid)
    return int(st[19]) if st and len(st) > 19 else 0


def alive(proc) -> bool:
    """Is ``proc`` (a :class:`Proc`, or a bare pid) still running? A zombie or a recycled pid is not."""
    pid, start = (proc.pid, proc.start) if isinstance(proc, Proc) else (int(proc), None)
    st = _stat(pid)
    if st is None:
        if not os.path.isdir("/proc"):  # no procfs (macOS): fall back to signal 0
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return False
            except PermissionError:
                return True
            return True
        return False
    if st[0] == "Z":
        return False
    return start is None or (start != 0 and int(st[19]) == start)


def kill_group(proc, sig: int = signal.SIGKILL) -> None:
    """Signal the process group led by ``proc`` (else the process), unless its pid was recycled."""
    if not alive(proc):
        return
    pid = proc.pid if isinstance(proc, Proc) else int(proc)
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def wait(proc, limit: float, poll: float = 0.05) -> bool:
    """Wait until ``proc`` exits; False when ``limit`` seconds passed first."""
    end = time.monotonic() + limit
    while alive(proc):
        if time.monotonic() > end:
            return False
        time.sleep(poll)
    return True
