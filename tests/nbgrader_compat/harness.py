"""Grade one scratch nbgrader course two ways and compare what each left in its gradebook.

A :class:`Scenario` is a small nbgrader course: ``source/ps1/`` (instructor notebooks and files), an
optional due date, a few students under ``submitted/<student>/ps1/`` and lines appended to a plain
``nbgrader_config.py`` (nbgrader's defaults otherwise, as in nbgrader's own tests). :func:`run_scenario`
builds it once, runs ``nbgrader generate_assignment``, copies the course twice and grades

- copy ``nbgrader/`` with plain ``python -m nbgrader autograde ps1`` (the reference), and
- copy ``project/`` with ``python -m autograder grade ps1 --workers 2 --no-progress`` (this project's grader),

then runs ``nbgrader generate_feedback ps1`` in both and reads both back through nbgrader's own API
(:func:`snapshot`). :func:`diff` lists every difference, one row per student / notebook / cell / field;
:func:`consistency` checks the project's own outputs (``grades/ps1/grades.csv``, ``results/*.json``)
against the project's gradebook. Nothing here knows how the project grades: only its command line and
its documented outputs are used, so the comparison survives refactors of ``autograder/``.
"""

from __future__ import annotations

import csv
import fnmatch
import hashlib
import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Union

import nbformat

from tests.helpers.nbgrader_course import grading_env as _suite_env

FILES = Path(__file__).resolve().parent / "files"
ASSIGNMENT = "ps1"
#: nbgrader's defaults, like nbgrader's own tests (which append to an almost empty config).
BASE_CONFIG = "c = get_config()\n"
#: A due date as nbgrader's tests write it (``nbgrader db assignment add --duedate``).
DUEDATE = "2015-02-02 14:58:23.948203 America/Los_Angeles"

#: What a file in a scenario is: a fixture name under files/, raw bytes or text, a notebook node, or a
#: callable ``f(course: Path) -> any of those`` evaluated after ``generate_assignment`` (so it can read
#: ``release/``).
Src = Union[str, bytes, nbformat.NotebookNode, Callable]


@dataclass(frozen=True)
class Deliberate:
    """A difference the project makes on purpose: ``pattern`` matches :func:`diff` row keys."""

    pattern: str
    why: str


@dataclass
class Scenario:
    name: str
    doc: str
    source: dict                                  # relpath under source/ps1 -> Src
    students: dict                                # student -> {relpath under submitted/<student>/ps1: Src}
    config: str = ""                              # appended to nbgrader_config.py
    course_files: dict = field(default_factory=dict)  # relpath under the course root -> Src
    duedate: str | None = None
    deliberate: tuple = ()                        # Deliberate differences, each with its own reason
    origin: str = ""                              # the nbgrader test(s) the scenario rebuilds


# --- fixtures -------------------------------------------------------------------------------------

def fixture(name: str) -> bytes:
    return (FILES / name).read_bytes()


def fixture_nb(name: str) -> nbformat.NotebookNode:
    return nbformat.reads(fixture(name).decode("utf-8"), as_version=4)


def meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def edited(nb, sources: dict | None = None, drop=(), keep_checksums: bool = True) -> nbformat.NotebookNode:
    """A copy of ``nb`` with the cells named in ``sources`` (grade ids) given new source, ``drop`` removed."""
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    missing = set(sources or {}) | set(drop)
    cells = []
    for cell in nb.cells:
        gid = meta(cell).get("grade_id")
        missing.discard(gid)
        if gid in drop:
            continue
        if sources and gid in sources:
            cell.source = sources[gid]
        if not keep_checksums:
            meta(cell).pop("checksum", None)
        cells.append(cell)
    if missing:
        raise KeyError(f"no cell with grade_id {sorted(missing)} in the notebook")
    nb.cells = cells
    return nb


def released(notebook: str, sources: dict | None = None) -> Callable:
    """The student version from ``release/ps1/<notebook>.ipynb``, optionally with some cells answered."""
    def make(course: Path):
        nb = nbformat.read(str(course / "release" / ASSIGNMENT / f"{notebook}.ipynb"), as_version=4)
        return edited(nb, sources) if sources else nb
    return make


