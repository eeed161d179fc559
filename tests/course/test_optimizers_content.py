"""Content gates for the optimizers notebook (issue 17): each fixed error stays fixed.

Fast text checks on ``source/optimizers/optimizers.ipynb``; each fails on the old
text or code it replaced. The numbers behind the prose are printed by the cells
themselves when the notebook executes (the ``validate`` gate runs it).
"""

from __future__ import annotations

import re

import nbformat
import pytest

from tests.helpers.nbgrader_course import REPO

NB = nbformat.read(str(REPO / "source" / "optimizers" / "optimizers.ipynb"), as_version=4)
CELLS = {c.get("id"): c for c in NB.cells}
PLAYGROUND = {"optimizers-76", "optimizers-77"}  # owned by the playground change


def text(cid: str) -> str:
    return CELLS[cid].source


def all_text(kind=None) -> str:
    return "\n".join(c.source for c in NB.cells if (kind is None or c.cell_type == kind) and c.get("id") not in PLAYGROUND)


def test_every_graded_check_cell_lets_run_all_continue():
    tests = [c for c in NB.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert len(tests) >= 23
    untagged = [c.metadata["nbgrader"]["grade_id"] for c in tests if "raises-exception" not in c.metadata.get("tags", [])]
    assert not untagged, f"test cells without the raises-exception tag (Run All would stop there): {untagged}"


def test_the_enforced_rules_are_stated_where_the_student_starts():
    intro = text("optimizers-00")
    for needed in ("may **not** call `torch.optim`", "autograd", "compared with", "coupled L2", "decouples",
                   "incremented before it is used", "`weight_decay` (1e-2)", "`epsilon` (1e-10)", "`decay_rate` (0.99)",
                   "**Notation**", "$f(x, W) = xW$", "weight decay: coupled L2 with $\\lambda = 2\\,\\text{reg}$",
                   "never called $\\lambda$ here"):
        assert needed in intro, f"the opening cell no longer states: {needed}"


@pytest.mark.parametrize("rule", ["sgd", "sgd_momentum", "nesterov_momentum", "adagrad", "rmsprop", "adam", "adamw"])
def test_every_trajectory_and_defaults_cell_has_a_visible_torch_comparison(rule):
    for part, call in (("trajectory", f'check_rule({rule}, "{rule}", {{'), ("defaults", f'check_rule({rule}, "{rule}", None)')):
        cell = next(c for c in NB.cells if c.metadata.get("nbgrader", {}).get("grade_id") == f"test_{rule}_{part}")
        visible = re.sub(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS", "", cell.source, flags=re.S)
        assert call in visible, f"test_{rule}_{part}: no visible check_rule call"


def test_adagrad_stall_claim_matches_the_demo():
    assert "so the steps shrink like $1/\\sqrt t$ and learning eventually stalls" not in text("optimizers-36")
    assert "While the gradients keep their size" in text("optimizers-36")
    assert "torch.tensor([-100.0]" in text("optimizers-41"), "the far start where AdaGrad stalls is no longer shown"


def test_polyak_step_above_plain_limit_is_explained():
    assert "Polyak" in text("optimizers-27")
    assert "(2 + 2\\rho)/h_{\\max}" in text("optimizers-27")
    assert "(2 + 2ρ*)/h_max" in text("optimizers-28")


def test_l2_vs_weight_decay_with_momentum_is_reconciled_and_measured():
    assert "\\lambda/(1-\\rho)" in text("optimizers-62")
    assert "lam=lam / (1 - rho)" in text("optimizers-61")


def test_adam_l2_and_adamw_are_compared_with_lambda_tuned_for_each():
    code = text("optimizers-63")
    assert re.search(r"lams = \([^)]*,[^)]*,", code), "a single shared λ again"
    assert "AdamW wins" not in all_text() and "tuned for each" in text("optimizers-62")


def test_the_adamw_row_uses_weight_decay():
    code = text("optimizers-66")
    assert '{"learning_rate": lr, "momentum": 0.9, "weight_decay": 0.0}' not in code
    assert "AdamW keeps its default" in code


def test_lbfgs_is_plotted_against_gradient_evaluations_without_an_offset():
    code = text("optimizers-74")
    assert 'set_xlabel("gradient evaluations")' in code and "+ 1e-6" not in code
    assert "batch=64" in code, "L-BFGS on minibatches is no longer shown"
    assert "tolerance_grad" in text("optimizers-75") and "tolerance_change" in text("optimizers-75")
    assert "BFGS** (Broyden" in text("optimizers-73")


def test_us_spelling_and_one_meaning_for_lambda():
    prose = all_text()
    for british in ("regularis", "initialis", "behaviour", "optimis", "normalis"):
        assert british not in prose.lower(), f"British spelling: {british}"
    md = all_text("markdown")
    assert "\\lambda_{\\max}" not in md and "\\lambda_{\\min}" not in md, "Hessian eigenvalues are h, not λ"


def test_each_section_asks_a_question_before_the_cell_that_answers_it():
    sections, current = {}, None
    for c in NB.cells:
        if c.cell_type == "markdown":
            m = re.search(r"^## (\d+)\.", c.source, flags=re.M)
            if m:
                current = m.group(1)
            if current and "**Predict, then run.**" in c.source:
                assert "<details>" in c.source and "</details>" in c.source
                sections.setdefault(current, 0)
                sections[current] += 1
    numbered = {m.group(1) for c in NB.cells if c.cell_type == "markdown"
                for m in re.finditer(r"^## (\d+)\.", c.source, flags=re.M)}
    numbered -= {"14"}  # the playground section belongs to the playground change
    missing = sorted(numbered - set(sections), key=int)
    assert not missing, f"sections without a predict-then-verify question: {missing}"
