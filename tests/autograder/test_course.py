"""The course folder: assignments in the syllabus's teaching order, discovered from source/."""

from __future__ import annotations

from autograder.course import Course, discover_assignments
from autograder.publishing.release import available


def _course(tmp_path, names, syllabus=None):
    for a in names:
        (tmp_path / "source" / a).mkdir(parents=True)
        (tmp_path / "source" / a / f"{a}.ipynb").write_text("{}")
    text = "c = get_config()\n" + (f"c.Syllabus.assignments = {syllabus!r}\n" if syllabus is not None else "")
    (tmp_path / "nbgrader_config.py").write_text(text)
    return tmp_path


def test_syllabus_order_first_then_unlisted_by_name(tmp_path):
    root = _course(tmp_path, ["zeta", "alpha", "intro", "extra"], syllabus=["intro", "zeta", "missing"])
    assert discover_assignments(root) == ["intro", "zeta", "alpha", "extra"]
    assert Course(root).assignments() == ["intro", "zeta", "alpha", "extra"]
    assert available(root) == (["intro", "zeta", "alpha", "extra"], [])


def test_without_a_syllabus_every_source_notebook_by_name(tmp_path):
    root = _course(tmp_path, ["b", "a"])
    assert discover_assignments(root) == ["a", "b"]


def test_sandbox_limits_are_traits_checked_by_type(monkeypatch):
    from autograder.grading import sandbox

    monkeypatch.delenv("AUTOGRADER_SANDBOX_MEMORY_MB", raising=False)
    assert "memory_mb" in sandbox.Sandbox.class_trait_names(config=True)
    assert sandbox.Sandbox.class_traits()["memory_mb"].help  # documented
    import pytest

    with pytest.raises(ValueError, match="expected an int"):
        sandbox.configure({"memory_mb": "lots"})
    with pytest.raises(ValueError, match="unknown sandbox setting"):
        sandbox.configure({"memory": 1})
    monkeypatch.setenv("AUTOGRADER_SANDBOX_MEMORY_MB", "2048")
    assert sandbox.settings().memory_mb == 2048
