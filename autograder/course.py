"""The course folder: its nbgrader config (loaded once), gradebook URL, folders and assignments.

Every command works on a course folder holding ``nbgrader_config.py``
(``--course-dir``, default: the current folder). :class:`Course` reads that file
once with traitlets, pins ``CourseDirectory.root`` to the folder, and answers
the questions the rest of the package asks: where the gradebook is, which
assignments exist (one per ``source/<a>/<a>.ipynb``), where a folder lives.
A problem with the folder is a :class:`CourseError` whose message says how to
fix it; the CLI prints it and exits.
"""

from __future__ import annotations

import os
import sys
from functools import cached_property
from pathlib import Path

from traitlets import List, Unicode
from traitlets.config import Configurable

CONFIG_FILE = "nbgrader_config.py"


class CourseError(Exception):
    """A problem with the course folder or its input; the message says how to fix it."""


def ensure_tool_path() -> None:
    """Put this interpreter's bin folder on PATH: nbgrader shells out to ``alembic``."""
    bindir = os.path.dirname(sys.executable)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")


def load_config(root: Path):
    """The traitlets config of ``<root>/nbgrader_config.py`` (empty without one), root pinned to ``root``."""
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    cfg = Config()
    path = Path(root) / CONFIG_FILE
    if path.exists():
        cfg.merge(PyFileConfigLoader(path.name, path=str(path.parent)).load_config())
    cfg.CourseDirectory.root = str(Path(root).resolve())
    return cfg


class Syllabus(Configurable):
    """The course's assignments in teaching order (``c.Syllabus.assignments`` in nbgrader_config.py)."""

    assignments = List(Unicode(), default_value=[], help=(
        "Assignment names in teaching order. Commands that handle every assignment (release, publish, demo) "
        "follow this order; an assignment with a source notebook that is not listed comes after the listed "
        "ones, by name. Empty: every source/<a>/<a>.ipynb, by name.")).tag(config=True)


def discover_assignments(root: Path, config=None) -> list[str]:
    """Assignments with a source notebook ``source/<a>/<a>.ipynb``: the syllabus order first, then by name."""
    src = Path(root) / "source"
    found = sorted(p.parent.name for p in src.glob("*/*.ipynb") if p.stem == p.parent.name) if src.is_dir() else []
    order = list(Syllabus(config=config if config is not None else load_config(Path(root))).assignments)
    return [a for a in order if a in found] + [a for a in found if a not in order]


def read_ledger(root, assignment: str) -> dict:
    """The collect ledger of ``assignment`` (see :meth:`Course.ledger`); ``{}`` when there is none."""
    import json

    path = Path(root) / "collected" / f"{assignment}.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


class Course:
    """A course folder: its nbgrader config, gradebook URL and standard folders."""

    def __init__(self, root, db_url: str | None = None, require_config: bool = True):
        ensure_tool_path()
        self.root = Path(root).resolve()
        cfg_file = self.root / CONFIG_FILE
        if require_config and not cfg_file.exists():
            raise CourseError(f"{self.root} has no {CONFIG_FILE}; run from the course folder or pass --course-dir")
        self.config = load_config(self.root)
        self.config_text = cfg_file.read_text() if cfg_file.exists() else ""
        cd = self.config.get("CourseDirectory", {})
        self.db_url = db_url or cd.get("db_url") or f"sqlite:///{self.root / 'gradebook.db'}"
        self.course_id = cd.get("course_id", "")

    def path(self, *parts) -> Path:
        return self.root.joinpath(*parts)

    def gradebook(self):
        from nbgrader.api import Gradebook

        return Gradebook(self.db_url, self.course_id)

    @cached_property
    def coursedir(self):
        """nbgrader's CourseDirectory for this folder (its folder names and patterns)."""
        from nbgrader.coursedir import CourseDirectory

        return CourseDirectory(config=self.config)

    def assignments(self) -> list[str]:
        return discover_assignments(self.root, self.config)

    def ledger(self, assignment: str) -> dict:
        """``collected/<assignment>.json``, written by ``collect``: per student, which notebook was chosen and
        why, whether a TA should review that choice, the LMS's name for the student, its late flag and time."""
        return read_ledger(self.root, assignment)

    def due_date(self, assignment: str):
        """The assignment's due date in the gradebook, or None (no gradebook, no assignment, none set)."""
        from nbgrader.api import MissingEntry

        try:
            with self.gradebook() as gb:
                return gb.find_assignment(assignment).duedate
        except MissingEntry:
            return None
        except Exception:  # noqa: BLE001 - a gradebook that cannot be opened has no due date to offer
            return None

    def check_graded(self, assignment: str) -> None:
        """Fail early with a clear message when there is nothing graded to read."""
        has_autograded = any(self.path("autograded").glob(f"*/{assignment}"))
        if not (has_autograded or self.path("grades", assignment).exists()):
            raise CourseError(f"nothing graded for {assignment!r} in {self.root}: no autograded/*/{assignment}/ "
                              f"and no grades/{assignment}/; run `python -m autograder grade {assignment}` first")


def graded_course(root, assignment: str) -> Course:
    """The course at ``root``, checked to hold grading results of ``assignment`` (for the reports)."""
    course = Course(root)
    course.check_graded(assignment)
    return course
