"""The adversarial corpus through ``python -m autograder grade`` (one batch, two workers).

For every attack: the attacked tests score no more than the honest blank
submission; nothing outside the allowed places changes (source/, release/,
submitted/, other students' results and gradebook rows, canary files); secrets
(a canary outside the course, a file in the course folder, the hidden-test
marker) never reach any output; no network connection arrives; the batch never
aborts. Fairness cases keep full marks and are not flagged.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import socket
import subprocess
import sys
import threading
from pathlib import Path

import nbformat
import pytest

from autograder.grading import sandbox
from tests.adversarial import attacks as corpus
from tests.adversarial.build import build
from tests.adversarial.course import A, FUNCTIONS, HIDDEN_MARKER, source_cells
from tests.helpers.nbgrader_course import REPO, ScratchCourse, grading_env

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("adversarial")]

CELL_TIMEOUT = 15
BYSTANDER = "bystander"


class _Listener:
    """A local TCP server that counts connections (there must be none)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.5)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
                self.connections += 1
                conn.close()
            except OSError:
                continue

    def close(self):
        self._stop = True
        self.thread.join(2)
        self.sock.close()


def _grade(root: Path, *extra) -> subprocess.CompletedProcess:
    env = grading_env()
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    cmd = [sys.executable, "-m", "autograder", "--course-dir", str(root), "grade", A, "--no-progress",
           "--timeout-cell", str(CELL_TIMEOUT), "--timeout-notebook", "150", *extra]
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=1500)


def _snapshot(root: Path, allowed) -> dict:
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and not allowed(p.relative_to(root)):
            out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def _gradebook_rows(root: Path, student: str) -> list:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        sub = gb.find_submission(A, student)
        return sorted((g.cell.name, g.auto_score, g.manual_score) for nb in sub.notebooks for g in nb.grades)


def _outputs_text(root: Path) -> str:
    """Everything a student or TA can see after grading: results, tables, autograded outputs."""
    parts = []
    for p in (root / "grades").rglob("*"):
        if p.is_file():
            parts.append(p.read_text(errors="replace"))
    for p in (root / "autograded").rglob("*.ipynb"):
        nb = nbformat.read(str(p), as_version=4)
        parts.extend(json.dumps(c.get("outputs", [])) for c in nb.cells if c.cell_type == "code")
    return "\n".join(parts)


def _scores_by_function(result: dict) -> dict:
    from autograder.results import function_of_test

    per = {}
    for t in result["tests"]:
        fn = function_of_test(t["name"], FUNCTIONS)
        s, m = per.get(fn, (0.0, 0.0))
        per[fn] = (s + t["score"], m + t["max_score"])
    return per


