"""Course gates: what must hold for an assignment before students see it.

One implementation, used by ``python -m autograder publish`` (which refuses to
publish when a gate fails) and by ``tests/course/test_gates.py``. Every gate
runs in a scratch course built from ``source/`` (the course folder is only
read) and returns a :class:`GateResult` that says what is wrong and how to fix
it.

=========  ==================================================================
committed  ``source/<a>/`` holds only the notebook, committed without outputs
release    ``nbgrader generate_assignment`` succeeds on the source
leaks      canaries planted in every solution/hidden-test region of a copy
           never reach the generated files; the release has no markers, no
           outputs and no line that exists only inside those regions
execute    the source runs top to bottom with no error or stderr output
           (``nbgrader validate --Validator.validate_all=True``)
grades     the instructor solution submitted as a student gets full marks
           through the real ``nbgrader autograde``; the untouched release, 0
invert     ``nbgrader validate --invert`` passes on the release (every test
           cell fails on the untouched release)
sync       (check mode) the committed ``release/<a>/`` equals a fresh release
=========  ==================================================================
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from ..course import ensure_tool_path
from ..grading.kernel import grading_env
from ..notebook import solution_submission
from ..notebook import Delimiters
from .release import ReleaseError, _files, check_release_dir, release_differences, stage_assignment

#: Gates in the order they run; ``sync`` only when checking a committed release.
GATES = ("committed", "release", "leaks", "execute", "grades", "invert")
VALIDATE_OK = "Success! Your notebook passes all the tests."
INVERT_OK = "Success! The notebook does not pass any tests."
#: Seconds any single nbgrader command may take before the gate gives up.
COMMAND_TIMEOUT = 1800


@dataclass
class GateResult:
    gate: str
    assignment: str
    ok: bool
    seconds: float = 0.0
    problems: list = field(default_factory=list)
    fix: str = ""
    log: str = ""                                   # tail of the nbgrader output, for failures
    timings: dict = field(default_factory=dict)     # named sub-steps, seconds
    skipped: bool = False

    def report(self) -> str:
        """Which gate, which assignment, what is wrong, how to fix it (and the log tail)."""
        if self.ok:
            return f"{self.assignment}: gate {self.gate!r} passed"
        text = f"{self.assignment}: gate {self.gate!r} failed"
        if self.skipped:
            return text + f": not run ({'; '.join(self.problems)})"
        text += ":\n" + "\n".join(f"  - {p}" for p in self.problems)
        if self.fix:
            text += f"\n  how to fix: {self.fix}"
        if self.log:
            text += "\n  --- nbgrader output (end) ---\n" + "\n".join("  " + ln for ln in self.log.splitlines())
        return text


def nb_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def plant_canaries(nb, canary: str, delimiters: Delimiters = Delimiters()) -> int:
    """Insert a canary line after every line that opens a solution or hidden-test region (in place)."""
    planted = 0
    for cell in nb.cells:
        out = []
        for line in cell.source.split("\n"):
            out.append(line)
            if delimiters.opens(line):
                indent = line[: len(line) - len(line.lstrip())]
                out.append(f"{indent}# {canary}" if cell.cell_type == "code" else canary)
                planted += 1
        cell.source = "\n".join(out)
    return planted


def _tail(text: str, lines: int = 30) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


# --------------------------------------------------------------------------- the scratch course

class Stage:
    """A scratch nbgrader course for one assignment, generated from the course's ``source/``."""

    def __init__(self, course_root: Path, assignment: str, workdir: Path):
        self.course_root = Path(course_root).resolve()
        self.assignment = assignment
        self.root = Path(workdir).resolve()
        self.db = self.root / f"gb-{assignment}.db"
        self.generated = False

    @property
    def source_path(self) -> Path:
        return self.root / "source" / self.assignment / f"{self.assignment}.ipynb"

    @property
    def release_dir(self) -> Path:
        return self.root / "release" / self.assignment

    @property
    def release_path(self) -> Path:
        return self.release_dir / f"{self.assignment}.ipynb"

    def generate(self) -> Path:
        out = stage_assignment(self.course_root, self.assignment, self.root)
        self.generated = True
        return out

    def nbgrader(self, *args: str, timeout: float = COMMAND_TIMEOUT) -> subprocess.CompletedProcess:
        ensure_tool_path()
        cmd = [sys.executable, "-m", "nbgrader", *args, f"--CourseDirectory.root={self.root}",
               f"--CourseDirectory.db_url=sqlite:///{self.db}"]
        try:
            return subprocess.run(cmd, cwd=self.root, env=grading_env(), capture_output=True, text=True,
                                  timeout=timeout)
        except subprocess.TimeoutExpired as e:
            out = (e.stdout or b"").decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
            return subprocess.CompletedProcess(cmd, -9, out, f"timed out after {timeout:.0f} s")

    def submit(self, student: str, nb) -> None:
        dest = self.root / "submitted" / student / self.assignment
        dest.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, str(dest / f"{self.assignment}.ipynb"))

    def scores(self, student: str) -> dict:
        """grade_id -> (score, max_score) of the student's code test cells, from the scratch gradebook."""
        from nbgrader.api import Gradebook, MissingEntry

        out = {}
        with Gradebook(f"sqlite:///{self.db}") as gb:
            try:
                sub = gb.find_submission(self.assignment, student)
            except MissingEntry:
                return out
            for nb in sub.notebooks:
                for grade in nb.grades:
                    if grade.cell.cell_type != "code" or grade.cell.name.startswith("setup"):
                        continue
                    score = grade.score if grade.score is not None else 0.0
                    out[grade.cell.name] = (float(score), float(grade.max_score))
        return out

    def autograded(self, student: str):
        path = self.root / "autograded" / student / self.assignment / f"{self.assignment}.ipynb"
        return nbformat.read(str(path), as_version=4) if path.exists() else None


