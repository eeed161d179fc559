"""Similarity report: student-authored code only, normalized, judged against the class's own pairs.

The acceptance test builds a class of 40 independent optimizers submissions in many styles
(tests/autograder/reports/similarity_class.py) plus 4 planted copies (renamed identifiers, reordered
functions, changed comments and whitespace, one pasted from a known solution) as real nbgrader
notebooks, runs the CLI on it and checks that the 4 copies are the top 4 findings and that no
other pair is flagged. No kernels: similarity never executes student code.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.reports import similarity as sim
from tests.autograder.reports import similarity_class as sc

A = "optimizers"


@pytest.fixture(scope="module")
def class_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("simclass") / "course"
    info = sc.build_course(root, 40, seed=0)
    before = _snapshot(root)
    proc = subprocess.run([sys.executable, "-m", "autograder", "--course-dir", str(root), "similarity", A,
                           "--against", str(info["against"])], capture_output=True, text=True, cwd=root.parent)
    assert proc.returncode == 0, proc.stderr
    out = root / "grades" / A
    return root, info, proc, before, json.loads((out / "similarity.json").read_text()), (out / "similarity.html").read_text()


def _snapshot(root: Path) -> dict:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


def _pair(f):
    return frozenset((f["a"], f["b"]))


def test_planted_copies_are_the_top_four_and_nothing_else_is_flagged(class_run):
    root, info, proc, _, rep, _ = class_run
    planted = {frozenset(p) for p in info["planted"].items()}
    assert len(planted) == 4
    assert len(rep["students"]) == 44
    top4 = {_pair(f) for f in rep["findings"][:4]}
    assert top4 == planted, f"top 4 findings {top4}, planted {planted}"
    flagged = {_pair(f) for f in rep["findings"] if f["flagged"]}
    assert flagged == planted, f"flagged {flagged - planted} besides the copies" if flagged > planted else flagged
    threshold = rep["threshold"]
    indep = [f["z"] for f in rep["findings"] if _pair(f) not in planted]
    copies = [f["z"] for f in rep["findings"] if _pair(f) in planted]
    assert max(indep) < threshold <= min(copies)
    print(f"\ncopies z {sorted(copies)}; highest independent z {max(indep)}; threshold {threshold}; "
          f"score at threshold {rep['stats']['notebook']['score_at_threshold']}")
    assert "flagged 4" in proc.stdout


def test_each_copy_is_also_unusual_function_by_function(class_run):
    _, info, _, _, rep, _ = class_run
    for f in rep["findings"][:4]:
        if f["kind"] == "pair":
            high = [k for k, v in f["per_function"].items() if v["z"] >= rep["threshold"]]
            assert len(high) >= 5, (f["a"], f["b"], f["per_function"])
        else:
            assert f["b"] == "[known_solution.py]" and f["a"] == "c_online"
            assert sum(v["score"] >= 0.9 for v in f["per_function"].values()) >= 6, f["per_function"]


def test_html_shows_pairs_side_by_side_and_explains_the_threshold(class_run):
    _, info, _, _, rep, page = class_run
    assert "Short functions look alike in every correct solution" in page
    assert f"least <b>{rep['threshold']:g}</b>" in page
    assert page.count("<div class=side>") == 4
    assert page.count("<mark>") > 40
    # the reordered copy's helpers sit in an added cell: the report shows it with the copy's code
    assert "# ---- (added cells) ----" in page
    assert "https://" not in page and "<script" not in page


def test_only_similarity_files_are_written(class_run):
    """TA-only: no feedback, results or any student-facing file is written or touched."""
    root, _, _, before, _, _ = class_run
    after = _snapshot(root)
    new = set(after) - set(before)
    assert new == {f"grades/{A}/similarity.json", f"grades/{A}/similarity.html"}
    assert all(after[p] == before[p] for p in before), "similarity modified an existing file"


# --------------------------------------------------------------------------- units

SRC = '''
def adam(w, dw, config=None):
    """Adam."""
    # defaults first
    if config is None:
        config = {}
    lr = config.setdefault("learning_rate", 1e-3)
    m = config.get("m", torch.zeros_like(w))
    m = 0.9 * m + 0.1 * dw   # first moment
    return w - lr * m, config
'''

RENAMED = '''
def adam(w, dw, config=None):
    if config is None:
        config = {}
    step_size = config.setdefault('learning_rate', 0.001)
    first = config.get('m', torch.zeros_like(w))
    first = 0.9*first + 0.1*dw
    return w - step_size*first, config
'''


def test_normalization_ignores_names_comments_docstrings_and_layout():
    a = sim.normalize(SRC, {"adam"}).text
    b = sim.normalize(RENAMED, {"adam"}).text
    assert a == b
    assert "lr" not in a and "first" not in a and "#" not in a and "Adam." not in a
    assert "def adam(" in a and ".setdefault(" in a and "torch.zeros_like" in a and "0.001" in a
    # a real change of the code is a change of the normalized text
    assert sim.normalize(SRC.replace("0.9 * m", "0.8 * m"), {"adam"}).text != a


def test_normalization_maps_back_to_the_raw_code():
    n = sim.normalize(SRC, {"adam"})
    assert len(n.start) == len(n.end) == len(n.text)
    i = n.text.index("torch.zeros_like")
    assert SRC[n.start[i]:n.end[i + len("torch.zeros_like") - 1]] == "torch.zeros_like"


def test_code_that_does_not_parse_is_still_compared():
    n = sim.normalize("def f(:\n    return 1\n")
    assert n.text == "deff(:return1" and "does not parse" in n.note


def test_magics_are_ignored_and_helpers_renamed():
    src = "%matplotlib inline\ndef _h(x):\n    return x + 1\n\ndef sgd(w, dw, config=None):\n    return _h(w), config\n"
    text = sim.normalize(src, {"sgd"}, sim.module_names([src], {"sgd"})).text
    assert "matplotlib" not in text and "_h" not in text and "def sgd(" in text


def _nb_with(cells):
    nb = sc.release_notebook()
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader") or {}
        if meta.get("solution") and meta.get("grade_id") in cells:
            cell.source = cells[meta["grade_id"]]
    return nb


def test_extraction_keeps_answer_and_added_cells_only(tmp_path):
    root = tmp_path / "c"
    sc.build_course(root, 0, copies=False)
    release = sim.read_release(root, A)
    assert release.answer_ids[:2] == ["sgd", "sgd_momentum"] and "newton_step" in release.answer_ids
    nb = _nb_with({"sgd": "def sgd(w, dw, config=None):\n    return w - 0.01 * dw, config\n"})
    nb.cells.insert(3, nbformat.v4.new_code_cell("my_lr = 0.5  # an experiment of mine"))
    nb.cells.insert(4, nbformat.v4.new_code_cell("print('hi')"))
    demo = next(c for c in nb.cells if c.cell_type == "code" and not c.metadata.get("nbgrader") and c.get("id")
                and c["id"] in release.cell_ids)
    demo.source += "\nprint('a demo cell I edited')"  # a release cell, not the student's own
    cells = sim.student_cells(nb, release)
    keys = [k for k, _ in cells]
    assert keys.count(sim.ADDED) == 2 and "sgd" in keys
    assert not any("assert" in s and "sgd(" in s for _, s in cells), "test cells are not student code"
    assert not any("a demo cell I edited" in s for _, s in cells)
    assert len([k for k in keys if k != sim.ADDED]) == len(release.answer_ids)  # unanswered cells still listed


def test_errors_are_typed_and_clear(tmp_path):
    with pytest.raises(sim.SimilarityError, match="not a course folder"):
        sim.similarity(tmp_path, A)
    root = tmp_path / "c"
    sc.build_course(root, 0, copies=False)
    with pytest.raises(sim.SimilarityError, match="no submissions"):
        sim.similarity(root, A)
    sc.build_course(root, 2, copies=False)
    with pytest.raises(sim.SimilarityError, match="--against"):
        sim.similarity(root, A, against=tmp_path / "missing")
    (root / "release" / A / "optimizers.ipynb").unlink()
    with pytest.raises(sim.SimilarityError, match="release"):
        sim.similarity(root, A)
    proc = subprocess.run([sys.executable, "-m", "autograder", "--course-dir", str(tmp_path), "similarity", A],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "not a course folder" in proc.stderr and "Traceback" not in proc.stderr


def test_a_broken_notebook_does_not_stop_the_batch(tmp_path):
    root = tmp_path / "c"
    sc.build_course(root, 4, copies=False)
    (root / "submitted" / "s001" / A / "optimizers.ipynb").write_text("{not json")
    result = sim.similarity(root, A, write=False)
    assert "s001" not in result.students and len(result.students) == 3
    assert any("s001" in n and "unreadable" in n for n in result.notes)


def test_identical_short_functions_are_not_evidence(tmp_path):
    """Everyone writes the same newton_step: that function can flag nobody."""
    root = tmp_path / "c"
    sc.build_course(root, 12, copies=False)
    same = "def newton_step(w, grad, hessian):\n    return w - torch.linalg.solve(hessian, grad)\n"
    for folder in (root / "submitted").glob(f"*/{A}"):
        path = folder / "optimizers.ipynb"
        nb = nbformat.read(path, as_version=4)
        for c in nb.cells:
            if (c.metadata.get("nbgrader") or {}).get("grade_id") == "newton_step":
                c.source = same
        nbformat.write(nb, path)
    result = sim.similarity(root, A, write=False)
    assert not result.flagged
    assert all("newton_step" not in f["per_function"] or f["per_function"]["newton_step"]["z"] < result.threshold
               for f in result.findings)


def test_ta_report_links_to_the_similarity_page():
    from autograder.reports import report

    rep = report.build_report([], "a")
    figs = {"histogram": "", "pass_rate": ""}
    assert "similarity.html" in report.render_html(rep, figs, similarity_link=True)
    assert "similarity.html" not in report.render_html(rep, figs)


def test_known_solution_as_a_notebook(tmp_path):
    """--against also reads notebooks (all code cells when they have no nbgrader metadata)."""
    root = tmp_path / "c"
    info = sc.build_course(root, 12, seed=3)
    ref = info["against"] / "known_solution.py"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("found online"),
                                         *(nbformat.v4.new_code_cell(part) for part in ref.read_text().split("\n\n\n"))])
    nbformat.write(nb, info["against"] / "found.ipynb")
    ref.unlink()
    result = sim.similarity(root, A, against=info["against"], write=False)
    assert result.references == ["found.ipynb"]
    hits = [f for f in result.flagged if f["kind"] == "reference"]
    assert [(f["a"], f["b"]) for f in hits] == [("c_online", "[found.ipynb]")]