def test_adversarial_corpus(tmp_path):
    sandboxed, why = sandbox.probe()
    entries = [e for e in corpus.ATTACKS if sandboxed or not e.get("dangerous")]
    assert len(entries) >= 25 or not sandboxed

    root = tmp_path / "course"
    src = nbformat.v4.new_notebook(cells=source_cells())
    src.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    course = ScratchCourse(root, [A], source_nbs={A: src})
    release = course.generate(A)
    source_nb = course.source_nb(A)

    token_outside, token_inside = secrets.token_hex(16), secrets.token_hex(16)
    canary = tmp_path / "outside" / "secret.txt"
    canary.parent.mkdir()
    canary.write_text(f"CANARY {token_outside}")
    (root / "instructor_notes.txt").write_text(f"NOTES {token_inside}")
    listener = _Listener()
    ctx = {"COURSE": root, "CANARY": canary, "PORT": listener.port, "VICTIM": BYSTANDER,
           "SLOW": round(CELL_TIMEOUT * 0.6, 1)}

    # A student graded in an earlier run: its rows and results must survive the batch untouched.
    course.submit(A, BYSTANDER, build({"solution": True}, release, source_nb, ctx))
    first = _grade(root, "--workers", "1")
    assert first.returncode == 0, first.stderr[-3000:]
    bystander_rows = _gradebook_rows(root, BYSTANDER)
    assert sum(r[1] or 0 for r in bystander_rows) == 4, bystander_rows

    course.submit(A, "blank", release)
    for e in entries + corpus.FAIRNESS:
        course.submit(A, e["name"], build(e, release, source_nb, ctx))
    graded_now = {"blank"} | {e["name"] for e in entries + corpus.FAIRNESS}

    def allowed(rel: Path) -> bool:
        parts = rel.parts
        if parts[0] == "gradebook.db" or parts[0].startswith("gradebook.db-"):
            return True
        if parts[:2] == ("grades", A) and (len(parts) == 3 or (parts[2] == "results" and
                                                                 Path(parts[-1]).stem in graded_now)):
            return True
        return parts[0] == "autograded" and len(parts) > 1 and parts[1] in graded_now

    before = _snapshot(root, allowed)
    canary_before = canary.read_bytes()
    try:
        proc = _grade(root, "--workers", "2")
    finally:
        listener.close()
    after = _snapshot(root, allowed)

    results = {}
    for p in (root / "grades" / A / "results").glob("*.json"):
        results[p.stem] = json.loads(p.read_text())
    aborts = int(proc.returncode != 0) + len(graded_now - set(results))
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    changed += ["<canary outside the course>"] if canary.read_bytes() != canary_before else []
    changed += ["<bystander gradebook rows>"] if _gradebook_rows(root, BYSTANDER) != bystander_rows else []

    blank = _scores_by_function(results["blank"]) if "blank" in results else {}
    inflated, problems = [], []
    for e in entries:
        r = results.get(e["name"])
        if r is None:
            continue
        per = _scores_by_function(r)
        targets = FUNCTIONS if e["attacks"] == corpus.ALL else e["attacks"]
        for fn in targets:
            if per[fn][0] > blank[fn][0]:
                inflated.append(f"{e['name']}: {fn} scored {per[fn][0]} > blank {blank[fn][0]}")
        for fn in e.get("keep_correct", ()):
            if r["extra_data"]["status"] != "kernel_died" and per[fn][0] != per[fn][1]:
                problems.append(f"{e['name']}: the honest function {fn} lost points {per[fn]} "
                                f"({r['extra_data']['status']}: {r['extra_data']['reason']})")
    for e in corpus.FAIRNESS:
        r = results.get(e["name"])
        if r is None or r["score"] != r["extra_data"]["max_score"] or r["extra_data"]["status"] != "graded":
            problems.append(f"fairness case {e['name']} did not keep full marks: "
                            f"{r and (r['score'], r['extra_data']['status'], r['extra_data']['reason'])}")

    seen = _outputs_text(root)
    leaks = [name for name, tok in (("canary outside the course", token_outside),
                                    ("file in the course folder", token_inside),
                                    ("hidden-test marker in outputs", HIDDEN_MARKER)) if tok in seen]
    big = [p.name for p in (root / "grades" / A / "results").glob("*.json") if p.stat().st_size > 300_000]
    big += [str(p.relative_to(root)) for p in (root / "autograded").rglob("*.ipynb") if p.stat().st_size > 2_000_000]

    print(f"\nadversarial corpus ({'sandboxed' if sandboxed else 'UNSANDBOXED: ' + why}): "
          f"attacks tried: {len(entries)}, inflated scores: {len(inflated)}, files changed outside the allowed "
          f"places: {len(changed)}, batch aborts: {aborts}, fairness cases: {len(corpus.FAIRNESS)}, "
          f"leaks: {len(leaks)}, network connections: {listener.connections}")
    for name in sorted(results):
        x = results[name]["extra_data"]
        print(f"  {name:34s} {x['status']:12s} {results[name]['score']:g}/{x['max_score']:g}  "
              f"{(x.get('reason') or '')[:110]}")
    if proc.returncode != 0:
        print(proc.stdout[-3000:], proc.stderr[-3000:])

    assert aborts == 0, f"the batch aborted or lost students: rc={proc.returncode}, missing {graded_now - set(results)}"
    assert not inflated, inflated
    assert not changed, changed
    assert not problems, problems
    assert not big, f"outputs not capped: {big}"
    if sandboxed:
        assert not leaks, leaks
        assert listener.connections == 0
