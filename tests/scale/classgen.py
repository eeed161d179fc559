"""A synthetic class of N `optimizers` submissions with a known expected status and score each.

Submission kinds (``kinds()``): the solution, mutants and correct variants from
the catalogue (tests/mutants/optimizers.py), a mutant with its nbgrader
metadata stripped (repaired by the grader), mangled JSON, an answer that never
finishes, and hostile attacks from the adversarial corpus (tests/adversarial).
Student ``s0007`` gets kind ``7 % len(kinds)``: every kind recurs, so a grader
that mixes up students, drops or duplicates one, or degrades with class size,
gives some student the wrong score.

Where the expectation comes from (never from the batch being checked):

- every notebook kind is graded ONCE, each in its own plain ``nbgrader
  autograde`` run in a scratch course (``reference``), nbgrader's own scores
  per cell: an oracle independent of ``python -m autograder grade``;
- ``timeout``: an answer cell that never returns is interrupted, so its
  function is never defined: expected = nbgrader's score of the same notebook
  with that cell raising at once (``undefined_<fn>``), status ``timed_out``;
- ``hostile_*``: an attack on a function's tests gains nothing: expected =
  nbgrader's score of the notebook with that function undefined; status
  ``flagged`` when the grader's published policy names the attack (see
  ``HOSTILE``), else ``graded``;
- ``stripped_*``: the mutant's own score (repair restores the metadata);
- ``mangled``: ``unreadable_notebook``, 0 points, by definition.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

from tests.helpers.nbgrader_course import ScratchCourse, grading_env, read_source, solution_submission

A = "optimizers"
LOOP = "while True:\n    pass\n"
UNDEFINED = "raise RuntimeError('this answer is not written yet')\n"

# attack name in tests/adversarial/attacks.py -> (attacked function, expected status): the policy scan
# (autograder/policy.py, rule tamper_class) flags a class that
# redefines __eq__/__iter__/__len__ in an answer cell, and the attack must gain no points either way
HOSTILE = {
    "eq_always_true": ("sgd", "flagged"),
}


@dataclass(frozen=True)
class Kind:
    name: str
    replace: dict | None = None      # answer grade id -> source (None: the raw bytes below)
    raw: bytes | None = None
    strip: bool = False
    status: str = "graded"
    oracle: str | None = None        # grade this kind's score from another kind's reference


def _strip(nb):
    nb = nbformat.from_dict(nb)
    for c in nb.cells:
        c.metadata.pop("nbgrader", None)
    return nb


def kinds(n_mutants: int = 8, n_correct: int = 2, hostile: bool = True) -> list[Kind]:
    """Distinct submission kinds: mutants spread over the functions (one per function first)."""
    from tests.mutants import optimizers as cat

    picked, seen = [], set()
    for m in cat.MUTANTS:  # one per function, then the rest in catalogue order
        if m.function not in seen:
            picked.append(m)
            seen.add(m.function)
    picked += [m for m in cat.MUTANTS if m not in picked]
    out = [Kind("solution", replace={})]
    out += [Kind(f"mutant_{m.name}", replace={m.function: m.code}) for m in picked[:n_mutants]]
    out += [Kind(f"correct_{v.name}", replace={v.function: v.code}) for v in cat.CORRECT[:n_correct]]
    first = picked[0]
    out.append(Kind(f"stripped_{first.name}", replace={first.function: first.code}, strip=True,
                    oracle=f"mutant_{first.name}"))
    out.append(Kind("mangled", raw=b'{"cells": [{"cell_type": "code", "source": "oops', status="unreadable_notebook"))
    out.append(Kind("undefined_sgd", replace={"sgd": UNDEFINED}))
    out.append(Kind("timeout_sgd", replace={"sgd": LOOP}, status="timed_out", oracle="undefined_sgd"))
    if hostile:
        from tests.adversarial import attacks

        by_name = {a["name"]: a for a in attacks.ATTACKS}
        for name, (fn, status) in HOSTILE.items():
            attack = by_name[name]
            out.append(Kind(f"hostile_{name}", replace=dict(attack["replace"]), status=status,
                            oracle=f"undefined_{fn}"))
    return out


def notebook(kind: Kind, source_nb):
    """The submission of ``kind``: a notebook, or bytes for the mangled kind."""
    if kind.raw is not None:
        return kind.raw
    nb = solution_submission(source_nb, kind.replace)
    return _strip(nb) if kind.strip else nb


def _write(folder: Path, data) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{A}.ipynb"
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        nbformat.write(data, str(path))


def new_course(root: Path) -> ScratchCourse:
    """A scratch course with the reduced optimizers notebook (setup + graded cells) generated."""
    course = ScratchCourse(Path(root), [A], reduced=True)
    course.generate(A)
    return course


def reference(root: Path, kinds_: list[Kind], cell_timeout: int, shards: int = 2) -> dict:
    """``{kind name: (status, score)}``: each notebook kind graded once by plain ``nbgrader autograde``.

    The kinds are dealt into ``shards`` scratch courses whose nbgrader runs go in parallel (one per core).
    """
    from concurrent.futures import ThreadPoolExecutor

    src = read_source(A, reduced=True)
    graded = [k for k in kinds_ if k.raw is None and k.oracle is None]

    def run_shard(i: int) -> dict:
        mine = graded[i::shards]
        if not mine:
            return {}
        course = new_course(Path(root) / f"shard{i}")
        for k in mine:
            _write(course.root / "submitted" / k.name / A, notebook(k, src))
        proc = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", A, "--force",
                               f"--ExecutePreprocessor.timeout={cell_timeout}", f"--Execute.timeout={cell_timeout}"],
                              cwd=course.root, env=grading_env(), capture_output=True, text=True, timeout=3600)
        if proc.returncode != 0:
            raise RuntimeError(f"reference nbgrader autograde failed:\n{proc.stderr[-4000:]}")
        return {k.name: course.result(A, k.name).total for k in mine}

    scores = {}
    with ThreadPoolExecutor(max_workers=shards) as pool:
        for part in pool.map(run_shard, range(shards)):
            scores.update(part)
    out = {}
    for k in kinds_:
        if k.raw is not None:
            out[k.name] = (k.status, 0.0)
        else:
            out[k.name] = (k.status, scores[k.oracle or k.name])
    return out


def build_class(course: ScratchCourse, n: int, kinds_: list[Kind]) -> dict:
    """Submit ``n`` students; return ``{student: kind name}``."""
    src = read_source(A, reduced=True)
    cache = {}
    assigned = {}
    for i in range(n):
        k = kinds_[i % len(kinds_)]
        if k.name not in cache:
            data = notebook(k, src)
            cache[k.name] = data if isinstance(data, bytes) else nbformat.writes(data).encode()
        sid = f"s{i:04d}"
        _write(course.root / "submitted" / sid / A, cache[k.name])
        assigned[sid] = k.name
    return assigned


def mismatches(course_root: Path, assigned: dict, expected: dict) -> list[str]:
    """Students whose results/<id>.json differs from the expectation of their kind (or is missing)."""
    folder = Path(course_root) / "grades" / A / "results"
    found = {p.stem for p in folder.glob("*.json")}
    bad = [f"{s}: no result" for s in sorted(set(assigned) - found)]
    bad += [f"{s}: result for a student not in the class" for s in sorted(found - set(assigned))]
    for sid, kind in sorted(assigned.items()):
        if sid not in found:
            continue
        r = json.loads((folder / f"{sid}.json").read_text())
        got = (r["extra_data"]["status"], round(float(r["score"]), 6))
        want = (expected[kind][0], round(float(expected[kind][1]), 6))
        if got != want:
            bad.append(f"{sid} ({kind}): got {got}, expected {want} ({r['extra_data'].get('reason')})")
    return bad


PEAK_WRAPPER = (
    "import atexit, sys, runpy\n"
    "def _peak():\n"
    "    for line in open('/proc/self/status'):\n"
    "        if line.startswith('VmHWM'):\n"
    "            sys.stderr.write('COORDINATOR_PEAK_KB ' + line.split()[1] + '\\n')\n"
    "atexit.register(_peak)\n"
    "sys.argv = ['autograder', *sys.argv[1:]]\n"
    "runpy.run_module('autograder', run_name='__main__')\n"
)


def grade_measured(root: Path, *args: str, timeout: float = 7200) -> tuple[subprocess.CompletedProcess, int, float]:
    """``python -m autograder grade ...`` with the coordinator's peak RSS (VmHWM, kB) and wall seconds."""
    import time

    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", PEAK_WRAPPER, "grade", A, *args], cwd=root, env=grading_env(),
                          capture_output=True, text=True, timeout=timeout)
    wall = time.monotonic() - t0
    peak = [int(line.split()[1]) for line in proc.stderr.splitlines() if line.startswith("COORDINATOR_PEAK_KB")]
    return proc, (peak[-1] if peak else 0), wall
