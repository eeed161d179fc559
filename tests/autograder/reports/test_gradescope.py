"""Gradescope: build autograder.zip, run run_autograder in a simulated /autograder, validate results.json."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder.course import CourseError
from autograder.reports import gradescope
from autograder.results import StudentResult, TestResult
from tests.autograder.feedback_batch import (ASSIGNMENT, CANARY, DUE, HINT_ADD, build_course, source_notebook,
                                             submissions)

pytestmark = pytest.mark.xdist_group("feedback")

TOP_KEYS = {"score", "execution_time", "output", "output_format", "test_output_format", "test_name_format",
            "visibility", "stdout_visibility", "extra_data", "tests", "leaderboard"}
TEST_KEYS = {"score", "max_score", "status", "name", "name_format", "number", "output", "output_format", "tags",
             "visibility", "extra_data"}


def validate_results(data: dict) -> None:
    """Fields and types of Gradescope's results.json specification."""
    assert isinstance(data, dict)
    assert set(data) <= TOP_KEYS, f"unknown top-level keys {set(data) - TOP_KEYS}"
    assert "score" in data or "tests" in data
    if "score" in data:
        assert isinstance(data["score"], (int, float)) and not isinstance(data["score"], bool)
    if "execution_time" in data:
        assert isinstance(data["execution_time"], (int, float)) and data["execution_time"] >= 0
    for key in ("output", "output_format"):
        if key in data:
            assert isinstance(data[key], str)
    for key in ("visibility", "stdout_visibility"):
        if key in data:
            assert data[key] in gradescope.VISIBILITIES
    assert isinstance(data.get("tests", []), list)
    for t in data.get("tests", []):
        assert set(t) <= TEST_KEYS, f"unknown test keys {set(t) - TEST_KEYS}"
        for key in ("score", "max_score"):
            if key in t:
                assert isinstance(t[key], (int, float)) and not isinstance(t[key], bool)
        if "status" in t:
            assert t["status"] in ("passed", "failed")
        for key in ("name", "number", "output"):
            if key in t:
                assert isinstance(t[key], str)
        if "visibility" in t:
            assert t["visibility"] in gradescope.VISIBILITIES
    json.dumps(data)


# ---------------------------------------------------------------- fast: results builder, build errors

def test_results_hold_back_hidden_messages_until_the_due_date():
    r = StudentResult("s", "a", tests=[
        TestResult("test_f", 0.0, 2.0, "AssertionError: looks like 0.5 lambda"),
        TestResult("test_g", 1.0, 1.0, "")])
    default = gradescope.gradescope_results(r, {}, hidden={"test_f"}, elapsed=1.0)
    validate_results(default)
    assert default["visibility"] == "visible" and default["stdout_visibility"] == "hidden"
    assert {t["visibility"] for t in default["tests"]} == {"after_due_date"}
    assert "Score: 1 / 3" in default["output"] and "looks like" not in default["output"]
    visible = gradescope.gradescope_results(r, {"test_visibility": "visible"}, hidden={"test_f"}, elapsed=1.0)
    validate_results(visible)
    shown_now = [t for t in visible["tests"] if t["visibility"] == "visible"]
    assert [t["name"] for t in shown_now] == ["test_f", "test_g"]
    assert all("looks like" not in t["output"] for t in shown_now)
    later = [t for t in visible["tests"] if t["visibility"] == "after_due_date"]
    assert len(later) == 1 and "looks like 0.5 lambda" in later[0]["output"] and later[0]["max_score"] == 0