# --------------------------------------------------------------------------- gates

def gate_committed(course_root: Path, assignment: str) -> GateResult:
    """``source/<a>/`` holds only the notebook, and the notebook has no outputs."""
    t0 = time.perf_counter()
    src_dir = Path(course_root) / "source" / assignment
    problems = []
    extra = sorted(p.name for p in src_dir.iterdir()
                   if p.name != f"{assignment}.ipynb" and not p.name.startswith("."))
    if extra:
        problems.append(f"source/{assignment}/ holds {extra}: nbgrader copies every such file into the release")
    src = nbformat.read(str(src_dir / f"{assignment}.ipynb"), as_version=4)
    with_outputs = [nb_meta(c).get("grade_id") or i for i, c in enumerate(src.cells)
                    if c.cell_type == "code" and c.outputs]
    if with_outputs:
        problems.append(f"source/{assignment} is saved with outputs in cells {with_outputs}")
    return GateResult("committed", assignment, not problems, time.perf_counter() - t0, problems,
                      fix=(f"keep only {assignment}.ipynb in source/{assignment}/ (helpers go to course_utils/, "
                           "data is loaded by course_utils.data) and clear outputs before committing "
                           f"(Edit > Clear All Outputs, or `jupyter nbconvert --clear-output --inplace "
                           f"source/{assignment}/{assignment}.ipynb`)"))


def gate_release(stage: Stage) -> GateResult:
    t0 = time.perf_counter()
    try:
        stage.generate()
    except ReleaseError as e:
        return GateResult("release", stage.assignment, False, time.perf_counter() - t0,
                          [f"nbgrader generate_assignment failed: {str(e).splitlines()[0]}"],
                          fix="read the nbgrader error below: usually an unmatched ### BEGIN/END SOLUTION or "
                              "HIDDEN TESTS marker, markers in a cell that is not an answer or test cell "
                              "(Create Assignment toolbar), or a duplicated grade id",
                          log=_tail(str(e)))
    return GateResult("release", stage.assignment, True, time.perf_counter() - t0)


