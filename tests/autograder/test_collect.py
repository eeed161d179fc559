"""collect on crafted LMS zips and folders."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from datetime import datetime

import nbformat
import pytest

from autograder.collect import collect

NB = nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])).encode()


def _graded_nb(answer: str = "def f(x):\n    return x", ids=("f", "test_f")) -> bytes:
    """A notebook carrying nbgrader cells with the given grade ids."""
    cells = []
    for gid in ids:
        cell = nbformat.v4.new_code_cell(answer if not gid.startswith("test_") else "assert f(1) == 1")
        cell.metadata["nbgrader"] = {"grade_id": gid, "solution": not gid.startswith("test_"),
                                     "grade": gid.startswith("test_"), "locked": gid.startswith("test_"),
                                     "schema_version": 3, **({"points": 1} if gid.startswith("test_") else {})}
        cells.append(cell)
    return nbformat.writes(nbformat.v4.new_notebook(cells=cells)).encode()


def _zip(path, entries):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data, when in entries:
            info = zipfile.ZipInfo(name, date_time=when)
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return path


@pytest.fixture
def course(tmp_path):
    root = tmp_path / "course"
    root.mkdir()
    (root / "nbgrader_config.py").write_text("c = get_config()\n")
    for a in ("regularization", "a1", "optimizers"):
        (root / "release" / a).mkdir(parents=True)
        (root / "release" / a / f"{a}.ipynb").write_bytes(_graded_nb())
    return root


def test_canvas_zip(course, tmp_path):
    z = _zip(tmp_path / "dl.zip", [
        ("smithjane_1234_5678_regularization.ipynb", NB, (2030, 1, 9, 10, 0, 0)),
        ("doe_john_late_2222_9999_regularization-1.ipynb", NB, (2030, 1, 11, 10, 0, 0)),
        ("smithjane_1234_5679_notes.pdf", b"%PDF", (2030, 1, 9, 10, 0, 0)),
    ])
    rep = collect(course, "regularization", z)
    assert rep.ok and sorted(rep.collected) == ["1234", "2222"]
    sub = course / "submitted" / "2222" / "regularization"
    assert (sub / "regularization.ipynb").read_bytes() == NB
    assert (sub / "timestamp.txt").read_text().startswith("2030-01-11")
    text = "\n".join(rep.lines)
    assert "marked late by the LMS" in text and "notes.pdf: not a notebook" in text


def test_zip_slip_never_escapes(course, tmp_path):
    z = _zip(tmp_path / "evil.zip", [
        ("../../evil_1_2_x.ipynb", NB, (2030, 1, 1, 0, 0, 0)),
        ("/abs/evil_3_4_x.ipynb", NB, (2030, 1, 1, 0, 0, 0)),
        ("ok_5_6_x.ipynb", NB, (2030, 1, 1, 0, 0, 0)),
    ])
    before = set(os.listdir(tmp_path))
    rep = collect(course, "a1", z)
    assert sorted(rep.collected) == ["5"]
    assert sum("zip-slip" in line for line in rep.lines) == 1
    assert sum("absolute path" in line for line in rep.lines) == 1
    assert set(os.listdir(tmp_path)) == before
    assert not (course.parent / "evil_1_2_x.ipynb").exists()


def test_zip_bomb_refused(course, tmp_path):
    z = _zip(tmp_path / "bomb.zip", [("bomb_1_2_a.ipynb", b"0" * 30_000_000, (2030, 1, 1, 0, 0, 0))])
    rep = collect(course, "a1", z)
    assert rep.collected == {}
    assert any("zip bomb" in line for line in rep.lines)
    assert not (course / "submitted").exists()
    rep = collect(course, "a1", z, max_total_mb=10)  # the total limit alone also refuses it
    assert not rep.ok and any("exceeds" in line for line in rep.lines)


def test_duplicates_keep_latest_and_roster(course, tmp_path):
    newer = nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 2")])).encode()
    z = _zip(tmp_path / "dup.zip", [
        ("amy_11_1_a1.ipynb", newer, (2030, 1, 2, 0, 0, 0)),
        ("amy_11_2_a1-old.ipynb", NB, (2030, 1, 1, 0, 0, 0)),
        ("eve_66_3_a1.ipynb", NB, (2030, 1, 1, 0, 0, 0)),
    ])
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id,name\n11,Amy\n")
    rep = collect(course, "a1", z, roster=roster)
    assert sorted(rep.collected) == ["11"]
    assert (course / "submitted" / "11" / "a1" / "a1.ipynb").read_bytes() == newer
    text = "\n".join(rep.lines)
    assert "1 other notebook(s) kept aside, not graded: amy_11_2_a1-old.ipynb" in text
    assert "student 66 is not on the roster" in text


def test_folder_tree_and_cli(course, tmp_path):
    tree = tmp_path / "tree"
    (tree / "s1").mkdir(parents=True)
    (tree / "s1" / "whatever name.ipynb").write_bytes(NB)
    (tree / "s1" / "data.csv").write_text("1,2")
    (tree / "stray.ipynb").write_bytes(NB)
    proc = subprocess.run([sys.executable, "-m", "autograder", "--course-dir", str(course), "collect", "a1",
                           str(tree)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert (course / "submitted" / "s1" / "a1" / "a1.ipynb").read_bytes() == NB
    assert "data.csv: not a notebook" in proc.stdout and "stray.ipynb: not inside a <student>/ folder" in proc.stdout


def test_every_command_has_help():
    for cmd in ([], ["collect"], ["grade"], ["release"], ["demo"]):
        proc = subprocess.run([sys.executable, "-m", "autograder", *cmd, "--help"], capture_output=True, text=True)
        assert proc.returncode == 0 and "usage:" in proc.stdout, (cmd, proc.stderr)


def test_scratch_notebook_with_the_same_timestamp_is_set_aside(course, tmp_path):
    """Content decides, never an alphabetical tie-break: 'a_scratch' sorts before 'optimizers'."""
    mine = _graded_nb("def f(x):\n    return x  # mine")
    scratch = nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print('trying')")])).encode()
    when = (2030, 1, 9, 10, 0, 0)
    z = _zip(tmp_path / "dl.zip", [
        ("lovelace_ada_1234_5678_optimizers.ipynb", mine, when),
        ("lovelace_ada_1234_5679_zz_scratch.ipynb", scratch, when),
        ("lovelace_ada_1234_5680_a_scratch.ipynb", scratch, when),
    ])
    rep = collect(course, "optimizers", z)
    assert rep.ok and rep.needs_review == {}
    assert (course / "submitted" / "1234" / "optimizers" / "optimizers.ipynb").read_bytes() == mine
    aside = sorted((course / "collected" / "optimizers" / "1234").iterdir())
    assert len(aside) == 2 and all(p.read_bytes() == scratch for p in aside)
    ledger = json.loads((course / "collected" / "optimizers.json").read_text())
    assert ledger["1234"]["lms_name"] == "lovelace_ada" and ledger["1234"]["needs_review"] is None
    assert "the assignment's cells" in ledger["1234"]["chosen_by"]
    assert any(line.startswith("aside") and "zz_scratch" in line for line in rep.lines)


def test_equal_candidates_at_the_same_time_need_review(course, tmp_path):
    a, b = _graded_nb("def f(x):\n    return x  # one"), _graded_nb("def f(x):\n    return x  # two")
    when = (2030, 1, 9, 10, 0, 0)
    z = _zip(tmp_path / "dl.zip", [("kim_77_1_optimizers.ipynb", a, when),
                                   ("kim_77_2_optimizers-1.ipynb", b, when)])
    rep = collect(course, "optimizers", z)
    assert "77" in rep.needs_review and "same time" in rep.needs_review["77"]
    assert "need review" in rep.summary()
    assert json.loads((course / "collected" / "optimizers.json").read_text())["77"]["needs_review"]


def test_nothing_like_the_assignment_needs_review(course, tmp_path):
    z = _zip(tmp_path / "dl.zip", [("kim_77_1_untitled.ipynb", NB, (2030, 1, 9, 10, 0, 0))])
    rep = collect(course, "optimizers", z)
    assert "77" in rep.collected and "looks like the assignment" in rep.needs_review["77"]


def test_late_flag_and_name_recorded(course, tmp_path):
    z = _zip(tmp_path / "dl.zip", [("doe_john_late_2222_9999_optimizers.ipynb", _graded_nb(), (2030, 1, 11, 10, 0, 0))])
    collect(course, "optimizers", z)
    entry = json.loads((course / "collected" / "optimizers.json").read_text())["2222"]
    assert entry["lms_late"] is True and entry["lms_name"] == "doe_john"
    assert entry["submitted_at"].startswith("2030-01-11")


def test_wrong_assignment_or_folder_writes_nothing(course, tmp_path):
    z = _zip(tmp_path / "dl.zip", [("kim_77_1_optimizers.ipynb", _graded_nb(), (2030, 1, 9, 10, 0, 0))])
    rep = collect(course, "optimizer", z)
    assert not rep.ok and "did you mean 'optimizers'?" in "\n".join(rep.lines)
    assert not (course / "submitted").exists()
    elsewhere = tmp_path / "not_a_course"
    elsewhere.mkdir()
    proc = subprocess.run([sys.executable, "-m", "autograder", "--course-dir", str(elsewhere), "collect",
                           "optimizers", str(z)], capture_output=True, text=True)
    assert proc.returncode == 1 and "not a course folder" in proc.stdout + proc.stderr
    assert not (elsewhere / "submitted").exists()
