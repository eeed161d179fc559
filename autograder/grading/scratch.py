"""Scratch folders that outlive a killed process are found and removed by the next run.

Every scratch folder the grader makes (``autograder-*`` under the temp folder or
``/dev/shm``) gets an owner file: the pid, start time and host of the process
that will remove it. A SIGKILLed coordinator or Dask worker never runs its
``finally`` blocks, so :func:`sweep` (called when a batch starts) removes the
folders whose owner on this host is gone. A folder without an owner file, or
whose owner still runs, is left alone.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from pathlib import Path

OWNER = ".autograder-owner"
PREFIX = "autograder-"


def mark(folder: Path) -> None:
    """Record this process as the owner of ``folder`` (not with AUTOGRADER_KEEP_SCRATCH=1: kept on purpose)."""
    from .procs import start_time

    if os.environ.get("AUTOGRADER_KEEP_SCRATCH") == "1":
        return
    pid = os.getpid()
    (Path(folder) / OWNER).write_text(f"{pid} {start_time(pid)} {socket.gethostname()}\n")


def _orphaned(folder: Path) -> bool:
    from .procs import Proc, alive

    try:
        pid, start, host = (folder / OWNER).read_text().split()[:3]
        owner = Proc(int(pid), int(start))
    except (OSError, ValueError):
        return False
    return host == socket.gethostname() and owner.start != 0 and not alive(owner)


def sweep(log=None) -> list[Path]:
    """Remove the scratch folders left by dead grader processes on this host; return them."""
    removed = []
    bases = {Path(tempfile.gettempdir()), Path("/dev/shm")}
    for base in bases:
        try:
            candidates = [p for p in base.iterdir() if p.name.startswith(PREFIX) and p.is_dir()]
        except OSError:
            continue
        for folder in candidates:
            if _orphaned(folder):
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
    if removed and log:
        log(f"removed {len(removed)} scratch folder(s) left by a killed grading run")
    return removed
