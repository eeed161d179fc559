"""Run a mutant catalogue against the RELEASE notebook's visible checks only.

For each function of the catalogue this builds one notebook from
``release/<assignment>/<assignment>.ipynb``: the setup cell, then for every
mutant and correct variant of that function its answer cell (the catalogue
code) followed by the release's test cells of that function (``test_<f>*``:
the visible checks; the release has no hidden tests). The notebook is executed
with nbclient (errors allowed, one kernel per function), and each test cell
that ends in an error counts as a failed visible check.

    python -m tests.mutants.visible optimizers          # fractions per function

``visible_results`` returns ``{entry name: Outcome}``; ``summary`` the
fractions per function. Test cells are self-contained (spec §3), so one
kernel can take the entries of a function one after another.
"""

from __future__ import annotations

import copy
import importlib
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Outcome:
    name: str
    function: str
    kind: str  # "mutant" or "correct"
    failed: dict = field(default_factory=dict)  # grade id -> "Ename: message"
    checks: int = 0

    @property
    def caught(self) -> bool:
        return bool(self.failed)


def _grade_id(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def build_notebooks(assignment: str, catalogue=None, release_dir: Path | None = None):
    """``{function: (notebook, [(entry, kind, [test cell indices])])}`` built from the release notebook."""
    cat = catalogue or importlib.import_module(f"tests.mutants.{assignment}")
    path = (release_dir or REPO / "release" / assignment) / f"{assignment}.ipynb"
    nb = nbformat.read(str(path), as_version=4)
    setup = [c for c in nb.cells if "setup" in c.metadata.get("tags", []) or _grade_id(c) == "setup"]
    out = {}
    entries = [(m, "mutant") for m in cat.MUTANTS] + [(v, "correct") for v in cat.CORRECT]
    for fn in dict.fromkeys(e.function for e, _ in entries):
        tests = [c for c in nb.cells if (_grade_id(c) or "").startswith(f"test_{fn}")
                 and c.metadata.get("nbgrader", {}).get("grade")]
        # a test id that starts with another function's name (test_sgd_momentum vs test_sgd) is not ours
        others = {e.function for e, _ in entries if e.function != fn and e.function.startswith(fn)}
        tests = [c for c in tests if not any((_grade_id(c) or "").startswith(f"test_{o}") for o in others)]
        cells = [copy.deepcopy(c) for c in setup]
        index = []
        for entry, kind in entries:
            if entry.function != fn:
                continue
            cells.append(nbformat.v4.new_code_cell(entry.code))
            idx = []
            for t in tests:
                idx.append(len(cells))
                cell = copy.deepcopy(t)
                cell["id"] = f"{t.get('id', 'test')}-{len(cells)}"  # unique ids: one copy per entry
                cells.append(cell)
            index.append((entry, kind, idx))
        new = nbformat.v4.new_notebook(cells=cells, metadata=copy.deepcopy(nb.metadata))
        out[fn] = (new, index)
    return out


def _error(cell) -> str | None:
    for o in cell.get("outputs", []):
        if o.get("output_type") == "error":
            return f"{o.get('ename')}: {o.get('evalue')}"
    return None


def visible_results(assignment: str, catalogue=None, release_dir: Path | None = None, timeout: int = 300,
                    functions=None):
    """Execute every function's notebook; return ``{entry name: Outcome}``."""
    env_path = str(REPO / ".venv" / "bin")
    if env_path not in os.environ.get("PATH", ""):
        os.environ["PATH"] = env_path + os.pathsep + os.environ.get("PATH", "")
    os.environ.setdefault("COURSE_HEADLESS", "1")
    os.environ.setdefault("MPLBACKEND", "Agg")
    cwd = str(release_dir or REPO / "release" / assignment)
    results = {}
    for fn, (nb, index) in build_notebooks(assignment, catalogue, release_dir).items():
        if functions and fn not in functions:
            continue
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                                resources={"metadata": {"path": cwd}})
        client.execute()
        for entry, kind, idx in index:
            res = Outcome(entry.name, entry.function, kind, checks=len(idx))
            for i in idx:
                err = _error(nb.cells[i])
                if err:
                    res.failed[_grade_id(nb.cells[i])] = err
            results[entry.name] = res
    return results


def summary(results) -> dict:
    """``{function: (mutants caught, mutants, correct variants failing)}`` plus ``"total"``."""
    out = {}
    for r in results.values():
        caught, n, bad = out.get(r.function, (0, 0, 0))
        if r.kind == "mutant":
            caught, n = caught + r.caught, n + 1
        else:
            bad += r.caught
        out[r.function] = (caught, n, bad)
    out["total"] = tuple(sum(v[i] for v in out.values()) for i in range(3))
    return out


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    assignment = argv[0] if argv else "optimizers"
    results = visible_results(assignment)
    for name, r in results.items():
        status = "caught" if r.caught else "PASSES every visible check"
        if r.kind == "correct":
            status = "FAILS a visible check" if r.caught else "ok"
        first = next(iter(r.failed.values()), "")[:200]
        print(f"{r.kind:>7} {name:<40} {status:<28} {first}")
    for fn, (caught, n, bad) in summary(results).items():
        frac = f"{caught}/{n} = {caught / n:.0%}" if n else "-"
        print(f"{fn:>20}: mutants failing a visible check {frac}; correct variants failing one: {bad}")


if __name__ == "__main__":
    main()
