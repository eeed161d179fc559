"""Everything that touches the course gradebook, done by the coordinator alone.

Workers never open the course gradebook: they receive a private sqlite copy of
one assignment's master rows (:func:`export_assignment`), and the coordinator
merges their results back (:func:`merge_result`) through nbgrader's Gradebook
API, one student at a time, so sqlite never sees concurrent writers and a
PostgreSQL ``db_url`` works unchanged.
"""

from __future__ import annotations

import os
import shutil
import warnings
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry

from ..course import Course, CourseError
from . import scratch


def _has_assignment(course: Course, assignment: str) -> bool:
    with course.gradebook() as gb:
        try:
            a = gb.find_assignment(assignment)
        except MissingEntry:
            return False
        return any(nb.grade_cells for nb in a.notebooks)


def copy_assignment_rows(src_url: str, dst_url: str, assignment: str) -> None:
    """Copy one assignment's master rows (cells, checksums, points, due date)."""
    with Gradebook(src_url) as src, Gradebook(dst_url) as dst:
        a = src.find_assignment(assignment)
        # keep a due date set with `nbgrader db assignment add` when the source has none
        dst.update_or_create_assignment(assignment, **({"duedate": a.duedate} if a.duedate else {}))
        for nb in a.notebooks:
            dst.update_or_create_notebook(nb.name, assignment)
            for c in nb.source_cells:
                dst.update_or_create_source_cell(c.name, nb.name, assignment, cell_type=c.cell_type,
                                                 locked=c.locked, source=c.source, checksum=c.checksum)
            for c in nb.grade_cells:
                dst.update_or_create_grade_cell(c.name, nb.name, assignment, max_score=c.max_score,
                                                cell_type=c.cell_type)
            for c in nb.solution_cells:
                dst.update_or_create_solution_cell(c.name, nb.name, assignment)
            for c in nb.task_cells:
                dst.update_or_create_task_cell(c.name, nb.name, assignment, max_score=c.max_score,
                                               cell_type=c.cell_type)


def ensure_assignment(course: Course, assignment: str, log=print) -> None:
    """Make sure the course gradebook knows the assignment's cells.

    When it does not (a fresh clone: release/ is committed, gradebook.db is not),
    generate the assignment from ``source/`` in a scratch folder and copy its
    rows in; ``release/`` is left alone.
    """
    if _has_assignment(course, assignment):
        return
    src = course.path("source", assignment)
    if not (src / f"{assignment}.ipynb").exists():
        raise CourseError(
            f"the gradebook has no assignment {assignment!r} and there is no source/{assignment}/{assignment}.ipynb "
            "to build it from; check the assignment name"
        )
    log(f"gradebook has no cells for {assignment!r}: generating them from source/{assignment}/")
    with tempfile.TemporaryDirectory(prefix="autograder-gen-") as tmp:
        tmp = Path(tmp)
        shutil.copy(course.path("nbgrader_config.py"), tmp / "nbgrader_config.py")
        shutil.copytree(src, tmp / "source" / assignment)
        url = f"sqlite:///{tmp / 'gradebook.db'}"
        proc = subprocess.run(
            [sys.executable, "-m", "nbgrader", "generate_assignment", assignment, "--force",
             f"--CourseDirectory.root={tmp}", f"--CourseDirectory.db_url={url}"],
            cwd=tmp, capture_output=True, text=True)
        if proc.returncode != 0:
            raise CourseError(f"nbgrader generate_assignment {assignment} failed:\n{proc.stderr[-3000:]}")
        copy_assignment_rows(url, course.db_url, assignment)


def export_assignment(course: Course, assignment: str, dest: Path) -> bytes:
    """A fresh sqlite gradebook holding only this assignment's master rows; its bytes."""
    dest = Path(dest)
    if dest.exists():
        dest.unlink()
    # nbgrader commits (fsync) once per row: build on tmpfs when there is one (~40 commits, ~1 s on disk)
    shm = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    with tempfile.TemporaryDirectory(prefix="autograder-gb-", dir=shm) as tmp:
        scratch.mark(Path(tmp))
        build = Path(tmp) / "gradebook.db"
        _stamp_like(course.db_url, build)
        copy_assignment_rows(course.db_url, f"sqlite:///{build}", assignment)
        data = build.read_bytes()
    dest.write_bytes(data)
    return data


