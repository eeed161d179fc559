"""One JupyterLab and one chromium for the whole browser module.

The course copy (release notebooks with the solutions filled in, plus the
untouched optimizers release and two self-test notebooks) is built once; each
test opens its notebook in a fresh browser context.
"""

from __future__ import annotations

import os

import pytest

from tests.browser import jlab

_ARTIFACTS: list[str] = []


@pytest.fixture(scope="module")
def artifacts():
    path = jlab.artifacts_dir()
    if str(path) not in _ARTIFACTS:
        _ARTIFACTS.append(str(path))
    print(f"\nbrowser artifacts (screenshots, JupyterLab log): {path}")
    return path


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """``{"root": Path, "paths": {(kind, assignment): rel}, "errors": {assignment: str}, "selftest": {...}}``.

    An assignment whose notebook cannot be laid out (no source yet, release out
    of step) is recorded in ``errors`` and fails its own test only."""
    root = tmp_path_factory.mktemp("browser-course")
    paths, errors = {}, {}
    for a in jlab.ASSIGNMENTS:
        try:
            paths.update(jlab.build_course(root, [a], untouched=("optimizers",)))
        except Exception as exc:  # noqa: BLE001 - reported by the assignment's test
            errors[a] = f"{type(exc).__name__}: {exc}"
    return {"root": root, "paths": paths, "errors": errors, "selftest": jlab.write_selftest_notebooks(root)}


@pytest.fixture(scope="module")
def lab(course, artifacts):
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    server = jlab.LabServer(course["root"], log_path=artifacts / f"jupyterlab-{worker}.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = jlab.launch_browser(pw)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def notebook_runs(course, lab, browser):
    """Every solved notebook (Run All) and the untouched optimizers release
    (cell by cell) started at once, so the kernels work in parallel while the
    tests look at the notebooks one by one. ``{(kind, assignment): NotebookPage
    or the exception that stopped it}``; each test closes its page when done."""
    wanted = [("solved", a) for a in jlab.ASSIGNMENTS] + [("untouched", "optimizers")]
    runs = {}
    for key in wanted:
        if key[1] in course["errors"]:
            continue
        nbp = jlab.NotebookPage(browser, lab, course["paths"][key])
        try:
            runs[key] = nbp.goto()
        except Exception as exc:  # noqa: BLE001 - reported by the assignment's test
            runs[key] = exc
            nbp.close()
    for key, nbp in list(runs.items()):
        if isinstance(nbp, Exception):
            continue
        try:
            nbp.wait_ready()
            nbp.start_run_all() if key[0] == "solved" else nbp.start_cell_by_cell()
        except Exception as exc:  # noqa: BLE001
            runs[key] = exc
            nbp.close()
    yield runs
    for nbp in runs.values():
        if isinstance(nbp, jlab.NotebookPage):
            nbp.close()


def pytest_terminal_summary(terminalreporter):
    for path in _ARTIFACTS:
        terminalreporter.write_line(f"browser artifacts (screenshots, JupyterLab log): {path}")