def test_find_notebook_rules(tmp_path):
    (tmp_path / "sub").mkdir()
    with pytest.raises(gradescope.UserError, match="No notebook"):
        gradescope.find_notebook(tmp_path / "sub", "a")
    (tmp_path / "sub" / "mine.ipynb").write_text("{}")
    assert gradescope.find_notebook(tmp_path / "sub", "a").name == "mine.ipynb"
    (tmp_path / "sub" / "other.ipynb").write_text("{}")
    with pytest.raises(gradescope.UserError, match="2 notebooks"):
        gradescope.find_notebook(tmp_path / "sub", "a")
    (tmp_path / "sub" / "deep").mkdir()
    (tmp_path / "sub" / "deep" / "a.ipynb").write_text("{}")
    assert gradescope.find_notebook(tmp_path / "sub", "a").name == "a.ipynb"


def test_build_rejects_unknown_assignment_and_visibility(tmp_path):
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\n")
    with pytest.raises(CourseError, match="no source notebook"):
        gradescope.build_zip(tmp_path, "nope", tmp_path / "a.zip")
    with pytest.raises(CourseError, match="not one of"):
        gradescope.build_zip(tmp_path, "nope", tmp_path / "a.zip", test_visibility="public")


# ---------------------------------------------------------------- the zip, run like Gradescope

@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("gs_course")
    return build_course(root, students={})