def gate_leaks(stage: Stage, workdir: Path) -> GateResult:
    """Canaries in a copy never reach generated files; the staged release is clean."""
    t0 = time.perf_counter()
    a = stage.assignment
    fix = ("put every solution line between ### BEGIN SOLUTION and ### END SOLUTION in an autograded-answer cell "
           "and every hidden check between ### BEGIN HIDDEN TESTS and ### END HIDDEN TESTS in a test cell, each "
           "marker on its own line; keep solutions out of markdown cells and out of other files in "
           f"source/{a}/")
    delimiters = Delimiters.for_course(stage.course_root)
    problems = check_release_dir(stage.release_dir, nbformat.read(str(stage.source_path), as_version=4), delimiters)
    canary = f"CANARY-{uuid.uuid4().hex}"
    src = nbformat.read(str(stage.source_path), as_version=4)
    planted = plant_canaries(src, canary, delimiters)
    if planted < 2:
        problems.append(f"only {planted} solution/hidden-test region(s) found: expected solution and hidden-test "
                        "regions to plant canaries in")
    try:
        out = stage_assignment(stage.course_root, a, Path(workdir), source_nb=src)
    except ReleaseError as e:
        problems.append(f"generate_assignment failed on the canary copy: {str(e).splitlines()[0]}")
        return GateResult("leaks", a, False, time.perf_counter() - t0, problems, fix, log=_tail(str(e)))
    produced = [p for p in out.parent.rglob("*") if p.is_file()]
    if not produced:
        problems.append("generate_assignment produced no files")
    for path in produced:
        text = path.read_bytes().decode("utf-8", errors="replace")
        if canary in text:
            problems.append(f"a solution or hidden test leaked into {path.name} (canary found)")
        if delimiters.has_marker(text):
            problems.append(f"{path.name} still holds a solution/hidden-test marker")
    return GateResult("leaks", a, not problems, time.perf_counter() - t0, problems, fix)


def gate_execute(stage: Stage) -> GateResult:
    """The source runs top to bottom with no error or stderr output."""
    t0 = time.perf_counter()
    proc = stage.nbgrader("validate", str(stage.source_path), "--Validator.validate_all=True")
    secs = time.perf_counter() - t0
    out = proc.stdout + proc.stderr
    if VALIDATE_OK in out:
        return GateResult("execute", stage.assignment, True, secs, timings={"execute_source": secs})
    a = stage.assignment
    return GateResult("execute", a, False, secs,
                      [f"source/{a} does not execute cleanly (errors or stderr output in a cell)"],
                      fix=(f"open source/{a}/{a}.ipynb, Kernel > Restart Kernel and Run All Cells with "
                           "COURSE_HEADLESS=1 COURSE_DATASET=digits, and fix the first failing cell; a warning "
                           "printed to stderr counts as a failure (silence it or fix its cause)"),
                      log=_tail(out, 40), timings={"execute_source": secs})


def gate_grades(stage: Stage) -> GateResult:
    """Instructor solution: full marks, no error anywhere; untouched release: zero (real nbgrader autograde)."""
    t0 = time.perf_counter()
    a = stage.assignment
    source = nbformat.read(str(stage.source_path), as_version=4)
    release = nbformat.read(str(stage.release_path), as_version=4)
    stage.submit("instructor", solution_submission(source))
    stage.submit("blank", release)
    timings, problems, logs = {}, [], []
    for student in ("instructor", "blank"):
        s0 = time.perf_counter()
        proc = stage.nbgrader("autograde", a, "--force", f"--student={student}")
        timings[f"autograde_{'solution' if student == 'instructor' else student}"] = time.perf_counter() - s0
        if proc.returncode != 0:
            problems.append(f"nbgrader autograde failed for the {student} submission (exit {proc.returncode})")
            logs.append(_tail(proc.stdout + proc.stderr))
    fix = ""
    if not problems:
        sol = stage.scores("instructor")
        total, max_total = sum(s for s, _ in sol.values()), sum(m for _, m in sol.values())
        graded = stage.autograded("instructor")
        messages = {}
        errors = []
        for i, c in enumerate(graded.cells if graded else []):
            if c.cell_type != "code":
                continue
            for o in c.outputs:
                if o.get("output_type") == "error":
                    errors.append((i, o.get("ename"), o.get("evalue")))
                    if nb_meta(c).get("grade"):
                        messages.setdefault(nb_meta(c)["grade_id"], f"{o.get('ename')}: {o.get('evalue')}")
        if max_total <= 0:
            problems.append("no graded test cells found")
            fix = "mark test cells as 'Autograder tests' with points (Create Assignment toolbar)"
        else:
            if total != max_total:
                lost = {k: v for k, v in sol.items() if v[0] != v[1]}
                problems.append(f"the instructor solution scored {total:g}/{max_total:g}; failing tests {lost}: "
                                f"{messages}")
            if errors:
                problems.append(f"the solution notebook raised in cells: {errors}")
            blank = stage.scores("blank")
            b_total, b_max = sum(s for s, _ in blank.values()), sum(m for _, m in blank.values())
            if b_max != max_total:
                problems.append(f"the untouched release has {b_max:g} points, the solution {max_total:g}")
            if b_total != 0:
                passing = {k: v for k, v in blank.items() if v[0] > 0}
                problems.append(f"the untouched release scored {b_total:g}: {passing}")
            fixes = []
            if total != max_total or errors:
                fixes.append("fix the solution or the test it fails (the failing check's message is above; run "
                             f"source/{a}/{a}.ipynb top to bottom to see it in place)")
            if b_total != 0:
                fixes.append("give each listed test cell a visible check that calls the function under test, so the "
                             "release's NotImplementedError stub fails it")
            if b_max != max_total:
                fixes.append("regenerate: the release and the source disagree on the test cells")
            fix = "; ".join(fixes)
    return GateResult("grades", a, not problems, time.perf_counter() - t0, problems, fix,
                      log="\n".join(logs), timings=timings)


