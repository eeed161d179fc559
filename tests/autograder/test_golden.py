"""Golden files: every command's ``--help`` and a graded batch's outputs stay the same.

The proof that a refactoring of ``autograder/`` changed no user-facing behavior:
the help text of every subcommand, and what ``grade``, ``export`` and ``report``
write for a fixed batch of submissions (``grades.csv``, ``results/*.json``,
``summary.json``, ``lms.csv``, ``report.json``), compared with files recorded
under ``tests/autograder/golden/``. Timing fields, dates, the sandbox line and
the scratch folder's path vary between runs: their keys are compared, not their
values.

After an intended change of a help text or an output format, rewrite the golden
files and review the diff::

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/autograder/test_golden.py
"""

from __future__ import annotations

import csv
import difflib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tests.autograder import feedback_batch as FB
from tests.helpers.nbgrader_course import grading_env, solution_submission

GOLDEN = Path(__file__).with_name("golden")
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
COMMANDS = ["collect", "grade", "release", "demo", "export", "feedback", "report", "gradescope", "bundle",
            "publish"]
#: Values that change from run to run (timing, dates, host and sandbox, paths): compared as present/absent.
VOLATILE = {"execution_time", "graded_at", "cell_seconds", "sandbox", "wall_seconds", "finished_at",
            "output_dir", "seconds", "grading_seconds", "generated_at", "workers",
            "submission_sha256"}  # the blank submission is a fresh release: new cell ids each run


def _env() -> dict:
    env = grading_env()
    env["COLUMNS"] = "100"    # argparse wraps help text at the terminal width
    env.pop("LINES", None)
    return env


def _check(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return
    assert path.exists(), f"no golden file {path}; record it with UPDATE_GOLDEN=1"
    want = path.read_text()
    diff = "".join(difflib.unified_diff(want.splitlines(True), text.splitlines(True), "golden", "now", n=2))
    assert text == want, f"{name} differs from its golden file (re-record with UPDATE_GOLDEN=1 if intended):\n{diff}"


def _run(*args, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder", *args], cwd=cwd, env=_env(), capture_output=True,
                          text=True, timeout=1200)


# --- help texts ----------------------------------------------------------------------------------

@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help_text_is_unchanged(command):
    proc = _run(*([command] if command else []), "--help")
    assert proc.returncode == 0, proc.stderr
    _check(f"help/{command or 'autograder'}.txt", proc.stdout)


# --- a graded batch ------------------------------------------------------------------------------

FLAGGED = "import sys\nsys.settrace(None)\ndef add(a, b):\n    return a + b\n"


def _students(course) -> dict:
    subs = FB.submissions(course)
    keep = {s: subs[s] for s in ("good", "buggy_add", "blank", "late", "looper", "mangled")}
    src = course.source_nb(FB.ASSIGNMENT)
    keep["flagged"] = (solution_submission(src, {"add": FLAGGED}), subs["good"][1])
    return keep


def _normalize(value, root: str):
    if isinstance(value, dict):
        return {k: ("<volatile>" if k in VOLATILE and v is not None else _normalize(v, root))
                for k, v in value.items()}
    if isinstance(value, list):
        return [_normalize(v, root) for v in value]
    if isinstance(value, str):
        return value.replace(root, "<ROOT>")
    return value


def _json_text(path: Path, root: str) -> str:
    return json.dumps(_normalize(json.loads(path.read_text()), root), indent=1, sort_keys=True) + "\n"


@pytest.fixture(scope="module")
def golden_batch(tmp_path_factory):
    root = tmp_path_factory.mktemp("golden") / "course"
    course = FB.build_course(root, students={})
    for sid, (nb, stamp) in _students(course).items():
        dest = course.root / "submitted" / sid / FB.ASSIGNMENT
        dest.mkdir(parents=True, exist_ok=True)
        if isinstance(nb, bytes):
            (dest / f"{FB.ASSIGNMENT}.ipynb").write_bytes(nb)
        else:
            nbformat.write(nb, str(dest / f"{FB.ASSIGNMENT}.ipynb"))
        (dest / "timestamp.txt").write_text(stamp.strftime("%Y-%m-%d %H:%M:%S.%f UTC"))
    runs = {
        "grade": _run("--course-dir", str(root), "grade", FB.ASSIGNMENT, "--workers", "2", "--no-progress",
                      "--timeout-cell", "5"),
        "export": _run("export", FB.ASSIGNMENT, "--root", str(root)),
        "report": _run("report", FB.ASSIGNMENT, cwd=root),
    }
    for name, proc in runs.items():
        assert proc.returncode == 0, f"{name}: {proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return root, runs


@pytest.mark.slow
@pytest.mark.xdist_group("autograder")
def test_batch_outputs_are_unchanged(golden_batch):
    root, runs = golden_batch
    out = root / "grades" / FB.ASSIGNMENT
    r = str(root)
    _check("batch/grades.csv", (out / "grades.csv").read_text())
    _check("batch/lms.csv", (out / "lms.csv").read_text())
    _check("batch/summary.json", _json_text(out / "summary.json", r))
    _check("batch/report.json", _json_text(out / "report.json", r))
    results = sorted(p.name for p in (out / "results").glob("*.json"))
    _check("batch/results.txt", "\n".join(results) + "\n")
    for name in results:
        _check(f"batch/results/{name}", _json_text(out / "results" / name, r))
    _check("batch/export.stdout", runs["export"].stdout.replace(r, "<ROOT>"))
    _check("batch/report.stdout", runs["report"].stdout.replace(r, "<ROOT>"))


@pytest.mark.slow
@pytest.mark.xdist_group("autograder")
def test_golden_batch_covers_every_status_but_the_rare_ones(golden_batch):
    """The recorded batch is worth comparing: it holds the statuses and penalties the reports branch on."""
    root, _ = golden_batch
    rows = list(csv.DictReader(io.StringIO((root / "grades" / FB.ASSIGNMENT / "grades.csv").read_text())))
    assert {r["status"] for r in rows} >= {"graded", "flagged", "timed_out", "unreadable_notebook"}
    lms = {r["student_id"]: r for r in csv.DictReader(io.StringIO(
        (root / "grades" / FB.ASSIGNMENT / "lms.csv").read_text()))}
    assert float(lms["late"]["late_penalty"]) > 0