def _stamp_like(src_url: str, dest: Path) -> None:
    """Give a new sqlite gradebook the source's alembic revision before nbgrader opens it.

    nbgrader stamps a brand-new database by running the ``alembic`` command
    (2-3 s per batch); an existing ``alembic_version`` table skips that, and the
    source's revision is the right one for a copy of its rows.
    """
    import sqlite3

    from sqlalchemy import create_engine, text

    engine = create_engine(src_url, future=True)
    try:
        with engine.connect() as conn:
            version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception:  # noqa: BLE001 (no table: let nbgrader stamp it the slow way)
        return
    finally:
        engine.dispose()
    if not version:
        return
    with sqlite3.connect(dest) as db:
        db.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
        db.execute("INSERT INTO alembic_version (version_num) VALUES (?)", (version,))
    db.close()


def _order_hint(course: Course, assignment: str, notebook: str) -> list:
    for folder in ("source", "release"):
        p = course.path(folder, assignment, f"{notebook}.ipynb")
        if p.exists():
            try:
                nb = nbformat.read(str(p), as_version=4)
            except Exception:  # noqa: BLE001 (fall back to the gradebook's order)
                continue
            return [(c.metadata.get("nbgrader") or {}).get("grade_id") for c in nb.cells]
    return []


def master_cells(course: Course, assignment: str) -> dict:
    """``{notebook: [master cell dict, ...]}`` in notebook order (see autograder.grading.repair)."""
    out = {}
    with course.gradebook() as gb:
        a = gb.find_assignment(assignment)
        for nb in a.notebooks:
            grade = {c.name: c.max_score for c in nb.grade_cells}
            task = {c.name: c.max_score for c in nb.task_cells}
            sol = {c.name for c in nb.solution_cells}
            cells = []
            for c in nb.source_cells:
                if c.name in grade and c.name not in sol:
                    kind, points = "test", grade[c.name]
                elif c.name in sol:
                    kind, points = "answer", grade.get(c.name)
                elif c.name in task:
                    kind, points = "task", task[c.name]
                else:
                    kind, points = "locked", None
                cells.append({"name": c.name, "kind": kind, "cell_type": c.cell_type, "locked": bool(c.locked),
                              "source": c.source or "", "checksum": c.checksum, "points": points})
            hint = _order_hint(course, assignment, nb.name)
            rank = {g: i for i, g in enumerate(hint) if g}
            cells.sort(key=lambda m: rank.get(m["name"], len(rank)))
            out[nb.name] = cells
    return out


def _test_pause(point: str, student: str) -> None:
    """Test hook: stop forever at ``point`` for ``student`` so a test can SIGKILL us there.

    ``AUTOGRADER_TEST_PAUSE=merge:<student>:<flag file>`` (tests/infra/test_kill.py): the
    coordinator writes the flag file mid-transaction, before the commit, and waits to be killed.
    """
    spec = os.environ.get("AUTOGRADER_TEST_PAUSE", "")
    if spec.count(":") >= 2:
        where, who, flag = spec.split(":", 2)
        if where == point and who == student:
            Path(flag).write_text(str(os.getpid()))
            while True:
                time.sleep(60)


def merge_result(course: Course, result) -> None:
    """Write one task's :class:`autograder.results.StudentResult` into the gradebook and autograded/ folder."""
    assignment, student = result.assignment, result.student
    if result.status == "missing":
        return
    ts = result.timestamp
    # nbgrader keeps a late penalty per notebook: the whole penalty goes on the first one
    first = result.tests[0].notebook if result.tests else None
    with warnings.catch_warnings(), course.gradebook() as gb:
        warnings.simplefilter("ignore")  # nbgrader's own SQLAlchemy session warnings
        gb.update_or_create_student(student)
        kwargs = {"timestamp": datetime.fromisoformat(ts)} if ts else {}
        sub = gb.update_or_create_submission(assignment, student, **kwargs)
        scores = {(c["notebook"], c["name"]): c for c in result.cells}
        for snb in sub.notebooks:
            first = first or snb.name
            snb.late_submission_penalty = ((result.late_penalty if snb.name == first else 0.0)
                                           if result.late_penalty else None)
            for g in snb.grades:
                c = scores.get((snb.name, g.cell.name))
                if c is None:  # not graded (unreadable, timed out before start, ...): no points
                    g.auto_score = 0.0
                    g.needs_manual_grade = False
                    continue
                g.auto_score = c["auto_score"]
                g.needs_manual_grade = c["needs_manual_grade"]
        _test_pause("merge", student)
        gb.db.commit()
    files = result.files or {}
    if files:
        dest = course.path("autograded", student, assignment)
        if dest.exists():
            shutil.rmtree(dest)
        for rel, data in files.items():
            target = (dest / rel).resolve()
            if not target.is_relative_to(dest.resolve()):
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
