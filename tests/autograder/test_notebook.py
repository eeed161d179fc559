"""nbgrader's region vocabulary, read from the course's configured delimiters (autograder.notebook)."""

from __future__ import annotations

from traitlets.config import Config

from autograder.notebook import DELIMITERS, Delimiters

SRC = ("a = 1\n    ### BEGIN SOLUTION\n    x = 2\n    ### END SOLUTION\nb = 2\n"
       "### BEGIN HIDDEN TESTS\nassert secret()\n### END HIDDEN TESTS\nc = 3")


def test_regions_outside_and_hidden_split():
    assert DELIMITERS.regions(SRC) == [("solution", ["    x = 2"]), ("hidden", ["assert secret()"])]
    assert DELIMITERS.outside(SRC) == "a = 1\nb = 2\nc = 3"
    visible, hidden = DELIMITERS.split_hidden(SRC)
    assert hidden == ["assert secret()"] and "secret" not in visible and "x = 2" in visible
    assert "BEGIN HIDDEN" not in DELIMITERS.strip_hidden(SRC)
    assert DELIMITERS.strip_solution_markers(SRC).startswith("a = 1\n    x = 2\nb = 2")


def test_an_unterminated_region_runs_to_the_end():
    assert DELIMITERS.split_hidden("a\n### BEGIN HIDDEN TESTS\nh1\nh2") == ("a", ["h1", "h2"])


def test_delimiters_come_from_the_course_config(tmp_path):
    cfg = Config()
    cfg.ClearSolutions.begin_solution_delimeter = "BEGIN ANSWER"
    cfg.ClearSolutions.end_solution_delimeter = "END ANSWER"
    cfg.ClearHiddenTests.begin_test_delimeter = "BEGIN SECRET"
    cfg.ClearHiddenTests.end_test_delimeter = "END SECRET"
    d = Delimiters.from_config(cfg)
    src = "# BEGIN ANSWER\nx = 1\n# END ANSWER\n# BEGIN SECRET\nassert x\n# END SECRET"
    assert d.regions(src) == [("solution", ["x = 1"]), ("hidden", ["assert x"])]
    assert DELIMITERS.regions(src) == []  # nbgrader's defaults see nothing here
    (tmp_path / "nbgrader_config.py").write_text(
        "c = get_config()\nc.ClearHiddenTests.begin_test_delimeter = 'BEGIN SECRET'\n"
        "c.ClearHiddenTests.end_test_delimeter = 'END SECRET'\n")
    course = Delimiters.for_course(tmp_path)
    assert course.begin_hidden == "BEGIN SECRET" and course.begin_solution == "BEGIN SOLUTION"
    assert course.has_marker("x  # END SECRET") and not course.has_marker("nothing here")
