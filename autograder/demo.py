"""``python -m autograder demo``: the README's main job, end to end.

Regenerates ``release/``, runs the quick course checks (release in sync with no
leaked solutions), builds a demo course in ``grades/demo/course/`` (git-ignored;
the repository's own ``submitted/`` is untouched) with sample submissions,
grades them in parallel and prints the table.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

from .publishing.release import ASSIGNMENTS, available, check_release, generate_release

_MARKER = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", re.M)


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def solution_nb(source_nb, replace: dict | None = None):
    """The instructor solution as a student would submit it (answer cells optionally replaced)."""
    nb = nbformat.from_dict(json.loads(json.dumps(source_nb)))
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        meta = _meta(cell)
        if meta.get("solution"):
            cell.source = _MARKER.sub("", cell.source)
            if replace and meta.get("grade_id") in replace:
                cell.source = replace[meta["grade_id"]]
    return nb


def _mutants(root: Path, assignment: str, limit: int = 3):
    path = root / "tests" / "mutants" / f"{assignment}.py"
    if not path.exists():
        return [], f"no mutant catalogue tests/mutants/{assignment}.py yet: buggy samples skipped"
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    try:
        spec = importlib.util.spec_from_file_location(f"tests.mutants.{assignment}", path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        mutants = list(getattr(mod, "MUTANTS", []))
    except Exception as e:  # noqa: BLE001 (a catalogue being written must not break the demo)
        return [], f"mutant catalogue tests/mutants/{assignment}.py could not be loaded ({e}): buggy samples skipped"
    picked, seen = [], set()
    for m in mutants:  # one per function first, for variety
        if m.function not in seen:
            picked.append(m)
            seen.add(m.function)
        if len(picked) == limit:
            break
    return picked, None


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

    put("solution", solution_nb(src))
    put("blank_release", release)
    mutants, note = _mutants(root, assignment)
    if note:
        notes.append(note)
    for m in mutants:
        put(f"buggy_{m.name}"[:60], solution_nb(src, {m.function: m.code}))
    put("broken_json", raw=nbformat.writes(solution_nb(src)).encode()[:-200])
    if answers:
        put("infinite_loop", solution_nb(src, {answers[0]: "while True:\n    pass\n"}))
    mangled = solution_nb(src)
    if tests:
        mangled.cells = [c for c in mangled.cells if _meta(c).get("grade_id") != tests[0]]
    for c in mangled.cells:
        c.metadata.pop("nbgrader", None)
    put("mangled_cells", mangled)
    put("old_nbformat_v3", raw=nbformat.writes(nbformat.convert(solution_nb(src), 3)).encode())
    return notes


def run_demo(root, workers: int = 2, assignment: str | None = None, cell_timeout: int = 20,
             skip_checks: bool = False) -> tuple[int, dict | None, Path | None]:
    """Steps 1-4 of the demo; ``(exit code, grade summary, demo course folder)`` for the CLI to show."""
    from rich.console import Console

    from .grading.batch import grade

    console = Console()
    root = Path(root).resolve()
    have, _ = available(root, ASSIGNMENTS)
    if not have:
        console.print("[red]no source/<assignment>/<assignment>.ipynb found: nothing to demo[/]")
        return 1, None, None
    rc = 0
    if not skip_checks:
        console.rule("1. release/ from source/ (nbgrader generate_assignment)")
        generate_release(root, have, log=console.print)
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
