"""Which mutants fail a check a student can SEE (issue 17): the visible-checks runner.

The graded catalogue run (``runner.grade_catalogue``) goes through nbgrader with
the hidden tests in place. This one asks what a student learns before
submitting: it runs the test cells exactly as released (``release/<a>/<a>.ipynb``,
where nbgrader has already stripped every hidden test) against the instructor's
solution with one answer cell replaced by a mutant or a correct variant.

Results are cached per process, so several test modules can assert on one run.

One kernel per assignment (nbclient): the setup cell once, then for each
submission every answer cell (solution, or the replacement) followed by the
released test cells of the replaced function. A test cell belongs to the
function whose name is the longest prefix of its grade id after ``test_`` (so
``test_l2_regularization_grad_values`` is ``l2_regularization_grad``'s).

    python -m tests.mutants.visible linear_classifier      # prints the report

Returns per function: mutants caught by a visible check / mutants, and which
correct variants (wrongly) fail one.
"""

from __future__ import annotations

import functools
import importlib
import os
import sys
from dataclasses import dataclass, field

import nbformat
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from tests.helpers.nbgrader_course import REPO, is_setup_cell, nb_meta, read_source, strip_solution_markers

CELL_TIMEOUT = 300


@dataclass
class VisibleResult:
    assignment: str
    caught: dict = field(default_factory=dict)       # function -> [mutant names failing a visible check]
    missed: dict = field(default_factory=dict)       # function -> [mutant names passing every visible check]
    hint_seen: dict = field(default_factory=dict)    # mutant name -> its hint appears in a visible message
    messages: dict = field(default_factory=dict)     # mutant name -> {test grade id: visible failing message}
    correct_failing: dict = field(default_factory=dict)  # variant name -> failing message
    solution_failing: dict = field(default_factory=dict)  # grade id -> message (must stay empty)

    def fraction(self, function: str | None = None) -> float:
        fns = [function] if function else sorted(set(self.caught) | set(self.missed))
        c = sum(len(self.caught.get(f, [])) for f in fns)
        n = c + sum(len(self.missed.get(f, [])) for f in fns)
        return c / n if n else 1.0

    def report(self) -> str:
        fns = sorted(set(self.caught) | set(self.missed))
        total = sum(len(self.caught.get(f, [])) + len(self.missed.get(f, [])) for f in fns)
        lines = [f"{self.assignment}: {self.fraction():.0%} of {total} mutants fail a visible check"]
        for f in fns:
            c, m = len(self.caught.get(f, [])), len(self.missed.get(f, []))
            lines.append(f"  {f:<34} {c}/{c + m} ({self.fraction(f):.0%})"
                         + (f"  passes every visible check: {', '.join(self.missed[f])}" if m else ""))
        for name, msg in self.correct_failing.items():
            lines.append(f"  correct variant {name} FAILS a visible check: {msg}")
        for gid, msg in self.solution_failing.items():
            lines.append(f"  the solution FAILS visible check {gid}: {msg}")
        no_hint = [n for n, seen in self.hint_seen.items() if not seen]
        if no_hint:
            lines.append(f"  caught, but the visible message lacks the catalogue's hint: {', '.join(no_hint)}")
        return "\n".join(lines)


def _function_of(test_id: str, functions) -> str | None:
    rest = test_id[len("test_"):] if test_id.startswith("test_") else test_id
    owners = [f for f in functions if rest == f or rest.startswith(f + "_")]
    return max(owners, key=len) if owners else None


def _error(cell) -> str | None:
    for o in cell.get("outputs", []):
        if o.get("output_type") == "error":
            return f"{o.get('ename')}: {o.get('evalue')}"
    return None


@functools.lru_cache(maxsize=None)
def run_visible(assignment: str) -> VisibleResult:
    cat = importlib.import_module(f"tests.mutants.{assignment}")
    source = read_source(assignment)
    release = nbformat.read(REPO / "release" / assignment / f"{assignment}.ipynb", as_version=4)
    setup = [c.source for c in release.cells if c.cell_type == "code" and is_setup_cell(c)]
    answers = [(nb_meta(c)["grade_id"], strip_solution_markers(c.source))
               for c in source.cells if c.cell_type == "code" and nb_meta(c).get("solution")]
    functions = [gid for gid, _ in answers]
    tests = {}
    for c in release.cells:
        m = nb_meta(c)
        if c.cell_type == "code" and m.get("grade") and not m.get("solution"):
            tests.setdefault(_function_of(m["grade_id"], functions), []).append((m["grade_id"], c.source))
    res = VisibleResult(assignment)
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    client = NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(REPO / "release" / assignment)}})

    def run(src: str):
        cell = new_code_cell(src)
        nb.cells.append(cell)
        client.execute_cell(cell, len(nb.cells) - 1)
        return _error(cell)

    def submission(function: str, code: str | None) -> dict:
        """Define every answer (``code`` replacing ``function``'s), run its visible checks."""
        for gid, src in answers:
            err = run(code if (gid == function and code is not None) else src)
            if err and gid == function:
                return {"<answer cell>": err}
        return {gid: e for gid, src in tests.get(function, []) if (e := run(src))}

    saved = os.environ.get("COURSE_HEADLESS")
    os.environ["COURSE_HEADLESS"] = "1"
    try:
        with client.setup_kernel():
            for src in setup:
                if err := run(src):
                    raise RuntimeError(f"{assignment}: the setup cell failed: {err}")
            for f in functions:
                res.solution_failing.update(submission(f, None))
            for v in cat.CORRECT:
                failing = submission(v.function, v.code)
                if failing:
                    res.correct_failing[v.name] = "; ".join(f"{k}: {m[:200]}" for k, m in failing.items())
            for mu in cat.MUTANTS:
                failing = submission(mu.function, mu.code)
                (res.caught if failing else res.missed).setdefault(mu.function, []).append(mu.name)
                res.messages[mu.name] = failing
                if failing and mu.hint:
                    res.hint_seen[mu.name] = any(mu.hint.lower() in m.lower() for m in failing.values())
    finally:
        if saved is None:
            os.environ.pop("COURSE_HEADLESS", None)
        else:
            os.environ["COURSE_HEADLESS"] = saved
    return res


if __name__ == "__main__":
    for a in sys.argv[1:] or ["regularization", "gradients", "optimizers", "linear_classifier"]:
        print(run_visible(a).report(), flush=True)
