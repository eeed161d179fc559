"""A student's workspace survives every regeneration of release/, and their JupyterLab has no instructor tools."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from course_utils.workspace import MANIFEST, main, sync_workspace

REPO = Path(__file__).resolve().parents[2]


def _release(root: Path, text: str = "print('release v1')") -> Path:
    rel = root / "release" / "optimizers"
    rel.mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(text)])
    nbformat.write(nb, rel / "optimizers.ipynb")
    (rel / "data.txt").write_text("instructor data\n")
    return root / "release"


def _edit(path: Path, text: str) -> None:
    nb = nbformat.read(path, as_version=4)
    nb.cells[0].source = text
    nbformat.write(nb, path)


def test_first_sync_copies_the_release(tmp_path):
    release = _release(tmp_path)
    report = sync_workspace(release, tmp_path / "workspace")
    assert sorted(report.copied) == ["optimizers/data.txt", "optimizers/optimizers.ipynb"]
    assert (tmp_path / "workspace" / "optimizers" / "optimizers.ipynb").read_bytes() == \
        (release / "optimizers" / "optimizers.ipynb").read_bytes()
    assert json.loads((tmp_path / "workspace" / MANIFEST).read_text())


def test_student_edits_survive_a_new_release(tmp_path):
    release = _release(tmp_path)
    ws = tmp_path / "workspace"
    sync_workspace(release, ws)
    mine = ws / "optimizers" / "optimizers.ipynb"
    _edit(mine, "def sgd(w, dw, config=None):\n    return w - 0.01 * dw, config  # my work")
    before = mine.read_bytes()

    sync_workspace(release, ws)  # nothing changed: nothing to say
    assert mine.read_bytes() == before

    _release(tmp_path, "print('release v2, with a fix')")
    report = sync_workspace(release, ws, now=0)
    assert mine.read_bytes() == before, "the student's edited notebook was overwritten"
    (kept, new), = report.updates
    assert kept == "optimizers/optimizers.ipynb"
    assert "release v2" in (ws / new).read_text()
    assert any("your notebook is kept" in line for line in report.lines())
    # said once: the next launch does not copy it again
    assert sync_workspace(release, ws).updates == []


def test_unedited_copy_takes_the_new_release(tmp_path):
    release = _release(tmp_path)
    ws = tmp_path / "workspace"
    sync_workspace(release, ws)
    _release(tmp_path, "print('release v2')")
    report = sync_workspace(release, ws)
    assert report.refreshed == ["optimizers/optimizers.ipynb"]
    assert "release v2" in (ws / "optimizers" / "optimizers.ipynb").read_text()


def test_missing_release_is_a_clear_error(tmp_path, capsys):
    code = main(["--release", str(tmp_path / "nope"), "--workspace", str(tmp_path / "ws")])
    assert code == 2
    assert "run this from the course folder" in capsys.readouterr().err


@pytest.mark.slow
def test_workspace_survives_regenerating_the_release(tmp_path):
    """What `make demo`, `make release` and `make publish` do to release/ never reaches workspace/."""
    course = tmp_path / "course"
    course.mkdir()
    for name in ("source", "release", "nbgrader_config.py"):
        src = REPO / name
        (subprocess.run(["cp", "-r", str(src), str(course / name)], check=True))
    sync_workspace(course / "release", course / "workspace")
    mine = course / "workspace" / "regularization" / "regularization.ipynb"
    _edit(mine, "# my answers\nx = 1")
    before = mine.read_bytes()
    # a source edit, then the release regenerated as make release/demo/publish do
    src_nb = course / "source" / "regularization" / "regularization.ipynb"
    nb = nbformat.read(src_nb, as_version=4)
    nb.cells[0].source += "\n\nA clarification added after the release."
    nbformat.write(nb, src_nb)
    env = dict(os.environ, PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))
    subprocess.run([sys.executable, "-m", "autograder", "--course-dir", str(course), "release", "regularization"],
                   check=True, env=env, capture_output=True, cwd=course)
    assert "A clarification" in (course / "release" / "regularization" / "regularization.ipynb").read_text()
    report = sync_workspace(course / "release", course / "workspace")
    assert mine.read_bytes() == before
    assert report.updates and "A clarification" in (course / "workspace" / report.updates[0][1]).read_text()


def test_student_jupyter_has_no_instructor_tools():
    """`make lab`'s JUPYTER_CONFIG_PATH disables formgrader and create-assignment, keeps validate."""
    code = (
        "import json\n"
        "from jupyter_core.paths import jupyter_config_path\n"
        "from jupyter_server.extension.config import ExtensionConfigManager\n"
        "from jupyterlab_server.config import get_static_page_config\n"
        "ext = ExtensionConfigManager(read_config_path=jupyter_config_path()).get_jpserver_extensions()\n"
        "lab = get_static_page_config(level='all').get('disabledExtensions', {})\n"
        "print(json.dumps({'server': ext, 'lab': lab}))\n"
    )
    env = dict(os.environ, JUPYTER_CONFIG_PATH=str(REPO / "tools" / "student_jupyter"))
    out = json.loads(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                                    check=True).stdout)
    assert out["server"].get("nbgrader.server_extensions.formgrader") is False
    assert out["server"].get("nbgrader.server_extensions.validate_assignment") is True
    assert out["lab"].get("@jupyter/nbgrader:formgrader") and out["lab"].get("@jupyter/nbgrader:create-assignment")
    assert not out["lab"].get("@jupyter/nbgrader:validate-assignment")
    makefile = (REPO / "Makefile").read_text()
    assert "tools/student_jupyter" in makefile and "course_utils.workspace" in makefile
