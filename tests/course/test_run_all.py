"""Run All on an untouched release reaches the end (issue 17).

Every Autograder tests cell carries the ``raises-exception`` tag, which
JupyterLab 4's Run All honors (it sends that cell with ``stop_on_error:
false``; verified in the real JupyterLab with chromium, see
docs/INSTRUCTORS.md §1). nbclient honors the same tag, so executing the
untouched release with nbclient and ``allow_errors=False`` is the headless
stand-in for a student's Run All: it must reach the last cell, every check
must show its failure, and no untagged cell may raise (an untagged failure
stops both nbclient and JupyterLab). ``nbgrader validate --invert`` still sees
every test fail: that is the ``invert`` gate in tests/course/test_gates.py.
"""

from __future__ import annotations

import os

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from tests.helpers.nbgrader_course import REPO, nb_meta

pytestmark = pytest.mark.slow

RUN_ALL = ["regularization", "gradients", "optimizers", "linear_classifier"]


def _is_test_cell(cell) -> bool:
    m = nb_meta(cell)
    return cell.cell_type == "code" and bool(m.get("grade")) and not m.get("solution")


@pytest.mark.parametrize("assignment", RUN_ALL)
def test_every_check_cell_is_tagged_raises_exception(assignment):
    for kind in ("source", "release"):
        nb = nbformat.read(REPO / kind / assignment / f"{assignment}.ipynb", as_version=4)
        untagged = [nb_meta(c).get("grade_id") for c in nb.cells
                    if _is_test_cell(c) and "raises-exception" not in c.metadata.get("tags", [])]
        assert not untagged, (f"{kind}/{assignment}: check cells without the raises-exception tag (Run All stops "
                              f"at the first of them): {untagged}")


@pytest.mark.parametrize("assignment", [pytest.param(a, marks=pytest.mark.xdist_group(f"runall-{a}")) for a in RUN_ALL])
def test_run_all_on_the_untouched_release_reaches_the_end(assignment, monkeypatch):
    monkeypatch.setenv("COURSE_HEADLESS", "1")
    path = REPO / "release" / assignment / f"{assignment}.ipynb"
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=False,
                            resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute()
    except CellExecutionError as e:
        pytest.fail(f"{assignment}: Run All stopped at an untagged cell that raised:\n{str(e)[-1500:]}")
    code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    assert code[-1].get("execution_count"), f"{assignment}: the last code cell never ran"
    silent = [nb_meta(c).get("grade_id") for c in code
              if _is_test_cell(c) and not any(o.get("output_type") == "error" for o in c.get("outputs", []))]
    assert not silent, f"{assignment}: checks that did not visibly fail on the untouched release: {silent}"
    errors_elsewhere = [c.get("id") for c in code
                        if not _is_test_cell(c) and any(o.get("output_type") == "error" for o in c.get("outputs", []))]
    assert not errors_elsewhere, f"{assignment}: demo cells that raise on the untouched release: {errors_elsewhere}"
