"""Repair of mangled notebooks, without nbgrader (fast)."""

from __future__ import annotations

import json

import nbformat
import pytest

from autograder.grading.repair import UnreadableNotebook, repair_notebook
from tests.helpers.nbgrader_course import nb_meta, solution_submission
from tests.autograder import toycourse as T


def _masters():
    src = T.source_notebook()
    out = []
    for c in src.cells:
        m = nb_meta(c)
        if not m.get("grade_id"):
            continue
        kind = "test" if m.get("grade") else "answer" if m.get("solution") else "locked"
        out.append({"name": m["grade_id"], "kind": kind, "cell_type": c.cell_type, "locked": m["locked"],
                    "source": c.source, "checksum": None, "points": m.get("points")})
    return out


def _ids(data):
    nb = nbformat.reads(data.decode(), as_version=4)
    return [nb_meta(c).get("grade_id") for c in nb.cells if nb_meta(c).get("grade_id")]


ORDER = ["setup", "add", "test_add", "scale", "test_scale", "test_scale_one"]


def test_clean_notebook_untouched():
    data, notes = repair_notebook(nbformat.writes(solution_submission(T.source_notebook())).encode(), _masters())
    assert notes == [] and _ids(data) == ORDER


def test_deleted_setup_and_test_restored_in_place():
    nb = T.drop_cells(solution_submission(T.source_notebook()), ["setup", "test_scale"])
    data, notes = repair_notebook(nbformat.writes(nb).encode(), _masters())
    assert _ids(data) == ORDER
    assert "setup, test_scale" in notes[-1]


def test_bad_json_types_fixed():
    raw = json.loads(nbformat.writes(solution_submission(T.source_notebook())))
    raw["cells"][2]["execution_count"] = "3"
    raw["cells"][2]["outputs"] = None
    raw["cells"][3]["metadata"] = []
    del raw["cells"][4]["id"]
    data, notes = repair_notebook(json.dumps(raw).encode(), _masters())
    assert any("invalid JSON types" in n for n in notes)
    assert nbformat.validate(nbformat.reads(data.decode(), as_version=4)) is None
    assert _ids(data) == ORDER  # the cell that lost its metadata is matched again by its source


def test_truncated_json_message_reads_right():
    with pytest.raises(UnreadableNotebook) as info:
        repair_notebook(b'{"cells": [{"source": "unterminated', _masters())
    assert "Unterminated string starting at line 1" in str(info.value) and "at at" not in str(info.value)


@pytest.mark.parametrize("data,needle", [(b"", "not valid notebook JSON"), (b"[1, 2]", "not a notebook"),
                                         (b"\xff\xfe", "not UTF-8"), (b'{"nbformat": 9}', "unsupported")])
def test_unreadable(data, needle):
    with pytest.raises(UnreadableNotebook, match=needle):
        repair_notebook(data, _masters())
