"""A full disk and a read-only grades/ folder in the middle of a batch (a real small tmpfs, mounted by the test).

The batch must stop with a clear error that names the problem and the fix,
keep every result it had written (byte for byte, no half-written files), and a
rerun once the disk is fixed must grade exactly the students that were missing.
Needs root (mount); skips elsewhere, fails under CI=true where it must run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import nbformat
import pytest

from tests.autograder import toycourse as T
from tests.helpers.nbgrader_course import grading_env, solution_submission

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("infra_disk")]

EXPECTED = {"good": ("graded", 6.0), "good2": ("graded", 6.0), "buggy": ("graded", 4.0),
            "blank": ("graded", 0.0), "buggy2": ("graded", 4.0), "good3": ("graded", 6.0)}


@pytest.fixture
def small_fs(tmp_path):
    """A 2 MB tmpfs at tmp_path/mnt, unmounted at the end."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    ok = os.geteuid() == 0 and subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", f"regopt-{uuid.uuid4().hex[:6]}",
                                               str(mnt)], capture_output=True).returncode == 0
    if not ok:
        msg = "mounting a small tmpfs needs root (CAP_SYS_ADMIN)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI=true and {msg}", pytrace=False)
        pytest.skip(msg)
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def _course(root: Path):
    c = T.make_course(root)
    src = c.source_nb(T.A)
    buggy = T.with_answer(c, "add", "def add(a, b):\n    return a - b\n")
    for sid, nb in (("good", solution_submission(src)), ("good2", solution_submission(src)), ("buggy", buggy),
                    ("blank", nbformat.read(str(c.release_path(T.A)), as_version=4)), ("buggy2", buggy),
                    ("good3", solution_submission(src))):
        c.submit(T.A, sid, nb)
    return c


def _grade(root: Path, out: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "autograder", "grade", T.A, "--workers", "2", "--no-progress",
                             "--timeout-cell", "30", "--output", str(out)], cwd=root, env=grading_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _snapshot(results: Path) -> dict:
    return {p.name: p.read_bytes() for p in results.iterdir()} if results.exists() else {}


def _fill(mnt: Path) -> None:
    with open(mnt / "filler", "wb") as fh:
        try:
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
        except OSError:
            pass


def _interrupted_batch(tmp_path, mnt, break_it, fixed_msg):
    c = _course(tmp_path / "course")
    out = mnt / "grades" / T.A
    results = out / "results"
    proc = _grade(c.root, out)
    end = time.monotonic() + 600
    while len(list(results.glob("*.json")) if results.exists() else []) < 2:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < end, "no results after 10 minutes"
        time.sleep(0.05)
    break_it()
    before = _snapshot(results)
    stdout, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 2, (stdout[-2000:], stderr[-3000:])
    assert "Traceback" not in stderr
    for text in (*fixed_msg, "run the same command again", "--output DIR", str(out)):
        assert text in stderr, (text, stderr[-2000:])
    after = _snapshot(results)
    assert {k: v for k, v in after.items() if k in before} == before  # nothing written earlier is lost
    assert not [n for n in after if n.endswith(".tmp")]
    for data in after.values():
        json.loads(data)
    assert len(after) < len(EXPECTED), "the batch finished before the disk broke: nothing was tested"
    return c, out, after


def _rerun(c, out, saved):
    proc = _grade(c.root, out)
    stdout, stderr = proc.communicate(timeout=900)
    assert proc.returncode == 0, stderr[-3000:]
    assert f"skipping {len(saved)} student(s)" in stderr
    got = {p.stem: (json.loads(p.read_text())["extra_data"]["status"], json.loads(p.read_text())["score"])
           for p in (out / "results").glob("*.json")}
    assert got == EXPECTED
    for name, data in saved.items():  # kept, not regraded
        assert (out / "results" / name).read_bytes() == data


def test_full_disk_stops_the_batch_clearly_and_keeps_results(tmp_path, small_fs):
    c, out, saved = _interrupted_batch(tmp_path, small_fs, lambda: _fill(small_fs),
                                       ("No space left on device", "free space on that disk"))
    (small_fs / "filler").unlink()
    _rerun(c, out, saved)


def test_read_only_grades_folder_stops_the_batch_clearly(tmp_path, small_fs):
    remount = lambda mode: subprocess.run(["mount", "-o", f"remount,{mode}", str(small_fs)], check=True)  # noqa: E731
    c, out, saved = _interrupted_batch(tmp_path, small_fs, lambda: remount("ro"),
                                       ("Read-only file system", "remount it read-write"))
    remount("rw")
    _rerun(c, out, saved)
