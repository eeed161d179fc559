"""The synthetic assignment the adversarial corpus attacks.

Two graded functions named like the real ones, so the per-assignment policy
rules apply: ``sgd`` (an update rule: no torch.optim, no autograd) and
``l2_regularization_grad`` (an analytic gradient: no autograd). Hidden tests
follow the course's hardening conventions (exact types, plain floats, a
``_close`` helper, torch.optim/autograd replaced by raisers while the student
function runs). Two demo cells let the grader prove it drops them.
"""

from __future__ import annotations

import sys
import textwrap

from tests.helpers.nbgrader_course import REPO

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
from tools.nbauthor import answer, code, md, setup, test  # noqa: E402

A = "hostile"
HIDDEN_MARKER = "hidden_oracle_marker_7f3a"
FUNCTIONS = ("sgd", "l2_regularization_grad")

_GUARD = '''
    import math
    import torch
    {marker} = 1

    def _close(got, want, tol):
        if len(got) != len(want):
            return False
        for a, b in zip(got, want):
            if not (math.fabs(a - b) <= tol + tol * math.fabs(b)):
                return False
        return True

    class _Forbidden(Exception):
        pass

    class _NoShortcuts:
        def __enter__(self):
            import torch.autograd as _ag
            self._saved = []
            for obj, attr in ((torch.optim.Optimizer, "__init__"), (_ag, "grad"), (_ag, "backward"),
                              (torch.Tensor, "backward")):
                self._saved.append((obj, attr, obj.__dict__[attr] if attr in obj.__dict__ else getattr(obj, attr)))

                def _raise(*args, _what=f"{{obj.__name__}}.{{attr}}", **kwargs):
                    raise _Forbidden(f"uses {{_what}}: compute it yourself")
                setattr(obj, attr, _raise)
            return self

        def __exit__(self, *exc):
            for obj, attr, orig in self._saved:
                setattr(obj, attr, orig)
            return False
'''.format(marker=HIDDEN_MARKER)


def _join(*parts) -> str:
    return "\n".join(textwrap.dedent(p).strip("\n") for p in parts)


def source_cells():
    return [
        md("# Hostile\nA tiny assignment for the adversarial corpus."),
        setup("""
            import math
            import torch
            print("setup ok")
        """),
        code('print("demo cell: not part of the graded run")'),
        answer("sgd", '''
            def sgd(w, dw, config=None):
                """Plain SGD: next_w = w - learning_rate * dw; config default learning_rate 1e-2."""
                ### BEGIN SOLUTION
                if config is None:
                    config = {}
                config.setdefault("learning_rate", 1e-2)
                return w - config["learning_rate"] * dw, config
                ### END SOLUTION
        '''),
        test("test_sgd", _join('''
            import torch
            _w1, _ = sgd(torch.tensor([1.0, -2.0]), torch.tensor([0.5, 0.5]), {"learning_rate": 0.1})
            assert torch.allclose(_w1, torch.tensor([0.95, -2.05])), "sgd should return w - learning_rate * dw"
            print("sgd: visible check passed")
            ### BEGIN HIDDEN TESTS
        ''', _GUARD, '''
            for _dtype in (torch.float32, torch.float64):
                _w = torch.tensor([1.0, -2.0, 0.25, 3.0], dtype=_dtype)
                _dw = torch.tensor([0.5, -1.5, 2.0, 0.0], dtype=_dtype)
                with torch.no_grad(), _NoShortcuts():
                    _out, _cfg = sgd(_w.clone(), _dw.clone(), {"learning_rate": 0.3})
                assert type(_out) is torch.Tensor, f"sgd must return a torch.Tensor, got {type(_out).__name__}"
                assert _out.dtype == _dtype, f"sgd changed the dtype from {_dtype} to {_out.dtype}"
                _got = _out.detach().to("cpu", torch.float64).reshape(-1).tolist()
                _want = [a - 0.3 * b for a, b in zip(_w.tolist(), _dw.tolist())]
                assert _close(_got, _want, 1e-6), f"sgd: expected {_want}, got {_got}"
            ### END HIDDEN TESTS
        '''), points=2),
        answer("l2_regularization_grad", '''
            def l2_regularization_grad(W, reg):
                """Gradient of reg * sum(W**2): 2 * reg * W."""
                ### BEGIN SOLUTION
                return 2 * reg * W
                ### END SOLUTION
        '''),
        test("test_l2_regularization_grad", _join('''
            import torch
            _g = l2_regularization_grad(torch.tensor([1.0, -2.0]), 0.5)
            assert torch.allclose(_g, torch.tensor([1.0, -2.0])), "the gradient of reg*sum(W**2) is 2*reg*W"
            print("l2_regularization_grad: visible check passed")
            ### BEGIN HIDDEN TESTS
        ''', _GUARD, '''
            _gen = torch.Generator().manual_seed(3)
            for _dtype in (torch.float32, torch.float64):
                _W = torch.randn(3, 2, generator=_gen, dtype=torch.float64).to(_dtype)
                with torch.no_grad(), _NoShortcuts():
                    _out = l2_regularization_grad(_W.clone(), 0.25)
                assert type(_out) is torch.Tensor, f"return a torch.Tensor, got {type(_out).__name__}"
                assert tuple(_out.shape) == (3, 2), f"the gradient must have W's shape, got {tuple(_out.shape)}"
                _got = _out.detach().to("cpu", torch.float64).reshape(-1).tolist()
                _want = [2 * 0.25 * v for v in _W.to(torch.float64).reshape(-1).tolist()]
                assert _close(_got, _want, 1e-6), "expected 2 * reg * W"
            ### END HIDDEN TESTS
        '''), points=2),
        code('print("another demo cell")'),
    ]
