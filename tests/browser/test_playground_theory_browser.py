"""The playground's theory panel in a real browser (JupyterLab 4 + ipywidgets 8 + ipyevents, headless chromium).

A small notebook builds a Playground with correct SGD and momentum rules (and
closed-form predictions): moving the learning-rate slider must change both
figures, and a click on the (η, ρ) rate map must set the learning-rate and
momentum sliders and redraw. Screenshots before/after go to
``artifacts/browser/`` (``playground-theory-*.png``).
"""

from __future__ import annotations

import time

import nbformat
import pytest

from tests.browser import jlab

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.xdist_group("browser"),
    pytest.mark.skipif(not jlab.chromium_available(), reason=f"no chromium at {jlab.CHROMIUM}"),
]

SETUP = f'''
import sys
sys.path.insert(0, {str(jlab.REPO)!r})
import torch
from course_utils.playground import Playground
from course_utils import theory


def sgd(w, dw, config=None):
    config = {{}} if config is None else config
    return w - config.get("learning_rate", 1e-2) * dw, config


def sgd_momentum(w, dw, config=None):
    config = {{}} if config is None else config
    v = config.get("velocity")
    v = dw.clone() if v is None else config.get("momentum", 0.9) * v + dw
    config["velocity"] = v
    return w - config.get("learning_rate", 1e-2) * v, config


def max_stable_lr(hessian, momentum=0.0):
    return theory.max_stable_lr(torch.linalg.eigvalsh(hessian).tolist(), momentum)


def momentum_rate(lr, momentum, hessian):
    return float(theory.quadratic_rate(lr, momentum, torch.linalg.eigvalsh(hessian).tolist()))


pg = Playground({{"SGD": sgd, "Momentum": sgd_momentum}}, steps=100,
                predictions={{"max_stable_lr": max_stable_lr, "momentum_rate": momentum_rate}})
pg.show()
'''


@pytest.fixture(scope="module")
def theory_lab(tmp_path_factory, artifacts):
    root = tmp_path_factory.mktemp("browser-theory")
    book = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(SETUP)])
    book.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    nbformat.write(book, str(root / "theory.ipynb"))
    server = jlab.LabServer(root, log_path=artifacts / "jupyterlab-theory.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _wait_changed(nbp, scope, before, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = nbp.images(scope)
        if now and now != before and all(now):
            nbp.wait_idle(timeout, settle=0.3)
            return nbp.wait_images_stable(scope)
        time.sleep(0.1)
    return nbp.images(scope)


@pytest.mark.timeout(600)
def test_slider_and_rate_map_click_redraw_the_theory_panel(theory_lab, browser, artifacts):
    with jlab.NotebookPage(browser, theory_lab, "theory.ipynb", viewport=(1400, 1000)) as nbp:
        nbp.run_all(300)
        nbp.wait_widgets()
        problems = nbp.problems()
        assert not problems.failures(), f"problems in the browser:\n{problems}"
        theory_img = nbp.page.locator(".jp-Notebook .playground-theory img, .jp-Notebook img.playground-theory").first
        theory_img.wait_for(timeout=60_000)
        lr_slider, _ = nbp.slider(css_class="playground-learning-rate")
        rho_slider, _ = nbp.slider(css_class="playground-momentum")
        scope = nbp.output_of(lr_slider)
        nbp.screenshot_output(lr_slider, artifacts / "playground-theory-before.png")

        # 1. a slider move redraws both the trajectories and the theory panel
        moved = nbp.move_and_wait(lr_slider, "ArrowRight", 60)
        assert moved["after_readout"] != moved["before_readout"], "the learning-rate slider did not move"
        assert moved["changed"], "moving the learning rate did not change the figures"
        changed = [a != b for a, b in zip(moved["before"], moved["after"])]
        assert sum(changed) >= 2, f"expected the trajectory figure and the theory panel to change, changed: {changed}"
        nbp.screenshot_output(lr_slider, artifacts / "playground-theory-slider.png")

        # 2. a click inside the rate map (right half of the theory image) sets η and ρ
        before = nbp.images(scope)
        lr_before, rho_before = nbp.readout(lr_slider), nbp.readout(rho_slider)
        theory_img.scroll_into_view_if_needed()
        box = theory_img.bounding_box()
        assert box and box["width"] > 600, f"theory image not laid out: {box}"
        # figure fractions of the map axes: x in [0.58, 0.985], y in [0.13, 0.9] from the bottom
        nbp.page.mouse.click(box["x"] + 0.70 * box["width"], box["y"] + 0.55 * box["height"])
        after = _wait_changed(nbp, scope, before)
        lr_after, rho_after = nbp.readout(lr_slider), nbp.readout(rho_slider)
        assert (lr_after, rho_after) != (lr_before, rho_before), (
            f"clicking the rate map did not set the sliders (η {lr_before} -> {lr_after}, ρ {rho_before} -> {rho_after}); "
            "is the ipyevents lab extension installed?")
        assert after != before, "clicking the rate map did not redraw the figures"
        nbp.screenshot_output(lr_slider, artifacts / "playground-theory-click.png")
        print(f"rate-map click: η {lr_before} -> {lr_after}, ρ {rho_before} -> {rho_after}; "
              f"slider redraw {moved['latency_ms']} ms in the page")
        assert not nbp.problems().failures(), f"problems after the click:\n{nbp.problems()}"
