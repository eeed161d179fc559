"""``python -m autograder demo``: the README's main job, end to end.

Regenerates ``release/``, runs the quick course checks (release in sync with no
leaked solutions), builds a demo course in ``grades/demo/course/`` (git-ignored;
the repository's own ``submitted/`` is untouched) with sample submissions,
grades them in parallel and prints the table.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .notebook import solution_submission
from .publishing.release import ReleaseError, available, check_release, generate_release


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


#: Buggy answers shipped with the demo: one per graded function, taken from the mutant catalogues.
SAMPLES = Path(__file__).with_name("demo_samples")


@dataclass
class Sample:
    name: str
    function: str
    code: str


def _mutants(assignment: str, limit: int = 3):
    """Buggy sample answers of ``assignment`` (``demo_samples/<assignment>.json``), and a note when there are none."""
    path = SAMPLES / f"{assignment}.json"
    if not path.exists():
        return [], f"no demo samples {path.name} for {assignment}: buggy samples skipped"
    return [Sample(**d) for d in json.loads(path.read_text())][:limit], None


def build_demo_course(root: Path, assignment: str, dest: Path, log=print) -> list:
    """A scratch course with sample submissions; returns notes for the reader."""
    from .course import ensure_tool_path

    ensure_tool_path()
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    shutil.copy(root / "nbgrader_config.py", dest / "nbgrader_config.py")
    shutil.copytree(root / "source" / assignment, dest / "source" / assignment,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    proc = subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", assignment, "--force",
                           f"--CourseDirectory.root={dest}"], cwd=dest, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"generate_assignment failed in the demo course:\n{proc.stderr[-3000:]}")
    src = nbformat.read(str(dest / "source" / assignment / f"{assignment}.ipynb"), as_version=4)
    release = nbformat.read(str(dest / "release" / assignment / f"{assignment}.ipynb"), as_version=4)
    answers = [_meta(c)["grade_id"] for c in src.cells if _meta(c).get("solution") and c.cell_type == "code"]
    tests = [_meta(c)["grade_id"] for c in src.cells if _meta(c).get("grade") and c.cell_type == "code"]
    notes = []

    def put(student, nb=None, raw: bytes | None = None):
        folder = dest / "submitted" / student / assignment
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{assignment}.ipynb"
        if raw is not None:
            target.write_bytes(raw)
        else:
            nbformat.write(nb, str(target))

    put("solution", solution_submission(src))
    put("blank_release", release)
    mutants, note = _mutants(assignment)
    if note:
        notes.append(note)
    for m in mutants:
        put(f"buggy_{m.name}"[:60], solution_submission(src, {m.function: m.code}))
    put("broken_json", raw=nbformat.writes(solution_submission(src)).encode()[:-200])
    if answers:
        put("infinite_loop", solution_submission(src, {answers[0]: "while True:\n    pass\n"}))
    mangled = solution_submission(src)
    if tests:
        mangled.cells = [c for c in mangled.cells if _meta(c).get("grade_id") != tests[0]]
    for c in mangled.cells:
        c.metadata.pop("nbgrader", None)
    put("mangled_cells", mangled)
    put("old_nbformat_v3", raw=nbformat.writes(nbformat.convert(solution_submission(src), 3)).encode())
    return notes


def run_demo(root, workers: int = 2, assignment: str | None = None, cell_timeout: int = 20,
             skip_checks: bool = False) -> tuple[int, dict | None, Path | None]:
    """Steps 1-4 of the demo; ``(exit code, grade summary, demo course folder)`` for the CLI to show."""
    from rich.console import Console

    from .grading.batch import grade

    console = Console()
    root = Path(root).resolve()
    have, _ = available(root)
    if not have:
        console.print("[red]no source/<assignment>/<assignment>.ipynb found: nothing to demo[/]")
        return 1, None, None
    rc = 0
    if not skip_checks:
        console.rule("1. release/ from source/ (nbgrader generate_assignment)")
        try:
            generate_release(root, have, log=console.print)
        except ReleaseError as e:
            console.print(f"[red]error:[/] {e}", markup=True)
            return 2, None, None
        console.rule("2. quick course checks (release in sync, no solutions or hidden tests leaked)")
        problems = check_release(root, have)
        for p in problems:
            console.print(f"[red]check failed:[/] {p}")
        if problems:
            rc = 1
        else:
            console.print(f"[green]ok[/]: {', '.join(have)}")
    assignment = assignment or have[0]
    dest = root / "grades" / "demo" / "course"
    console.rule(f"3. sample submissions for {assignment!r} in {dest.relative_to(root)}/")
    for note in build_demo_course(root, assignment, dest, log=console.print):
        console.print(f"note: {note}")
    console.rule(f"4. grading in parallel ({workers} workers)")
    summary = grade(dest, assignment, workers=workers, cell_timeout=cell_timeout, notebook_budget=300, force=True)
    return rc, summary, dest
