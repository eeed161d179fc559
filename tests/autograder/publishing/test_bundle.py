"""Student bundles: complete, free of solutions, and runnable in a fresh environment."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder.publishing.bundle import BundleLeak, build_bundle, check_bundle, solution_fragments
from tests.helpers.nbgrader_course import ASSIGNMENTS, REPO, answer_cells, read_source, strip_solution_markers


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_bundle_is_complete_and_clean(tmp_path, assignment):
    path = build_bundle(REPO, assignment, tmp_path)
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
    assert f"{assignment}/{assignment}.ipynb" in names
    assert {"course_utils/__init__.py", "course_utils/data.py", "requirements.txt", "environment.yml", "README.md"} <= names
    assert not [n for n in names if n.startswith(("source/", "tests/", "autograder/"))]
    assert check_bundle(path, read_source(assignment)) == []
    # reproducible: same inputs, same bytes
    again = build_bundle(REPO, assignment, tmp_path / "again")
    assert again.read_bytes() == path.read_bytes()


def _scratch_course(tmp_path, assignment) -> Path:
    root = tmp_path / "course"
    for part in ("course_utils", f"release/{assignment}", f"source/{assignment}"):
        shutil.copytree(REPO / part, root / part, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def test_planted_solution_refuses_the_bundle(tmp_path):
    assignment = "optimizers"
    root = _scratch_course(tmp_path, assignment)
    fragment = sorted(solution_fragments(read_source(assignment)), key=len)[-1]
    (root / "course_utils" / "helpers_for_students.py").write_text(f"def f(w):\n    {fragment}\n")
    with pytest.raises(BundleLeak, match="helpers_for_students.py"):
        build_bundle(root, assignment, tmp_path / "dist")


def test_planted_solution_in_an_existing_zip_is_found(tmp_path):
    assignment = "regularization"
    path = build_bundle(REPO, assignment, tmp_path)
    fragment = next(iter(solution_fragments(read_source(assignment))))
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr("course_utils/cheat.py", fragment)
    hits = check_bundle(path, read_source(assignment))
    assert any("course_utils/cheat.py" in h for h in hits)


def test_hidden_test_marker_in_release_is_refused(tmp_path):
    assignment = "regularization"
    root = _scratch_course(tmp_path, assignment)
    nb_path = root / "release" / assignment / f"{assignment}.ipynb"
    nb = nbformat.read(str(nb_path), as_version=4)
    nb.cells[-1].source += "\n### BEGIN HIDDEN TESTS\n### END HIDDEN TESTS"
    nbformat.write(nb, str(nb_path))
    with pytest.raises(BundleLeak, match="marker"):
        build_bundle(root, assignment, tmp_path / "dist")


@pytest.mark.slow
@pytest.mark.xdist_group("bundle-venv")
def test_bundle_runs_in_a_fresh_virtualenv(tmp_path):
    """Unpack into an empty folder, make a new venv from the bundle's requirements, run the notebook."""
    assignment = "regularization"
    path = build_bundle(REPO, assignment, tmp_path / "dist")
    student = tmp_path / "student"
    with zipfile.ZipFile(path) as zf:
        zf.extractall(student)

    # the student completes the notebook: every answer cell gets the instructor's solution
    nb_path = student / assignment / f"{assignment}.ipynb"
    nb = nbformat.read(str(nb_path), as_version=4)
    solutions = answer_cells(read_source(assignment))
    for grade_id, cell in answer_cells(nb).items():
        cell.source = strip_solution_markers(solutions[grade_id].source)
    nbformat.write(nb, str(nb_path))

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    # pin the torch build first (as `make` does with TORCH_SPEC) so the ranges below install nothing bigger
    torch_spec = os.environ.get("TORCH_SPEC", "torch==2.13.0")
    pip = [str(py), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run(pip + [torch_spec], check=True, env=env, timeout=900)
    subprocess.run(pip + ["-r", str(student / "requirements.txt"), "nbclient"], check=True, env=env, timeout=900)
    subprocess.run([str(py), "-m", "ipykernel", "install", "--sys-prefix", "--name", "python3"],
                   check=True, env=env, capture_output=True)
    check = (
        "import sys, nbformat\n"
        "from nbclient import NotebookClient\n"
        "nb = nbformat.read(sys.argv[1], as_version=4)\n"
        "NotebookClient(nb, timeout=120, kernel_name='python3', resources={'metadata': {'path': sys.argv[2]}}).execute()\n"
        "errs = [o for c in nb.cells if c.cell_type == 'code' for o in c.outputs if o.get('output_type') == 'error']\n"
        "print('ERRORS', len(errs), [e.get('evalue') for e in errs][:3])\n"
        "sys.exit(1 if errs else 0)\n"
    )
    env.update(COURSE_HEADLESS="1", MPLBACKEND="Agg", COURSE_DATASET="digits")
    proc = subprocess.run([str(py), "-c", check, str(nb_path), str(nb_path.parent)], cwd=nb_path.parent,
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"notebook failed in the fresh venv:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    # course_utils came from the bundle, not from the course's editable install
    probe = subprocess.run([str(py), "-c", "import course_utils, sys; print(course_utils.__file__)"],
                           cwd=student, env=env, capture_output=True, text=True)
    assert str(student) in probe.stdout