def _materialize(src: Src, course: Path) -> bytes:
    if callable(src) and not isinstance(src, (str, bytes, nbformat.NotebookNode)):
        src = src(course)
    if isinstance(src, nbformat.NotebookNode):
        return nbformat.writes(src).encode("utf-8")
    if isinstance(src, bytes):
        return src
    if isinstance(src, str):
        if src.startswith("text:"):
            return src[len("text:"):].encode("utf-8")
        return fixture(src)
    raise TypeError(f"cannot turn {type(src).__name__} into a file")


# --- running ------------------------------------------------------------------------------------

def grading_env() -> dict:
    """The test suite's grading environment, always headless (nbgrader's fixtures have no widgets)."""
    env = _suite_env()
    env["COURSE_HEADLESS"] = "1"
    return env


@dataclass
class Run:
    args: list
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    def describe(self) -> str:
        return (f"`{' '.join(self.args)}` exited {self.returncode} after {self.seconds:.1f} s\n"
                f"--- stdout ---\n{self.stdout[-4000:]}\n--- stderr ---\n{self.stderr[-4000:]}")


def _start(args, cwd: Path) -> tuple:
    proc = subprocess.Popen([sys.executable, "-m", *args], cwd=cwd, env=grading_env(), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return proc, list(args), time.monotonic()


def _finish(started, timeout: float = 900) -> Run:
    proc, args, t0 = started
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        err += f"\n[harness: killed after {timeout} s]"
    return Run(args, proc.returncode, out, err, time.monotonic() - t0)


def run(args, cwd: Path, timeout: float = 900) -> Run:
    return _finish(_start(args, cwd), timeout)


def run_together(jobs: dict, timeout: float = 900) -> dict:
    """Run ``{key: (args, cwd)}`` concurrently; ``{key: Run}`` with each command's own duration."""
    from concurrent.futures import ThreadPoolExecutor

    started = {k: _start(args, cwd) for k, (args, cwd) in jobs.items()}
    with ThreadPoolExecutor(len(started)) as pool:
        futures = {k: pool.submit(_finish, s, timeout) for k, s in started.items()}
        return {k: f.result() for k, f in futures.items()}


def must(r: Run) -> Run:
    if r.returncode != 0:
        raise RuntimeError(r.describe())
    return r


NBGRADER_GRADE = ["nbgrader", "autograde", ASSIGNMENT]
PROJECT_GRADE = ["autograder", "grade", ASSIGNMENT, "--workers", "2", "--no-progress"]
FEEDBACK = ["nbgrader", "generate_feedback", ASSIGNMENT]


def build(scenario: Scenario, base: Path) -> Path:
    """The scenario's course in ``base``, generated and submitted (not graded)."""
    base.mkdir(parents=True)
    (base / "nbgrader_config.py").write_text(BASE_CONFIG + scenario.config)
    for rel, src in scenario.course_files.items():
        (base / rel).parent.mkdir(parents=True, exist_ok=True)
        (base / rel).write_bytes(_materialize(src, base))
    for rel, src in scenario.source.items():
        p = base / "source" / ASSIGNMENT / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(_materialize(src, base))
    if scenario.duedate:
        must(run(["nbgrader", "db", "assignment", "add", ASSIGNMENT, f"--duedate={scenario.duedate}"], base))
    must(run(["nbgrader", "generate_assignment", ASSIGNMENT], base))
    for student, files in scenario.students.items():
        for rel, src in files.items():
            p = base / "submitted" / student / ASSIGNMENT / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(_materialize(src, base))
    return base


@dataclass
class Outcome:
    scenario: Scenario
    root: Path
    runs: dict            # "nbgrader" / "project" / "feedback:nbgrader" / "feedback:project" -> Run
    snapshots: dict       # "nbgrader" / "project" -> snapshot dict

    def rows(self) -> list:
        return diff(self.snapshots["nbgrader"], self.snapshots["project"])

    def undocumented(self) -> list:
        """Differences not covered by a Deliberate pattern."""
        return [r for r in self.rows() if not any(fnmatch.fnmatchcase(r[0], d.pattern) for d in self.scenario.deliberate)]

    def unused_deliberate(self) -> list:
        """Documented differences that did not happen (the documentation is stale)."""
        keys = [r[0] for r in self.rows()]
        return [d for d in self.scenario.deliberate if not any(fnmatch.fnmatchcase(k, d.pattern) for k in keys)]

    def project_status(self) -> dict:
        """The project's per-student status and reason (summary.json), for the diff table."""
        p = self.root / "project" / "grades" / ASSIGNMENT / "summary.json"
        if not p.exists():
            return {}
        return {s: (v["status"], v.get("reason") or "") for s, v in json.loads(p.read_text())["students"].items()}


def run_scenario(scenario: Scenario, root: Path) -> Outcome:
    """Build, grade both ways (concurrently), generate feedback in both and snapshot both."""
    base = build(scenario, Path(root) / "base")
    copies = {}
    for way in ("nbgrader", "project"):
        copies[way] = Path(root) / way
        shutil.copytree(base, copies[way], symlinks=True)
    runs = run_together({"nbgrader": (NBGRADER_GRADE, copies["nbgrader"]),
                         "project": (PROJECT_GRADE, copies["project"])})
    runs.update(run_together({f"feedback:{way}": (FEEDBACK, copies[way]) for way in copies}))
    snaps = {way: snapshot(copies[way], list(scenario.students), runs[way], runs[f"feedback:{way}"])
             for way in copies}
    return Outcome(scenario, Path(root), runs, snaps)


# --- reading a graded course back -----------------------------------------------------------------

def _num(x):
    return None if x is None else round(float(x), 6)


def _files(folder: Path) -> dict:
    """relpath -> content digest (notebooks: just "notebook", their outputs differ by run)."""
    out = {}
    if folder.is_dir():
        for f in sorted(folder.rglob("*")):
            if f.is_file():
                rel = str(f.relative_to(folder))
                out[rel] = "notebook" if f.suffix == ".ipynb" else hashlib.sha256(f.read_bytes()).hexdigest()[:12]
    return out


def snapshot(course: Path, students: list, grade_run: Run, feedback_run: Run) -> dict:
    """Everything nbgrader's API and the course folder say about the graded assignment."""
    from nbgrader.api import Gradebook, MissingEntry

    snap = {"exit_nonzero": grade_run.returncode != 0, "feedback_ok": feedback_run.returncode == 0,
            "students": {}}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        known = sorted({s.id for s in gb.students} | set(students))
        for sid in known:
            st = {"submission": False, "autograded": _files(course / "autograded" / sid / ASSIGNMENT),
                  "feedback": sorted(_files(course / "feedback" / sid / ASSIGNMENT))}
            try:
                sub = gb.find_submission(ASSIGNMENT, sid)
            except MissingEntry:
                snap["students"][sid] = st
                continue
            st["submission"] = True
            st["late"] = sub.total_seconds_late > 0
            st["notebooks"] = {}
            for snb in sub.notebooks:
                cells = {}
                for g in snb.grades:
                    cells[g.cell.name] = {
                        "auto_score": _num(g.auto_score), "manual_score": _num(g.manual_score),
                        "needs_manual_grade": bool(g.needs_manual_grade), "max_score": _num(g.max_score),
                    }
                comments = {c.cell.name: c.comment for c in snb.comments}
                for name, text in comments.items():
                    cells.setdefault(name, {})["comment"] = text
                st["notebooks"][snb.name] = {"late_penalty": _num(snb.late_submission_penalty), "cells": cells}
            snap["students"][sid] = st
    return snap


def _flatten(obj, prefix: str = "") -> dict:
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            out.update(_flatten(v, f"{prefix}/{k}" if prefix else str(k)))
        return out
    if isinstance(obj, list):
        return {prefix: ", ".join(map(str, obj)) or "-"}
    return {prefix: obj}


ABSENT = "<absent>"


def diff(a: dict, b: dict) -> list:
    """``[(key, a_value, b_value)]`` for every field that differs; keys look like
    ``students/<sid>/notebooks/<nb>/cells/<cell>/auto_score`` or ``students/<sid>/autograded/<file>``."""
    fa, fb = _flatten(a), _flatten(b)
    rows = []
    for key in sorted(set(fa) | set(fb)):
        va, vb = fa.get(key, ABSENT), fb.get(key, ABSENT)
        if va != vb:
            rows.append((key, va, vb))
    return rows


# --- the project's own outputs against its gradebook ----------------------------------------------

def consistency(course: Path) -> list:
    """Disagreements between ``grades/ps1`` (grades.csv, results/*.json) and the course gradebook.

    For every student with a results file: each test's score equals the gradebook's score of that grade
    cell, the total equals the gradebook's total minus its late penalty, and grades.csv says the same.
    A student with no submission row in the gradebook must not have points in the results.
    """
    from nbgrader.api import Gradebook, MissingEntry

    out_dir = course / "grades" / ASSIGNMENT
    problems = []
    results = {p.stem: json.loads(p.read_text()) for p in sorted((out_dir / "results").glob("*.json"))}
    table = {}
    if (out_dir / "grades.csv").exists():
        with open(out_dir / "grades.csv", newline="") as fh:
            table = {row["student_id"]: row for row in csv.DictReader(fh)}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for sid, r in results.items():
            row = table.get(sid)
            if row is None:
                problems.append(f"{sid}: in results/ but not in grades.csv")
            elif abs(float(row["score"]) - r["score"]) > 1e-6:
                problems.append(f"{sid}: grades.csv score {row['score']} != results.json {r['score']}")
            try:
                sub = gb.find_submission(ASSIGNMENT, sid)
            except MissingEntry:
                if r["score"] > 0:
                    problems.append(f"{sid}: results.json gives {r['score']:g} but the gradebook has no submission")
                continue
            scores = {}
            for snb in sub.notebooks:
                for g in snb.grades:
                    scores[g.cell.name] = float(g.score or 0.0)
            for t in r["tests"]:
                gbs = scores.get(t["name"])
                if gbs is None:
                    problems.append(f"{sid}/{t['name']}: in results.json, not a grade cell of the gradebook")
                elif abs(gbs - t["score"]) > 1e-6:
                    problems.append(f"{sid}/{t['name']}: results.json {t['score']:g} != gradebook {gbs:g}")
                if row is not None and t["name"] in row and row[t["name"]] != "" \
                        and abs(float(row[t["name"]]) - t["score"]) > 1e-6:
                    problems.append(f"{sid}/{t['name']}: grades.csv {row[t['name']]} != results.json {t['score']:g}")
            total = max(0.0, float(sub.score) - float(sub.late_submission_penalty or 0.0))
            if abs(total - r["score"]) > 1e-6:
                problems.append(f"{sid}: results.json total {r['score']:g} != gradebook score {float(sub.score):g}"
                                f" - late penalty {float(sub.late_submission_penalty or 0.0):g} = {total:g}")
    return problems


# --- reporting ----------------------------------------------------------------------------------

def table(outcome: Outcome) -> str:
    """The per-cell diff table, plus the project's consistency problems and both commands' exit codes."""
    lines = [f"scenario {outcome.scenario.name}: {outcome.scenario.doc}"]
    for key in ("nbgrader", "project", "feedback:nbgrader", "feedback:project"):
        r = outcome.runs[key]
        lines.append(f"  {key:18s} exit {r.returncode}  ({r.seconds:.1f} s)")
        if r.returncode != 0:
            tail = [ln.strip() for ln in (r.stderr + "\n" + r.stdout).splitlines() if ln.strip()][-2:]
            lines.extend(f"      | {ln[:200]}" for ln in tail)
    status = outcome.project_status()
    if status:
        lines.append("  project statuses: " + "; ".join(f"{s}={st}" + (f" ({why[:140]})" if why else "")
                                                       for s, (st, why) in status.items()))
    rows = outcome.rows()
    if not rows:
        lines.append("  no differences")
    else:
        w = max(len(r[0]) for r in rows)
        lines.append(f"  {'field':{w}s}  {'nbgrader':>14s}  {'project':>14s}  note")
        for key, va, vb in rows:
            note = next((d.why for d in outcome.scenario.deliberate if fnmatch.fnmatchcase(key, d.pattern)), "")
            lines.append(f"  {key:{w}s}  {str(va):>14s}  {str(vb):>14s}  {('deliberate: ' + note) if note else ''}")
    problems = consistency(outcome.root / "project")
    lines.append("  project results vs its gradebook: " + ("consistent" if not problems else f"{len(problems)} problem(s)"))
    lines.extend(f"    {p}" for p in problems)
    return "\n".join(lines)
