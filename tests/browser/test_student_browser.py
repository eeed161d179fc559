"""The student's experience in a real browser: JupyterLab 4 + ipywidgets 8 in
headless chromium, on a copy of the course with the solutions filled in.

For every assignment: Run All, no error output, every widget rendered, one
screenshot. In ``regularization`` the λ sliders and in ``optimizers`` the
learning-rate, momentum and β sliders are moved with the keyboard: the figure
must change, and come back byte for byte when the slider goes back (the figure
is a function of the slider). The untouched ``optimizers`` release, run cell by
cell like a student who has not started, must show "not implemented yet" in the
playground rather than a traceback.

A self-test first proves the machinery on two tiny notebooks written here: a
slider that redraws a figure, and a notebook with a planted traceback and a
widget whose model does not exist (which the checks must report).

Screenshots and the JupyterLab log go to ``artifacts/browser/`` (or
``$BROWSER_ARTIFACTS``); the path is printed in the test summary.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import pytest

from tests.browser import jlab

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.xdist_group("browser"),
    pytest.mark.skipif(
        not jlab.chromium_available(),
        reason=f"no chromium at {jlab.CHROMIUM} (install Debian's `chromium` package, or set CHROMIUM=/path/to/chromium)",
    ),
]


@dataclass(frozen=True)
class SliderSpec:
    tag: str                  # screenshot names and messages
    css_class: str | None     # stable selector (preferred)
    label: str                # the slider's description, the fallback selector


# Sliders a student moves in each assignment. Every slider matching a spec is
# moved (the regularization notebook has a λ slider in each of its two demos).
SLIDERS = {
    "regularization": [SliderSpec("lambda", "regularization-lambda", "λ")],
    "optimizers": [
        SliderSpec("learning-rate", "playground-learning-rate", "learning rate"),
        SliderSpec("momentum", "playground-momentum", "momentum ρ"),
        SliderSpec("beta1", "playground-beta1", "β1"),
        SliderSpec("beta2", "playground-beta2", "β2"),
    ],
}
# Notebooks whose demos must show at least one widget.
NEEDS_WIDGETS = {"regularization", "optimizers"}
RUN_TIMEOUT = 600


def _find_sliders(nbp: jlab.NotebookPage, spec: SliderSpec) -> list[tuple[object, str]]:
    page = nbp.page
    if spec.css_class:
        loc = page.locator(f".jp-Notebook .widget-slider.{spec.css_class}")
        if loc.count():
            return [(loc.nth(i), f"class .{spec.css_class}") for i in range(loc.count())]
    label = re.compile(rf"^\s*{re.escape(spec.label)}\s*:?\s*$")
    loc = page.locator(".jp-Notebook .widget-slider").filter(has=page.locator(".widget-label", has_text=label))
    found = [(loc.nth(i), f"label {spec.label!r} (no class .{spec.css_class})") for i in range(loc.count())]
    if not found:
        raise AssertionError(
            f"{nbp.rel_path}: no slider with class .{spec.css_class} or description {spec.label!r}; "
            f"sliders on the page: {nbp.slider_labels()}"
        )
    return found


def exercise_slider(nbp: jlab.NotebookPage, slider, name: str, artifacts, timeout: float = 30) -> dict:
    """Move ``slider`` one step and back; the figure must change, then return."""
    nbp.screenshot_output(slider, artifacts / f"{name}-before.png")
    key, back = "ArrowRight", "ArrowLeft"
    r1 = nbp.move_and_wait(slider, key, timeout)
    if r1["after_readout"] == r1["before_readout"]:   # already at its maximum
        key, back = back, key
        r1 = nbp.move_and_wait(slider, key, timeout)
    assert r1["after_readout"] != r1["before_readout"], (
        f"{name}: pressing {key} on the slider handle did not change its value "
        f"(readout stays {r1['before_readout']!r})"
    )
    assert r1["after"], f"{name}: no figure (img) in the slider's output"
    assert r1["changed"], (
        f"{name}: moving the slider from {r1['before_readout']} to {r1['after_readout']} did not change the figure "
        f"(redrawn: {r1['redrawn']}); the widget callback does not reach the plot"
    )
    nbp.screenshot_output(slider, artifacts / f"{name}-after.png")
    r2 = nbp.move_and_wait(slider, back, timeout)
    assert r2["after_readout"] == r1["before_readout"], (
        f"{name}: moving back did not restore the value ({r2['after_readout']} instead of {r1['before_readout']})"
    )
    assert r2["after"] == r1["before"], (
        f"{name}: back at {r1['before_readout']} the figure differs from the original one; "
        "the figure should depend only on the controls (seeded noise, no hidden state)"
    )
    return {"value": (r1["before_readout"], r1["after_readout"]), "latency_ms": [r1["latency_ms"], r2["latency_ms"]]}


def _assert_clean(nbp: jlab.NotebookPage, label: str):
    nbp.wait_widgets()
    problems = nbp.problems()
    assert not problems.failures(), f"{label}: problems in the browser:\n{problems}"
    for note in problems.stderr:
        print(f"{label}: stderr (not an error): {note}")
    return problems


# --------------------------------------------------------------------------- self-test


def test_machinery_on_selftest_notebooks(course, lab, browser, artifacts):
    paths = course["selftest"]
    with jlab.NotebookPage(browser, lab, paths["ok"]) as nbp:
        nbp.run_all(RUN_TIMEOUT)
        problems = _assert_clean(nbp, "selftest/ok")
        assert problems.widget_count == 1, f"expected the one slider+figure widget, found {problems.widget_count}"
        slider, how = nbp.slider(css_class="selftest-lambda")
        assert how == "class .selftest-lambda"
        result = exercise_slider(nbp, slider, "selftest-lambda", artifacts)
        assert result["value"] == ("1.00", "1.25")
        nbp.screenshot_notebook(artifacts / "selftest-ok.png")

    # The checks must catch what they are there for.
    with jlab.NotebookPage(browser, lab, paths["broken"]) as nbp:
        nbp.run_all(RUN_TIMEOUT)
        nbp.wait_widgets(timeout=15)
        problems = nbp.problems()
        text = str(problems)
        assert any("ValueError: planted error" in e for e in problems.errors), text
        assert any("model not found" in w for w in problems.widgets), text
        dead, _ = nbp.slider(css_class="selftest-dead")
        with pytest.raises(AssertionError, match="did not change the figure"):
            exercise_slider(nbp, dead, "selftest-dead", artifacts, timeout=3)
        nbp.screenshot_notebook(artifacts / "selftest-broken.png")


# --------------------------------------------------------------------------- assignments


@pytest.mark.timeout(900)
@pytest.mark.parametrize("assignment", jlab.ASSIGNMENTS)
def test_solved_notebook_in_browser(assignment, course, notebook_runs, artifacts):
    nbp = _page(course, notebook_runs, "solved", assignment)
    try:
        _check_solved(assignment, nbp, artifacts)
    finally:
        nbp.close()   # frees its kernel for the notebooks still running


def _page(course, runs, kind, assignment) -> jlab.NotebookPage:
    if assignment in course["errors"]:
        pytest.fail(f"{assignment}: could not lay out the notebook: {course['errors'][assignment]}")
    nbp = runs[(kind, assignment)]
    if isinstance(nbp, Exception):
        pytest.fail(f"{kind} {assignment}: could not open the notebook or start running it: {type(nbp).__name__}: {nbp}")
    return nbp


def _check_solved(assignment, nbp, artifacts):
    t0 = time.monotonic()
    state = nbp.wait_idle(RUN_TIMEOUT)
    assert state["executed"] == state["ncode"], f"{assignment}: only {state['executed']} of {state['ncode']} code cells ran"
    problems = _assert_clean(nbp, assignment)
    nbp.screenshot_notebook(artifacts / f"{assignment}.png")
    if assignment in NEEDS_WIDGETS:
        assert problems.widget_count >= 1, f"{assignment}: its demos show no widget (COURSE_HEADLESS=0 in the server)"
    print(f"{assignment}: {state['ncode']} code cells, {problems.widget_count} widgets rendered")

    if assignment == "optimizers":
        info = nbp.page.locator(".jp-Notebook .playground-info")
        assert info.count() >= 1, f"{assignment}: no optimizer playground (.playground-info) on the page"
        for i in range(info.count()):
            text = info.nth(i).inner_text()
            assert "not implemented yet" not in text and " raised " not in text, (
                f"{assignment}: with the solutions filled in, the playground still reports a problem:\n{text}"
            )

    for spec in SLIDERS.get(assignment, []):
        found = _find_sliders(nbp, spec)
        for k, (slider, how) in enumerate(found):
            name = f"{assignment}-{spec.tag}" + (f"-{k + 1}" if len(found) > 1 else "")
            result = exercise_slider(nbp, slider, name, artifacts)
            ms = result["latency_ms"][0]
            print(f"{name} (found by {how}): {result['value'][0]} -> {result['value'][1]}, "
                  f"key press to new figure {'?' if ms is None else f'{ms:.0f}'} ms")
    # Moving sliders must not have produced errors either.
    after = nbp.problems()
    assert not after.failures(), f"{assignment}: problems after moving the sliders:\n{after}"
    print(f"{assignment}: checked in {time.monotonic() - t0:.0f} s after the other tests")


@pytest.mark.timeout(900)
def test_untouched_optimizers_playground_says_not_implemented(course, notebook_runs, artifacts):
    nbp = _page(course, notebook_runs, "untouched", "optimizers")
    try:
        _check_untouched_optimizers(nbp, artifacts)
    finally:
        nbp.close()


def _check_untouched_optimizers(nbp, artifacts):
    # Cell by cell (started by the fixture): Run All would stop at the first failing check.
    nbp.wait_cell_by_cell(RUN_TIMEOUT)
    nbp.wait_widgets()
    nbp.screenshot_notebook(artifacts / "optimizers-untouched.png")
    playgrounds = nbp.page.locator(".jp-Notebook .playground")
    assert playgrounds.count() >= 1, "untouched optimizers: the playground did not render (no .playground widget)"
    problems = nbp.problems()
    assert not problems.widgets, f"untouched optimizers: widgets did not render:\n{problems}"
    stderr_sel = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
    for i in range(playgrounds.count()):
        pg = playgrounds.nth(i)
        cell = pg.locator("xpath=ancestor::div[contains(concat(' ', normalize-space(@class), ' '), ' jp-CodeCell ')][1]")
        outputs = cell.locator(".jp-OutputArea").inner_text()
        assert cell.locator(stderr_sel).count() == 0 and "Traceback" not in outputs, (
            f"untouched optimizers: the playground cell shows an error instead of a friendly message:\n{outputs[-1500:]}"
        )
        info = pg.locator(".playground-info").inner_text()
        checked = pg.locator(".playground-optimizer").filter(has=nbp.page.locator("input:checked"))
        names = [checked.nth(k).inner_text().strip() for k in range(checked.count())]
        assert names, "untouched optimizers: no optimizer is ticked in the playground"
        # Nothing is written yet, so every ticked rule must say so.
        silent = [n for n in names if f"{n}: not implemented yet" not in info]
        assert not silent, (
            f"untouched optimizers: the playground does not say 'not implemented yet' for {silent}; it says:\n{info}"
        )
        print(f"untouched playground {i + 1}: enabled {names}; info:\n{info}")
        # A slider move in the untouched notebook must not raise either. (No
        # figure change to wait for: with no rule written the plot is empty.)
        slider = pg.locator(".widget-slider.playground-learning-rate").first
        before = nbp.readout(slider)
        nbp.press(slider, "ArrowLeft")
        nbp.wait_idle(60, settle=0.5)
        assert nbp.readout(slider) != before, "untouched optimizers: the learning-rate slider did not move"
        assert "not implemented yet" in pg.locator(".playground-info").inner_text()
        assert cell.locator(stderr_sel).count() == 0, (
            "untouched optimizers: moving the learning rate produced an error in the playground cell"
        )
    # Errors elsewhere are the unfinished TODOs' checks; listed for the record.
    for err in problems.errors:
        print(f"untouched optimizers (expected while TODOs are open): {err}")