def gate_invert(stage: Stage) -> GateResult:
    t0 = time.perf_counter()
    proc = stage.nbgrader("validate", "--invert", str(stage.release_path))
    out = proc.stdout + proc.stderr
    secs = time.perf_counter() - t0
    if INVERT_OK in out:
        return GateResult("invert", stage.assignment, True, secs)
    a = stage.assignment
    return GateResult("invert", a, False, secs, [f"release/{a}: some test passes on the untouched release"],
                      fix=("every test cell must fail before the student writes anything: start each test cell "
                           "with a visible check that calls the function under test"),
                      log=_tail(out, 40))


def gate_sync(stage: Stage) -> GateResult:
    """The committed ``release/<a>/`` equals the staged (fresh) release."""
    t0 = time.perf_counter()
    a = stage.assignment
    committed_dir = stage.course_root / "release" / a
    fix = f"release/{a} is out of date with source/{a}: run `make release` and commit release/"
    problems = []
    if not committed_dir.is_dir():
        problems.append(f"release/{a}/ is missing")
    else:
        problems += [f"release/{a}{p}" for p in release_differences(stage.release_dir, committed_dir)]
    return GateResult("sync", a, not problems, time.perf_counter() - t0, problems, fix)


def run_gates(course_root: Path, assignment: str, workdir: Path, gates=GATES, on_result=None) -> list:
    """Run ``gates`` for one assignment in ``workdir``; a gate that needs the release is skipped when it failed."""
    course_root, workdir = Path(course_root).resolve(), Path(workdir)
    stage = Stage(course_root, assignment, workdir / "stage")
    results = []

    def emit(r: GateResult):
        results.append(r)
        if on_result:
            on_result(r)

    if "committed" in gates:
        emit(gate_committed(course_root, assignment))
    rel = gate_release(stage)
    if "release" in gates or not rel.ok:
        emit(rel)
    steps = {"leaks": lambda: gate_leaks(stage, workdir / "canary"), "execute": lambda: gate_execute(stage),
             "grades": lambda: gate_grades(stage), "invert": lambda: gate_invert(stage),
             "sync": lambda: gate_sync(stage)}
    for name in [g for g in gates if g in steps]:
        if not rel.ok:
            emit(GateResult(name, assignment, False, problems=["generate_assignment failed"], skipped=True))
            continue
        try:
            emit(steps[name]())
        except Exception as e:  # noqa: BLE001 (report it as this gate's failure, keep the table)
            emit(GateResult(name, assignment, False, problems=[f"the gate itself crashed: {type(e).__name__}: {e}"],
                            fix="a bug in the gate or a broken course folder; rerun with the traceback "
                                "(`python -m pytest tests/course/test_gates.py -k <assignment>`)"))
    return results


def remove_stage(workdir: Path) -> None:
    shutil.rmtree(workdir, ignore_errors=True)
