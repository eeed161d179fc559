"""Notebooks execute without stalls the way students and instructors run them outside nbgrader.

Plain nbclient (what ``jupyter nbconvert --execute`` and papermill use), with
neither ``COURSE_HEADLESS`` nor ``NBGRADER_EXECUTION`` set, so every interactive
demo displays its real widget. The failure this guards against: nbclient's
mirror of an ``ipywidgets.Output`` sends comm messages on the shell socket its
execute-reply poller waits on, and the reply's wake-up can be lost, so the cell
sits for one full cell timeout and then carries on without an error
(jupyter/nbclient#312; see ``course_utils.widgets``).

A stall is therefore measured, not waited for: for each cell, the wall time
nbclient spent minus the time the kernel was busy (``record_timing``'s iopub
busy → idle) is time spent waiting for a reply the kernel had already sent. The
per-cell timeout is short (a stall costs at most one timeout), and a cell whose
unexplained wait reaches half of it fails the test with the cell's id. Each
notebook runs several times because the lost wake-up is a race.
"""

from __future__ import annotations

import os
import time
from datetime import datetime

import nbformat
import pytest
from nbclient import NotebookClient

from tests.helpers.nbgrader_course import ASSIGNMENTS, REPO

pytestmark = pytest.mark.slow

RUNS = 3
CELL_TIMEOUT = 30          # seconds; the slowest cell of any notebook takes a few seconds
STALL_S = CELL_TIMEOUT / 2  # waiting this long for a reply the kernel already sent is a stall


def _ts(s: str) -> float:
    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def _execute(path, env_drop=("COURSE_HEADLESS", "NBGRADER_EXECUTION")):
    """Run ``path`` with nbclient; return [(cell id, wall s, kernel-busy s)] per code cell."""
    nb = nbformat.read(path, as_version=4)
    walls = {}

    def start(cell, cell_index, **_):
        walls[cell_index] = time.monotonic()

    def done(cell, cell_index, **_):
        walls[cell_index] = time.monotonic() - walls[cell_index]

    client = NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3", allow_errors=False,
                            record_timing=True, on_cell_execute=start, on_cell_executed=done,
                            resources={"metadata": {"path": str(path.parent)}})
    saved = {k: os.environ.pop(k) for k in env_drop if k in os.environ}
    try:
        client.execute()
    finally:
        os.environ.update(saved)
    rows = []
    for i, cell in enumerate(nb.cells):
        ex = cell.get("metadata", {}).get("execution", {})
        if i in walls and "iopub.status.busy" in ex and "iopub.status.idle" in ex:
            rows.append((cell.get("id"), walls[i], _ts(ex["iopub.status.idle"]) - _ts(ex["iopub.status.busy"])))
    return nb, rows


@pytest.mark.parametrize("assignment", [pytest.param(a, marks=pytest.mark.xdist_group(f"nostall-{a}")) for a in ASSIGNMENTS])
def test_notebook_runs_under_plain_nbclient_without_a_stall(assignment):
    path = REPO / "source" / assignment / f"{assignment}.ipynb"
    for run in range(RUNS):
        nb, rows = _execute(path)
        assert rows, f"{assignment}: no cell timings recorded"
        stalls = [(cid, round(wall, 1), round(busy, 1)) for cid, wall, busy in rows if wall - busy >= STALL_S]
        assert not stalls, (
            f"{assignment} run {run + 1}: cell(s) waited ≥ {STALL_S:.0f} s for a reply the kernel had already sent "
            f"(cell id, wall s, kernel-busy s): {stalls}. A demo probably writes into an ipywidgets.Output while "
            "the cell runs; draw into an ipywidgets.Image instead (see course_utils.widgets).")
        if run == 0:
            # the widgets were really shown (not the headless static figure), else this test proves nothing
            # for the notebooks that have them
            views = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                     if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
            expected = {"regularization": 2, "optimizers": 1}.get(assignment, 0)
            assert len(views) >= expected, f"{assignment}: expected ≥ {expected} live widget(s), got {len(views)}"
