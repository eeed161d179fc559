"""``python -m autograder publish``: gates first, then release/, the exchange and bundles; nothing on failure.

Runs on the synthetic toy assignment (tests/autograder/toycourse.py) so the real
nbgrader commands take seconds per gate; the real assignments go through the
same gate functions in tests/course/test_gates.py.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder.publishing import gates, publish
from tests.autograder.toycourse import A, source_notebook
from tests.helpers.nbgrader_course import REPO, nb_meta

pytestmark = pytest.mark.xdist_group("publish")


def _course(tmp_path: Path, notebooks: dict) -> Path:
    root = tmp_path / "course"
    root.mkdir()
    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    shutil.copytree(REPO / "course_utils", root / "course_utils", ignore=shutil.ignore_patterns("__pycache__"))
    for name, nb in notebooks.items():
        (root / "source" / name).mkdir(parents=True)
        nbformat.write(nb, str(root / "source" / name / f"{name}.ipynb"))
    return root


def _exchange(tmp_path: Path) -> Path:
    ex = tmp_path / "exchange"
    ex.mkdir()
    ex.chmod(0o777)
    return ex


def _edit(nb, grade_id: str, old: str, new: str):
    cell = next(c for c in nb.cells if nb_meta(c).get("grade_id") == grade_id)
    assert old in cell.source, f"{old!r} not in {grade_id}"
    cell.source = cell.source.replace(old, new)
    return nb


def _publish(root, *names, **kw):
    lines = []
    code = publish.publish(root, list(names) or None, log=lines.append, **kw)
    return code, "\n".join(lines)


# ---------------------------------------------------------------- fast: bad input, gate helpers

def test_unknown_assignment_is_refused_with_the_known_ones(tmp_path):
    root = _course(tmp_path, {A: source_notebook()})
    code, out = _publish(root, "nope")
    assert code == 2
    assert "no source/<name>/<name>.ipynb for nope" in out and A in out


def test_missing_exchange_is_refused_before_any_gate(tmp_path):
    root = _course(tmp_path, {A: source_notebook()})
    code, out = _publish(root, A, exchange=True, exchange_root=str(tmp_path / "missing"))
    assert code == 2
    assert "does not exist" in out and "--exchange-root" in out
    assert "running the course gates" not in out
    assert not (root / "release").exists()


def test_course_without_course_id_cannot_use_the_exchange(tmp_path):
    root = _course(tmp_path, {A: source_notebook()})
    cfg = (root / "nbgrader_config.py").read_text().replace('c.CourseDirectory.course_id = "regopt"', "")
    (root / "nbgrader_config.py").write_text(cfg)
    code, out = _publish(root, A, exchange=True, exchange_root=str(_exchange(tmp_path)))
    assert code == 2 and "course_id" in out


def test_committed_gate_finds_extra_files_and_outputs(tmp_path):
    nb = source_notebook()
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="setup ok\n")]
    root = _course(tmp_path, {A: nb})
    (root / "source" / A / "answers.py").write_text("def add(a, b):\n    return a + b\n")
    r = gates.gate_committed(root, A)
    assert not r.ok
    text = r.report()
    assert "answers.py" in text and "outputs in cells" in text and "how to fix" in text
    assert text.startswith(f"{A}: gate 'committed' failed")


def test_release_dir_check_finds_markers_outputs_and_hidden_lines(tmp_path):
    src = source_notebook()
    rel = nbformat.from_dict(source_notebook())
    for cell in rel.cells:  # what generate_assignment leaves: regions gone
        cell.source = re.sub(r"### BEGIN (SOLUTION|HIDDEN TESTS).*?### END \1", "", cell.source, flags=re.S)
    rel.cells[3].source += "\n### END HIDDEN TESTS"
    rel.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="x\n")]
    rel.cells[7].source = 'print("demo")\nassert add(2, 3) == 5, "add(2, 3) should be 5"  # copied from a hidden test'
    d = tmp_path / "release" / A
    d.mkdir(parents=True)
    clean = nbformat.from_dict(rel)
    clean.cells = [c for i, c in enumerate(rel.cells) if i not in (1, 3, 7)]
    nbformat.write(clean, str(d / f"{A}.ipynb"))
    assert gates.check_release_dir(d, src) == []
    nbformat.write(rel, str(d / f"{A}.ipynb"))
    problems = gates.check_release_dir(d, src)
    joined = "\n".join(problems)
    assert "marker" in joined and "outputs in cells [1]" in joined
    assert "only inside solution/hidden-test regions" in joined and "add(2, 3) should be 5" in joined


def test_canaries_go_into_every_region():
    nb = source_notebook()
    assert gates.plant_canaries(nb, "CANARY-x") == 4  # add, scale; hidden tests of test_add, test_scale
    assert sum(c.source.count("CANARY-x") for c in nb.cells) == 4


# ---------------------------------------------------------------- slow: the real nbgrader commands

@pytest.mark.slow
def test_gates_pass_then_release_exchange_and_bundle_are_written(tmp_path, capsys):
    root = _course(tmp_path, {A: source_notebook()})
    exchange = _exchange(tmp_path)
    code, out = _publish(root, A, exchange=True, exchange_root=str(exchange), bundle_dir="dist")
    table = capsys.readouterr().out
    assert code == 0, out + table
    for gate in gates.GATES:
        assert re.search(rf"{A}\s+{gate}\s+ok\s+\d+\.\d s", out), f"no timing line for {gate}:\n{out}"
    assert "course gates" in table and "FAIL" not in table
    release = root / "release" / A / f"{A}.ipynb"
    assert release.is_file() and "BEGIN SOLUTION" not in release.read_text()
    assert (exchange / "regopt" / "outbound" / A / f"{A}.ipynb").read_bytes() == release.read_bytes()
    with zipfile.ZipFile(root / "dist" / f"regopt-{A}.zip") as zf:
        assert f"{A}/{A}.ipynb" in zf.namelist() and "course_utils/__init__.py" in zf.namelist()
    # the released cells (hidden tests included) are in the course gradebook, due date kept on a re-publish
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        gb.update_or_create_assignment(A, duedate="2030-01-15 17:00:00 UTC")
        hidden = [c.source for c in gb.find_notebook(A, A).source_cells if "BEGIN HIDDEN TESTS" in c.source]
    assert hidden, "publish --exchange did not record the hidden tests in the gradebook"

    # a second publish to the same exchange needs --force, and says so before running any gate
    code, out = _publish(root, A, exchange=True, exchange_root=str(exchange))
    assert code == 2 and "--force" in out and "running the course gates" not in out
    code, out = _publish(root, A, exchange=True, exchange_root=str(exchange), force=True)
    assert code == 0, out
    assert f"release/{A}/ unchanged" in out
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        assert gb.find_assignment(A).duedate.isoformat().startswith("2030-01-15T17:00")


@pytest.mark.slow
def test_failing_gates_name_the_gate_and_fix_and_publish_nothing(tmp_path, capsys):
    wrong = _edit(source_notebook(), "add", "return a + b", "return a - b")          # the solution is wrong
    blank_passes = _edit(source_notebook(), "test_scale_one",
                         'assert scale(1, 1) == 1, "scale(1, 1) should be 1"', "assert True")  # passes unanswered
    good = source_notebook()
    root = _course(tmp_path, {A: wrong, "leaky": blank_passes, "fine": good})
    (root / "source" / "leaky" / "solutions.txt").write_text("scale: return x * k\n")  # would ship to students
    exchange = _exchange(tmp_path)
    code, out = _publish(root, A, "leaky", "fine", exchange=True, exchange_root=str(exchange), bundle_dir="dist")
    table = capsys.readouterr().out
    assert code == 1, out
    assert "FAIL" in table
    failed = set(re.findall(r"^(\w+): gate '(\w+)' failed", out, re.M))
    assert {(A, "execute"), (A, "grades"), ("leaky", "committed"), ("leaky", "grades"), ("leaky", "invert")} <= failed, out
    assert not any(a == "fine" for a, _ in failed), out
    assert "the instructor solution scored 4/6" in out and "test_add" in out
    assert "the untouched release scored 1" in out and "test_scale_one" in out
    assert "solutions.txt" in out
    assert out.count("how to fix:") >= 5
    assert "nothing was published" in out
    # nothing written anywhere, not even for the assignment that passed
    assert not (root / "release").exists()
    assert not any(exchange.iterdir())
    assert not (root / "dist").exists()
    assert not (root / "gradebook.db").exists()


@pytest.mark.slow
def test_cli_check_mode_reports_an_out_of_date_release(tmp_path):
    root = _course(tmp_path, {A: source_notebook()})
    rel = root / "release" / A
    rel.mkdir(parents=True)
    stale = source_notebook()
    stale.cells = stale.cells[:-1]
    nbformat.write(stale, str(rel / f"{A}.ipynb"))
    before = (rel / f"{A}.ipynb").read_bytes()
    proc = subprocess.run([sys.executable, "-m", "autograder", "--course-dir", str(root), "publish", A, "--check"],
                          capture_output=True, text=True, timeout=1200)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert f"{A}: gate 'sync' failed" in out and "make release" in out
    assert "writes nothing" in out
    assert (rel / f"{A}.ipynb").read_bytes() == before  # --check writes nothing