@pytest.fixture(scope="module")
def zips(course, tmp_path_factory):
    out = tmp_path_factory.mktemp("gs_zips")
    default = out / "default.zip"
    proc = subprocess.run([sys.executable, "-m", "autograder.reports.gradescope", ASSIGNMENT, "--root", str(course.root),
                           "--out", str(default)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    late = gradescope.build_zip(course.root, ASSIGNMENT, out / "late.zip", late_penalty=True,
                                test_visibility="visible")
    return {"default": default, "late": late}


@pytest.mark.slow
def test_zip_layout(zips):
    with zipfile.ZipFile(zips["default"]) as zf:
        names = set(zf.namelist())
        modes = {i.filename: i.external_attr >> 16 for i in zf.infolist()}
        cfg = json.loads(zf.read("gradescope_config.json"))
        setup = zf.read("setup.sh").decode()
    for required in ("setup.sh", "run_autograder", "gradescope_config.json", "course/pyproject.toml",
                     "course/nbgrader_config.py", f"course/source/{ASSIGNMENT}/{ASSIGNMENT}.ipynb",
                     "course/autograder/reports/gradescope.py", "course/autograder/cli.py", "course/course_utils/__init__.py"):
        assert required in names, required
    assert modes["run_autograder"] & stat.S_IXUSR and modes["setup.sh"] & stat.S_IXUSR
    assert not any("__pycache__" in n or n.startswith("course/source/") and not n.endswith(".ipynb") for n in names)
    assert cfg["assignment"] == ASSIGNMENT and cfg["test_visibility"] == "after_due_date"
    assert "download.pytorch.org/whl/cpu" in setup and "torch==" in setup and "/course" in setup


def _gradescope_dir(tmp_path: Path, zip_path: Path, notebook=None, raw: bytes | None = None, metadata=None) -> Path:
    base = tmp_path / "autograder"
    for sub in ("source", "submission", "results"):
        (base / sub).mkdir(parents=True)
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(base / "source")
    for name in ("run_autograder", "setup.sh"):
        (base / "source" / name).chmod(0o755)
    if notebook is not None:
        nbformat.write(notebook, str(base / "submission" / f"{ASSIGNMENT}.ipynb"))
    if raw is not None:
        (base / "submission" / f"{ASSIGNMENT}.ipynb").write_bytes(raw)
    meta = metadata or {"created_at": (DUE.isoformat() + "Z").replace("12:00:00", "10:00:00"),
                        "assignment": {"due_date": DUE.isoformat() + "Z", "title": ASSIGNMENT},
                        "users": [{"email": "s@example.edu", "name": "S"}]}
    (base / "submission_metadata.json").write_text(json.dumps(meta))
    return base


def _run_autograder(base: Path, python: str = sys.executable) -> dict:
    env = dict(os.environ, AUTOGRADER_ROOT=str(base), AUTOGRADER_PYTHON=python, AUTOGRADER_WORK=str(base / "work"))
    proc = subprocess.run([str(base / "source" / "run_autograder")], env=env, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    text = (base / "results" / "results.json").read_text()
    assert CANARY not in text, "results.json leaks hidden test code"
    data = json.loads(text)
    validate_results(data)
    return data


@pytest.fixture(scope="module")
def batch(course):
    return submissions(course)


@pytest.mark.slow
def test_correct_submission_full_marks_with_tests_after_due_date(zips, batch, tmp_path):
    data = _run_autograder(_gradescope_dir(tmp_path, zips["default"], batch["good"][0]))
    assert data["score"] == 6
    assert [(t["name"], t["score"], t["max_score"], t["status"]) for t in data["tests"]] == [
        ("test_add", 2, 2, "passed"), ("test_scale", 3, 3, "passed"), ("test_scale_visible", 1, 1, "passed")]
    assert all(t["visibility"] == "after_due_date" for t in data["tests"])
    assert data["visibility"] == "visible" and data["stdout_visibility"] == "hidden"
    assert data["extra_data"]["status"] == "graded"


@pytest.mark.slow
def test_buggy_submission_gets_the_hint_as_test_output(zips, batch, tmp_path):
    data = _run_autograder(_gradescope_dir(tmp_path, zips["default"], batch["buggy_add"][0]))
    assert data["score"] == 4
    tests = {t["name"]: t for t in data["tests"]}
    assert tests["test_add"]["status"] == "failed" and tests["test_add"]["score"] == 0
    assert tests["test_add"]["output"] == f"AssertionError: {HINT_ADD}"
    assert HINT_ADD not in data["output"]           # only the total is visible before the due date


@pytest.mark.slow
def test_broken_notebook_scores_zero_with_a_clear_output(zips, tmp_path):
    data = _run_autograder(_gradescope_dir(tmp_path, zips["default"], raw=b'{"cells": [ this is not json'))
    assert data["score"] == 0
    assert data["extra_data"]["status"] == "unreadable_notebook"
    assert "could not be read" in data["output"]


@pytest.mark.slow
def test_late_submission_penalty_and_visible_tests_keep_hidden_messages_back(zips, batch, tmp_path):
    late_meta = {"created_at": "2030-01-11T15:00:00+00:00",    # 1 day 3 h late: two started days
                 "assignment": {"due_date": "2030-01-10T12:00:00+00:00"}}
    data = _run_autograder(_gradescope_dir(tmp_path, zips["late"], batch["buggy_add"][0], metadata=late_meta))
    assert data["extra_data"]["raw_score"] == 4 and data["extra_data"]["late_penalty"] == pytest.approx(0.8)
    assert data["score"] == pytest.approx(3.2)
    now = {t["name"]: t for t in data["tests"] if t["visibility"] == "visible"}
    assert now["test_add"]["status"] == "failed" and HINT_ADD not in now["test_add"]["output"]
    later = [t for t in data["tests"] if t["visibility"] == "after_due_date"]
    assert len(later) == 1 and HINT_ADD in later[0]["output"]


@pytest.mark.slow
def test_no_notebook_and_crashes_still_write_results(zips, tmp_path):
    data = _run_autograder(_gradescope_dir(tmp_path / "empty", zips["default"]))
    assert data["score"] == 0 and "No notebook" in data["output"] and data["tests"] == []
    # The interpreter itself fails: run_autograder's shell fallback writes the file.
    data = _run_autograder(_gradescope_dir(tmp_path / "nopython", zips["default"], source_notebook()),
                           python="/bin/false")
    assert data["score"] == 0 and "crashed" in data["output"]
    # A broken bundle (config missing): the Python side reports it.
    base = _gradescope_dir(tmp_path / "noconfig", zips["default"], source_notebook())
    (base / "source" / "gradescope_config.json").unlink()
    data = _run_autograder(base)
    assert data["score"] == 0 and "could not grade" in data["output"]
