"""SIGKILL the coordinator (`python -m autograder grade`) mid-batch, rerun, and compare with an uninterrupted run.

The same course is graded twice from the same starting state: once straight
through (the reference), once killed three times (early, during a gradebook
write, after some results) and then rerun to completion. The final gradebook
(per-cell scores through nbgrader's Gradebook API), grades.csv and every
results/<student>.json (timings aside) must equal the reference; every student
has exactly one submission row; no grading process, kernel or scratch folder of
the killed runs is left behind.

The gradebook-write window is hit deterministically with the grader's test
hook ``AUTOGRADER_TEST_PAUSE=merge:<student>:<flag>``: the coordinator stops
inside its transaction (rows updated, not committed), writes the flag, and is
killed there.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from tests.autograder import toycourse as T
from tests.helpers.nbgrader_course import grading_env, solution_submission

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("infra_kill")]

VOLATILE = {"execution_time", "graded_at", "cell_seconds"}


def _course(root: Path):
    c = T.make_course(root)
    src = c.source_nb(T.A)
    c.submit(T.A, "good", solution_submission(src))
    c.submit(T.A, "good2", solution_submission(src))
    c.submit(T.A, "blank", nbformat.read(str(c.release_path(T.A)), as_version=4))
    c.submit(T.A, "buggy", T.with_answer(c, "add", "def add(a, b):\n    return a - b\n"))
    c.submit(T.A, "buggy2", T.with_answer(c, "scale", "def scale(x, k):\n    return x + k\n"))
    c.submit(T.A, "loop", T.with_answer(c, "add", "while True:\n    pass\n"))
    c.submit(T.A, "stripped", T.strip_metadata(T.with_answer(c, "add", "def add(a, b):\n    return a - b\n")))
    T.write_raw(c, "badjson", b'{"cells": [')
    return c


def _env(tmpdir: Path, **extra) -> dict:
    env = grading_env()
    env.update(TMPDIR=str(tmpdir), **extra)
    return env


def _start(root: Path, env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "autograder", "grade", T.A, "--workers", "2", "--no-progress",
                             "--timeout-cell", "4", "--timeout-notebook", "120"],
                            cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _run(root: Path, env: dict) -> str:
    proc = _start(root, env)
    out, _ = proc.communicate(timeout=900)
    assert proc.returncode == 0, out[-4000:]
    return out


def descendants(pid: int) -> dict:
    """``{pid: command line}`` of every live descendant of ``pid`` (through /proc's parent links)."""
    parent, cmd = {}, {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                st = (d / "stat").read_text().rsplit(")", 1)[-1].split()
                if st[0] != "Z":
                    parent[int(d.name)] = int(st[1])
                    cmd[int(d.name)] = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except (OSError, IndexError, ValueError):
                continue
    out, frontier = {}, {pid}
    while frontier:
        frontier = {p for p, pp in parent.items() if pp in frontier and p not in out}
        out.update({p: cmd[p][:160] for p in frontier})
    return out


def still_running(pids: dict, limit: float = 10.0) -> dict:
    """The processes of ``pids`` still alive after ``limit`` seconds."""
    end = time.monotonic() + limit
    while True:
        alive = {p: c for p, c in pids.items() if Path(f"/proc/{p}").exists()
                 and (Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[-1].split() or ["Z"])[0] != "Z"}
        if not alive or time.monotonic() > end:
            return alive
        time.sleep(0.2)


def _kill(proc: subprocess.Popen) -> dict:
    """SIGKILL the coordinator; return its descendants (fork server, grading processes, kernels) left after 10 s."""
    family = descendants(proc.pid)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    return still_running(family)


def _wait_for(cond, limit: float, what: str, proc=None):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if cond():
            return
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"the coordinator exited before {what}: {proc.communicate()[0][-3000:]}")
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def _results(root: Path) -> dict:
    out = {}
    for p in sorted((root / "grades" / T.A / "results").glob("*.json")):
        r = json.loads(p.read_text())
        r.pop("execution_time", None)
        r["extra_data"] = {k: v for k, v in r["extra_data"].items() if k not in VOLATILE}
        out[p.stem] = r
    return out


def _gradebook(root: Path) -> dict:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        return {s.student.id: {(g.notebook.name, g.cell.name): (g.auto_score, g.needs_manual_grade)
                               for nb in s.notebooks for g in nb.grades}
                for s in gb.find_assignment(T.A).submissions}


def _submission_rows(root: Path) -> dict:
    import sqlite3

    with sqlite3.connect(root / "gradebook.db") as db:
        return dict(db.execute("SELECT student_id, count(*) FROM submitted_assignment GROUP BY student_id"))


def _leftover_processes(markers: list[str]) -> list[str]:
    """Live processes whose command line or environment names one of ``markers`` (our course or TMPDIR)."""
    found = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit() or int(d.name) == os.getpid():
            continue
        try:
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            env = (d / "environ").read_bytes()
            state = (d / "stat").read_text().rsplit(")", 1)[-1].split()[0]
        except OSError:
            continue
        if state != "Z" and any(m in cmd or m.encode() in env for m in markers):
            found.append(f"{d.name}: {cmd[:200]}")
    return found


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("kill")
    built = _course(base / "built").root
    ref, killed = base / "ref", base / "killed"
    shutil.copytree(built, ref)
    shutil.copytree(built, killed)
    ref_tmp, kill_tmp = base / "tmp_ref", base / "tmp_killed"
    ref_tmp.mkdir()
    kill_tmp.mkdir()

    _run(ref, _env(ref_tmp))

    results_dir = killed / "grades" / T.A / "results"
    n_results = lambda: len(list(results_dir.glob("*.json"))) if results_dir.exists() else 0  # noqa: E731
    pids, log = [], []
    # 1. early: the fork server and the first grading processes are starting, nothing is merged yet
    p = _start(killed, _env(kill_tmp))
    pids.append(p.pid)
    _wait_for(lambda: any(kill_tmp.glob("autograder-*/job.json")), 300, "the first grading process", p)
    orphans = [_kill(p)]
    log.append(("early", n_results()))
    # 2. inside the gradebook transaction of "good" (rows updated, not committed)
    flag = base / "paused"
    p = _start(killed, _env(kill_tmp, AUTOGRADER_TEST_PAUSE=f"merge:good:{flag}"))
    pids.append(p.pid)
    _wait_for(flag.exists, 600, "the pause inside the gradebook write", p)
    orphans.append(_kill(p))
    log.append(("gradebook write", n_results()))
    good_after_pause = (results_dir / "good.json").exists()
    # 3. after some more results: two grading processes are usually running
    done = n_results()
    p = _start(killed, _env(kill_tmp))
    pids.append(p.pid)
    _wait_for(lambda: n_results() >= done + 2, 600, "two more results", p)
    orphans.append(_kill(p))
    log.append(("mid-batch", n_results()))
    final_out = _run(killed, _env(kill_tmp))
    return {"ref": ref, "killed": killed, "tmp": kill_tmp, "pids": pids, "log": log, "final_out": final_out,
            "good_after_pause": good_after_pause, "orphans": orphans}


def test_kills_hit_the_batch_at_different_points(runs):
    counts = dict(runs["log"])
    # the first kill lands while the first grading processes run (a fast unreadable notebook may already be saved)
    assert counts["early"] <= 1 and counts["early"] < counts["mid-batch"]
    assert not runs["good_after_pause"]  # killed inside its gradebook transaction: no result written
    assert counts["mid-batch"] >= counts["gradebook write"] + 2
    assert counts["mid-batch"] < 8, "the third kill came after the batch was done"
    assert "already graded with the same submission" in runs["final_out"]  # the rerun resumed


def test_final_outputs_equal_the_uninterrupted_run(runs):
    ref, killed = runs["ref"], runs["killed"]
    assert _results(killed) == _results(ref)
    assert len(_results(ref)) == 8
    assert (killed / "grades" / T.A / "grades.csv").read_text() == (ref / "grades" / T.A / "grades.csv").read_text()
    ref_summary = json.loads((ref / "grades" / T.A / "summary.json").read_text())["students"]
    kill_summary = json.loads((killed / "grades" / T.A / "summary.json").read_text())["students"]
    assert {s: (v["status"], v["score"]) for s, v in kill_summary.items()} == \
        {s: (v["status"], v["score"]) for s, v in ref_summary.items()}


def test_gradebook_equals_the_uninterrupted_run_one_row_each(runs):
    ref, killed = runs["ref"], runs["killed"]
    assert _gradebook(killed) == _gradebook(ref)
    assert _submission_rows(killed) == {s: 1 for s in _results(ref)}
    for sid in ("good", "buggy", "loop"):  # autograded/ notebooks rewritten, not duplicated
        files = sorted(p.name for p in (killed / "autograded" / sid / T.A).iterdir())
        assert files == sorted(p.name for p in (ref / "autograded" / sid / T.A).iterdir())


def test_killed_coordinator_takes_its_processes_along(runs):
    """Within 10 s of each SIGKILL, its fork server, grading processes and kernels are gone."""
    assert runs["orphans"] == [{}, {}, {}]


def test_nothing_left_behind(runs):
    tmp, killed = runs["tmp"], runs["killed"]
    markers = [str(tmp), str(killed)]
    end = time.monotonic() + 30
    while _leftover_processes(markers) and time.monotonic() < end:
        time.sleep(0.5)
    assert _leftover_processes(markers) == []
    assert sorted(p.name for p in tmp.iterdir()) == []
    owners = {str(pid) for pid in runs["pids"]}
    shm = Path("/dev/shm")
    stale = [p for p in (shm.glob("autograder-*") if shm.is_dir() else [])
             if (p / ".autograder-owner").exists() and (p / ".autograder-owner").read_text().split()[0] in owners]
    assert stale == []
