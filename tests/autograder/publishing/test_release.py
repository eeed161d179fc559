"""Regenerating release/ never silently overwrites a file someone edited there (issue 16)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.publishing.release import MANIFEST, ReleaseEdited, generate_release, guard_release, record_release
from tests.helpers.nbgrader_course import REPO, grading_env

A = "regularization"


@pytest.fixture
def course(tmp_path):
    root = tmp_path / "course"
    (root / "source").mkdir(parents=True)
    shutil.copytree(REPO / "source" / A, root / "source" / A)
    shutil.copytree(REPO / "release" / A, root / "release" / A)
    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    record_release(root, A)
    return root


def _edit(root: Path) -> bytes:
    path = root / "release" / A / f"{A}.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells[0].source += "\n\nmy answers, typed into release/ by mistake"
    nbformat.write(nb, path)
    return path.read_bytes()


def test_an_untouched_release_is_not_refused(course):
    assert guard_release(course, A) is None
    assert (course / "release" / MANIFEST).exists()


def test_an_edited_release_file_is_refused_with_the_fix(course):
    _edit(course)
    with pytest.raises(ReleaseEdited, match="workspace/") as info:
        generate_release(course, [A], log=lambda *_: None)
    assert "--force" in str(info.value) and f"release/{A}/{A}.ipynb" in str(info.value)


def test_force_backs_the_edit_up_then_regenerates(course):
    edited = _edit(course)
    backup = guard_release(course, A, force=True, log=lambda *_: None)
    assert (backup / f"{A}.ipynb").read_bytes() == edited
    assert backup.relative_to(course).parts[0] == "backups"


@pytest.mark.slow
def test_the_cli_refuses_then_forces(course):
    edited = _edit(course)
    cmd = [sys.executable, "-m", "autograder", "--course-dir", str(course)]
    proc = subprocess.run([*cmd, "release", A], capture_output=True, text=True, env=grading_env())
    assert proc.returncode == 2 and "changed since the release was last generated" in proc.stderr
    assert (course / "release" / A / f"{A}.ipynb").read_bytes() == edited  # nothing written
    proc = subprocess.run([*cmd, "publish", A], capture_output=True, text=True, env=grading_env())
    assert proc.returncode == 2 and "--force" in proc.stdout + proc.stderr  # refused before any gate ran
    proc = subprocess.run([*cmd, "release", A, "--force"], capture_output=True, text=True, env=grading_env())
    assert proc.returncode == 0, proc.stderr
    assert (course / "release" / A / f"{A}.ipynb").read_bytes() != edited
    assert [p.read_bytes() for p in (course / "backups").rglob(f"{A}.ipynb")] == [edited]
    assert guard_release(course, A) is None  # the new generation is the record now
