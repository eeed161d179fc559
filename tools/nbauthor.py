"""Small helpers to write an nbgrader instructor notebook from Python.

The notebook in ``source/<assignment>/`` is the single source of truth and is
edited in JupyterLab afterwards; these helpers only save typing the nbgrader
cell metadata when a notebook is first laid out (or a cell is added by script).

    from tools.nbauthor import md, code, setup, answer, test, write
    write("source/x/x.ipynb", [md("# Title"), setup("import torch"), ...])
"""

from __future__ import annotations

import textwrap

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook


def _src(text: str) -> str:
    return textwrap.dedent(text).strip("\n")


def md(text: str):
    """A read-only markdown cell (locked so students cannot edit instructions)."""
    return new_markdown_cell(_src(text))


def code(text: str, tags=()):
    """An ordinary, ungraded code cell (demos, plots, widgets)."""
    cell = new_code_cell(_src(text))
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def setup(text: str, grade_id: str = "setup"):
    """The locked setup cell; tagged ``setup`` so reduced grading notebooks keep it."""
    cell = new_code_cell(_src(text))
    cell.metadata["tags"] = ["setup"]
    cell.metadata["nbgrader"] = {
        "grade": False, "solution": False, "locked": True, "task": False,
        "grade_id": grade_id, "schema_version": 3,
    }
    cell.metadata["deletable"] = False
    cell.metadata["editable"] = False
    return cell


def answer(grade_id: str, text: str):
    """An autograded-answer cell: solution region between ### BEGIN/END SOLUTION."""
    cell = new_code_cell(_src(text))
    cell.metadata["nbgrader"] = {
        "grade": False, "solution": True, "locked": False, "task": False,
        "grade_id": grade_id, "schema_version": 3,
    }
    return cell


def test(grade_id: str, text: str, points: float):
    """A locked autograder test cell (visible checks, then ### BEGIN/END HIDDEN TESTS)."""
    cell = new_code_cell(_src(text))
    cell.metadata["nbgrader"] = {
        "grade": True, "solution": False, "locked": True, "task": False,
        "grade_id": grade_id, "points": points, "schema_version": 3,
    }
    cell.metadata["deletable"] = False
    cell.metadata["editable"] = False
    return cell


def write(path, cells, title: str | None = None):
    nb = new_notebook(cells=list(cells))
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python", "version": "3.11"}
    if title:
        nb.metadata["title"] = title
    nbformat.validate(nb)
    nbformat.write(nb, str(path))
    return nb


# The first lines of every setup cell: find course_utils whether the course is
# pip-installed (course repo, JupyterHub), unpacked from a student bundle (the
# package sits next to the notebook's folder) or uploaded to Colab.
SETUP_BOOTSTRAP = '''\
import sys, pathlib
try:
    import course_utils
except ModuleNotFoundError:
    for _folder in [pathlib.Path.cwd(), *pathlib.Path.cwd().parents][:3]:
        if (_folder / "course_utils" / "__init__.py").is_file():
            sys.path.insert(0, str(_folder))
            break
    try:
        import course_utils
    except ModuleNotFoundError:
        raise ModuleNotFoundError(
            "course_utils is not installed. In the course folder run `pip install -e .`; "
            "from a student bundle run `pip install -r requirements.txt` in the bundle folder "
            "and open the notebook from there; in Colab upload the bundle zip and run "
            "`!unzip -o -q regopt-<assignment>.zip && pip install -q -r requirements.txt`."
        ) from None
'''
