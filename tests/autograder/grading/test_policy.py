"""The static policy scan: attacks are flagged with the right scope, honest code is not."""

from __future__ import annotations

import importlib

import pytest

from autograder.course import load_config
from autograder.grading import policy
from autograder.results import Status, StudentResult, TestResult, function_of_test
from tests.adversarial import attacks as corpus
from tests.helpers.nbgrader_course import REPO, ASSIGNMENTS, answer_cells, is_setup_cell, read_source, strip_solution_markers

FUNCS = {"sgd", "l2_regularization_grad"}
#: This course's rules, from nbgrader_config.py (c.Policy.restrictions).
RULES = policy.configured_restrictions(load_config(REPO))


def _scan(src, gid=None):
    return policy.scan([policy.StudentCell(src, gid)], ["import math\nimport torch"], RULES, functions=FUNCS)


@pytest.mark.parametrize("entry", [e for e in corpus.ATTACKS if "replace" in e or "add" in e], ids=lambda e: e["name"])
def test_corpus_attack_code_is_flagged_or_harmless(entry):
    def fill(src):
        for key, value in {"COURSE": "/srv/course", "CANARY": "/srv/secret", "PORT": 9, "VICTIM": "x"}.items():
            src = src.replace(f"@@{key}@@", str(value))
        return src

    cells = [policy.StudentCell(fill(src), gid) for gid, src in entry.get("replace", {}).items()]
    cells += [policy.StudentCell(fill(src), None, i) for i, (_, src) in enumerate(entry.get("add", ()))]
    res = policy.scan(cells, ["import math\nimport torch"], RULES, functions=FUNCS)
    assert not res.unparsed
    # defeated at run time (timeouts, sandbox limits, output caps) or by repair, not by the scan
    harmless = {"sleep_forever", "million_lines", "fake_all_tests_passed", "memory_bomb"}
    harmless |= {e["name"] for e in corpus.ATTACKS if e.get("mutate")}
    assert res.flagged != (entry["name"] in harmless), [str(f) for f in res.findings]


def test_scope_is_local_for_lying_classes_and_global_for_hooks():
    local = _scan("class A:\n    def __eq__(self, o): return True\ndef sgd(w, dw, config=None):\n    return A(), {}\n", "sgd")
    assert {f.scope for f in local.findings} == {"sgd"}
    hook = _scan("import sys\nsys.excepthook = print\n", None)
    assert hook.flagged and all(f.scope is None for f in hook.findings)


def test_forbidden_feature_through_a_helper_in_an_added_cell():
    cells = [policy.StudentCell("def _core(w, dw, lr):\n    import torch\n    return torch.optim.SGD([w], lr=lr)\n", None, 3),
             policy.StudentCell("def sgd(w, dw, config=None):\n    return _core(w, dw, 0.1), {}\n", "sgd")]
    res = policy.scan(cells, [], RULES, functions=FUNCS)
    assert {(f.rule, f.scope) for f in res.findings} == {("forbidden_optim", "sgd")}


def test_autograd_outside_restricted_functions_is_allowed():
    # a student checking a gradient with autograd in a scratch cell is fine
    res = _scan("import torch\nW = torch.randn(3, requires_grad=True)\n(W ** 2).sum().backward()\nprint(W.grad)\n")
    assert not res.flagged, [str(f) for f in res.findings]


@pytest.mark.parametrize("src", [
    "import warnings\nwarnings.warn('x')\n", "for i in range(10):\n    print(i)\n", "%time x = 1\n",
    "%%timeit\nsum(range(10))\n", "import numpy as np\nx = np.zeros(3)\nx[0] = 1\n", "sum = 0\nmax_val = 3\n",
    "from IPython.display import display\ndisplay(1)\n", "import time\ntime.sleep(0.1)\n", "x = 'a/b'\n",
])
def test_honest_code_is_not_flagged(src):
    assert not _scan(src).flagged, [str(f) for f in _scan(src).findings]


def test_code_inside_safe_magics_is_scanned():
    assert _scan("%%time\nimport sys\nsys.settrace(None)\n").flagged


def test_unparsable_cells_are_reported_not_flagged():
    res = _scan("def broken(:\n")
    assert not res.flagged and res.unparsed == ["added cell #0"]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_instructor_solutions_and_correct_variants_are_clean(assignment):
    nb = read_source(assignment)
    setup = [c.source for c in nb.cells if is_setup_cell(c)]
    cells = [policy.StudentCell(strip_solution_markers(c.source), gid) for gid, c in answer_cells(nb).items()]
    res = policy.scan(cells, setup, RULES, functions=set(answer_cells(nb)))
    assert not res.flagged, [str(f) for f in res.findings]
    try:
        mod = importlib.import_module(f"tests.mutants.{assignment}")
    except ImportError:
        return
    for v in getattr(mod, "CORRECT", []):
        r = policy.scan([policy.StudentCell(v.source, v.function)], setup, RULES, functions={v.function})
        assert not r.flagged, (v.name, [str(f) for f in r.findings])


def test_function_of_test_prefers_the_longest_name():
    fns = {"sgd", "sgd_momentum"}
    assert function_of_test("test_sgd_momentum_first_step", fns) == "sgd_momentum"
    assert function_of_test("test_sgd_first_step", fns) == "sgd"
    assert function_of_test("test_other", fns) is None


def test_void_zeroes_only_the_attacked_function():
    result = StudentResult("s", "a", tests=[TestResult("test_sgd", 2.0, 2.0),
                                            TestResult("test_l2_regularization_grad", 2.0, 2.0)])
    f = policy.Finding("tamper_class", "class A defines __eq__", "sgd", 1, "sgd").as_dict()
    result.void([f], FUNCS)
    assert result.status == Status.FLAGGED and result.score == 2.0
    assert [t.score for t in result.tests] == [0.0, 2.0] and "review" in result.tests[0].message


def test_restrictions_come_from_the_course_config(tmp_path):
    """Per-course knowledge lives in nbgrader_config.py: without the rule, torch.optim in sgd is not flagged."""
    src = "import torch\ndef sgd(w, dw, config=None):\n    return torch.optim.SGD([w], lr=0.1), config\n"
    assert {f.rule for f in _scan(src, "sgd").findings} == {"forbidden_optim"}
    (tmp_path / "nbgrader_config.py").write_text(
        "c = get_config()\nc.Policy.restrictions = [{'functions': ['adam'], 'forbid': ['optim'], 'why': 'w'}]\n")
    other = policy.configured_restrictions(load_config(tmp_path))
    assert other == (policy.Restriction(("adam",), ("optim",), "w"),)
    assert not policy.scan([policy.StudentCell(src, "sgd")], ["import torch"], other, functions=FUNCS).flagged
    (tmp_path / "nbgrader_config.py").write_text(
        "c = get_config()\nc.Policy.restrictions = [{'functions': ['adam'], 'forbid': ['jit']}]\n")
    with pytest.raises(ValueError, match="Policy.restrictions"):
        policy.configured_restrictions(load_config(tmp_path))
