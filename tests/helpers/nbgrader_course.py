"""Drive the real nbgrader CLI in a scratch course folder.

Used by the course gates and the mutant catalogues: build a scratch course from
``source/``, generate the assignment (which fills the gradebook with the hidden
tests and checksums), drop submissions in ``submitted/``, run ``nbgrader
autograde`` and read scores and the failing checks' messages back.

``reduced=True`` keeps only the setup cell and the graded cells (answer and test
cells). Test cells are self-contained (spec §3), so a reduced notebook grades
exactly like the full one, in a fraction of the time.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder.course import discover_assignments
from autograder.notebook import DELIMITERS, solution_submission  # noqa: F401 (re-exported for tests)

REPO = Path(__file__).resolve().parents[2]
ASSIGNMENTS = discover_assignments(REPO)  # c.Syllabus.assignments: teaching order



def grading_env() -> dict:
    env = dict(os.environ)
    env.setdefault("COURSE_HEADLESS", "1")
    env.setdefault("COURSE_DATASET", "digits")
    # kernels use matplotlib's inline backend so executed notebooks keep their figures
    env.pop("MPLBACKEND", None)
    # nbgrader shells out to `alembic` (from the venv) when it creates a gradebook
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env.setdefault(var, "1")
    env["PYTHONWARNINGS"] = "ignore::DeprecationWarning"
    return env


def nbgrader(*args: str, cwd: Path, check: bool = True, timeout: float = 1800) -> subprocess.CompletedProcess:
    """Run ``nbgrader ARGS`` in ``cwd``; on failure raise with its full log."""
    cmd = [sys.executable, "-m", "nbgrader", *args]
    proc = subprocess.run(cmd, cwd=cwd, env=grading_env(), capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise RuntimeError(
            f"`nbgrader {' '.join(args)}` failed with exit code {proc.returncode} in {cwd}\n"
            f"--- stdout ---\n{proc.stdout[-6000:]}\n--- stderr ---\n{proc.stderr[-6000:]}"
        )
    return proc


def nb_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def is_graded_cell(cell) -> bool:
    meta = nb_meta(cell)
    return bool(meta.get("solution") or meta.get("grade"))


def is_setup_cell(cell) -> bool:
    return "setup" in cell.get("metadata", {}).get("tags", [])


def reduced_notebook(nb):
    """Setup cell(s) plus graded cells, in order; ungraded demos dropped."""
    nb = nbformat.from_dict(nb)
    nb.cells = [c for c in nb.cells if c.cell_type == "code" and (is_setup_cell(c) or is_graded_cell(c))]
    return nb


def read_source(assignment: str, reduced: bool = False):
    nb = nbformat.read(str(REPO / "source" / assignment / f"{assignment}.ipynb"), as_version=4)
    return reduced_notebook(nb) if reduced else nb


def strip_solution_markers(source: str) -> str:
    return DELIMITERS.strip_solution_markers(source)


def answer_cells(nb) -> dict:
    return {nb_meta(c)["grade_id"]: c for c in nb.cells if nb_meta(c).get("solution") and c.cell_type == "code"}


def test_cells(nb) -> dict:
    return {nb_meta(c)["grade_id"]: c for c in nb.cells if nb_meta(c).get("grade") and c.cell_type == "code"}


@dataclass
class GradeResult:
    student: str
    scores: dict = field(default_factory=dict)      # grade_id -> (score, max_score)
    messages: dict = field(default_factory=dict)    # grade_id -> "ename: evalue" of a failing test cell

    @property
    def total(self) -> float:
        return sum(s for s, _ in self.scores.values())

    @property
    def max_total(self) -> float:
        return sum(m for _, m in self.scores.values())

    def tests_of(self, function: str) -> dict:
        """Scores of the test cells that check ``function`` (ids ``test_<function>...``)."""
        pat = re.compile(rf"^test_{re.escape(function)}(_|$)")
        return {k: v for k, v in self.scores.items() if pat.match(k)}


class ScratchCourse:
    """A throwaway nbgrader course with this repo's nbgrader_config.py."""

    def __init__(self, root: Path, assignments=ASSIGNMENTS, reduced: bool = False, source_nbs: dict | None = None):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / "nbgrader_config.py", self.root / "nbgrader_config.py")
        self.assignments = list(assignments)
        for a in self.assignments:
            nb = (source_nbs or {}).get(a) or read_source(a, reduced=reduced)
            dest = self.root / "source" / a
            dest.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, str(dest / f"{a}.ipynb"))

    def nbgrader(self, *args, **kw):
        return nbgrader(*args, cwd=self.root, **kw)

    def generate(self, assignment: str):
        self.nbgrader("generate_assignment", assignment, "--force")
        return nbformat.read(str(self.release_path(assignment)), as_version=4)

    def source_nb(self, assignment: str):
        return nbformat.read(str(self.root / "source" / assignment / f"{assignment}.ipynb"), as_version=4)

    def release_path(self, assignment: str) -> Path:
        return self.root / "release" / assignment / f"{assignment}.ipynb"

    def submit(self, assignment: str, student: str, nb):
        dest = self.root / "submitted" / student / assignment
        dest.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, str(dest / f"{assignment}.ipynb"))

    def autograde(self, assignment: str, student: str | None = None, extra=()):
        """Autograde every submission of ``assignment`` (or one ``student``) in one nbgrader run."""
        args = ["autograde", assignment, "--force", *extra]
        if student:
            args.append(f"--student={student}")
        return self.nbgrader(*args)

    def result(self, assignment: str, student: str) -> GradeResult:
        from nbgrader.api import Gradebook

        out = GradeResult(student)
        with Gradebook(f"sqlite:///{self.root / 'gradebook.db'}") as gb:
            sub = gb.find_submission(assignment, student)
            for nb in sub.notebooks:
                for grade in nb.grades:
                    if grade.cell.cell_type != "code" or grade.cell.name.startswith("setup"):
                        continue
                    score = grade.score if grade.score is not None else 0.0
                    out.scores[grade.cell.name] = (float(score), float(grade.max_score))
        graded = self.root / "autograded" / student / assignment / f"{assignment}.ipynb"
        if graded.exists():
            gnb = nbformat.read(str(graded), as_version=4)
            for cell in gnb.cells:
                meta = nb_meta(cell)
                if meta.get("grade") and cell.cell_type == "code":
                    for o in cell.get("outputs", []):
                        if o.get("output_type") == "error":
                            out.messages[meta["grade_id"]] = f"{o.get('ename')}: {o.get('evalue')}"
                            break
        return out
