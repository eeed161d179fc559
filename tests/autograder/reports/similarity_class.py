"""A synthetic class of independent optimizers submissions, in many styles, plus planted copies.

Each student gets habits (how they start the config, read defaults and state, in place or new
tensors, comments, helpers, names) and, per function, independent micro-choices (expression
forms, statement order, momentum form, bias correction style). Some functions are left
unattempted or carry a typical bug, as in a real class. The answer cells are written into the
release notebook, so the submissions are real nbgrader notebooks.

Used by tests/autograder/test_similarity.py and benchmarks/bench_similarity.py.
"""

from __future__ import annotations

import io
import keyword
import random
import re
import shutil
import tokenize
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[3]
RELEASE = REPO / "release" / "optimizers" / "optimizers.ipynb"
FUNCTIONS = ["sgd", "sgd_momentum", "nesterov_momentum", "adagrad", "rmsprop", "adam", "adamw", "newton_step"]
DEFAULTS = {
    "sgd": [("learning_rate", "1e-2")],
    "sgd_momentum": [("learning_rate", "1e-2"), ("momentum", "0.9")],
    "nesterov_momentum": [("learning_rate", "1e-2"), ("momentum", "0.9")],
    "adagrad": [("learning_rate", "1e-2"), ("epsilon", "1e-10")],
    "rmsprop": [("learning_rate", "1e-2"), ("decay_rate", "0.99"), ("epsilon", "1e-8")],
    "adam": [("learning_rate", "1e-3"), ("beta1", "0.9"), ("beta2", "0.999"), ("epsilon", "1e-8"),
             ("weight_decay", "0.0")],
    "adamw": [("learning_rate", "1e-3"), ("beta1", "0.9"), ("beta2", "0.999"), ("epsilon", "1e-8"),
              ("weight_decay", "1e-2")],
}
LOCAL = {"learning_rate": ["lr", "learning_rate", "eta", "step_size", "alpha"],
         "momentum": ["mu", "momentum", "rho", "beta", "gamma"],
         "epsilon": ["eps", "epsilon", "tiny"], "decay_rate": ["decay", "rho", "beta", "decay_rate"],
         "beta1": ["b1", "beta1", "beta_1"], "beta2": ["b2", "beta2", "beta_2"],
         "weight_decay": ["wd", "weight_decay", "lam", "decay"]}
STATE = {"velocity": ["v", "vel", "velocity", "buf", "momentum_buffer"],
         "cache": ["cache", "acc", "sq_sum", "s", "g2"], "m": ["m", "m1", "first_moment", "mean"],
         "v": ["v", "m2", "second_moment", "sq"]}


class Student:
    """One student's habits; ``code(fn)`` writes that student's body of graded function ``fn``."""

    def __init__(self, rng: random.Random):
        self.r = rng
        r = rng
        self.init = r.choice(["if_none", "ternary", "or", "if_none_dict"])
        self.defaults = r.choice(["setdefault", "locals", "loop", "get", "unpack"])
        self.state = r.choice(["get_none", "get_default", "setdefault", "in_check"])
        self.inplace = r.random() < 0.3
        self.store = r.choice(["item", "item", "update"])
        self.comments = r.choice([0, 0, 1, 2])
        self.quote = r.choice(['"', "'"])
        self.square = r.choice(["{x} * {x}", "{x} ** 2", "{x}.pow(2)", "torch.square({x})"])
        self.sqrt = r.choice(["{x}.sqrt()", "torch.sqrt({x})", "{x} ** 0.5"])
        self.newvar = r.choice(["next_w", "next_w", "w_new", "w", "out", "updated"])
        self.helper = r.random() < 0.35
        self.names = {k: r.choice(v) for k, v in {**LOCAL, **STATE}.items()}
        self.floats = r.random() < 0.5      # 0.01 instead of 1e-2
        self.keep_your_code = r.random() < 0.5
        self.unattempted = {f for f in FUNCTIONS if r.random() < 0.08}
        self.buggy = {f for f in FUNCTIONS if r.random() < 0.1}

    # ----------------------------------------------------------------- pieces
    def q(self, key):
        return f"{self.quote}{key}{self.quote}"

    def num(self, s):
        if self.floats and "e-" in s:
            return repr(float(s))
        return s

    def comment(self, terse, verbose):
        if self.comments == 1 and self.r.random() < 0.5:
            return [f"# {terse}"]
        if self.comments == 2:
            return [f"# {verbose}"]
        return []

    def sq(self, x):
        form = self.square if self.r.random() < 0.7 else self.r.choice(["{x} * {x}", "{x} ** 2"])
        return form.format(x=x)

    def root(self, x):
        return self.sqrt.format(x=x if re.fullmatch(r"\w+", x) else f"({x})")

    def config_lines(self, fn):
        """Config init and defaults; returns (lines, access) with access[key] an expression."""
        init = {"if_none": ["if config is None:", "    config = {}"],
                "ternary": ["config = {} if config is None else config"],
                "or": ["config = config if config is not None else {}"],
                "if_none_dict": ["if config is None:", "    config = dict()"]}[self.init]
        lines = self.comment("defaults", "start from an empty config and fill in the default hyperparameters") + init
        keys = list(DEFAULTS[fn])
        if self.r.random() < 0.3:
            self.r.shuffle(keys)
        access = {}
        style = self.defaults
        if style == "setdefault":
            lines += [f"config.setdefault({self.q(k)}, {self.num(d)})" for k, d in keys]
            if self.r.random() < 0.5:
                access = {k: f"config[{self.q(k)}]" for k, _ in keys}
            else:
                names = self.local_names(keys)
                lines += [f"{names[k]} = config[{self.q(k)}]" for k, _ in keys]
                access = names
        elif style == "locals":
            names = self.local_names(keys)
            lines += [f"{names[k]} = config.setdefault({self.q(k)}, {self.num(d)})" for k, d in keys]
            access = names
        elif style == "loop":
            pairs = ", ".join(f"({self.q(k)}, {self.num(d)})" for k, d in keys)
            var = self.r.choice(["key", "k", "name"])
            val = self.r.choice(["default", "d", "value", "val"])
            lines += [f"for {var}, {val} in ({pairs}{',' if len(keys) == 1 else ''}):",
                      f"    config.setdefault({var}, {val})"]
            access = {k: f"config[{self.q(k)}]" for k, _ in keys}
        elif style == "get":
            names = self.local_names(keys)
            for k, d in keys:
                lines += [f"{names[k]} = config.get({self.q(k)}, {self.num(d)})", f"config[{self.q(k)}] = {names[k]}"]
            access = names
        else:  # unpack: one setdefault loop over a dict, then a tuple unpack
            dname = self.r.choice(["defaults", "DEFAULTS", "hyper", "base"])
            body = ", ".join(f"{self.q(k)}: {self.num(d)}" for k, d in keys)
            lines += [f"{dname} = {{{body}}}", f"for key in {dname}:", f"    config.setdefault(key, {dname}[key])"]
            names = self.local_names(keys)
            lines += [", ".join(names[k] for k, _ in keys) + " = " + ", ".join(f"config[{self.q(k)}]" for k, _ in keys)]
            access = names
        return lines, access

    def local_names(self, keys):
        out, used = {}, set()
        for k, _ in keys:
            name = self.names.get(k, k)
            while name in used:
                name += "_"
            used.add(name)
            out[k] = name
        return out

    def read_state(self, key, name):
        style = self.state if self.r.random() < 0.8 else self.r.choice(["get_none", "get_default"])
        if style == "get_none":
            return [f"{name} = config.get({self.q(key)})", f"if {name} is None:", f"    {name} = torch.zeros_like(w)"]
        if style == "get_default":
            return [f"{name} = config.get({self.q(key)}, torch.zeros_like(w))"]
        if style == "setdefault":
            return [f"{name} = config.setdefault({self.q(key)}, torch.zeros_like(w))"]
        return [f"if {self.q(key)} not in config:", f"    config[{self.q(key)}] = torch.zeros_like(w)",
                f"{name} = config[{self.q(key)}]"]

    def store_state(self, pairs):
        if self.store == "update" and len(pairs) > 0:
            return ["config.update(" + ", ".join(f"{k}={v}" for k, v in pairs) + ")"]
        if len(pairs) > 1 and self.r.random() < 0.5:
            return [", ".join(f"config[{self.q(k)}]" for k, _ in pairs) + " = " + ", ".join(v for _, v in pairs)]
        return [f"config[{self.q(k)}] = {v}" for k, v in pairs]

    def step(self, expr_minus):
        """``w - (expr_minus)`` as this student writes it; returns (lines, name of the result)."""
        nv = self.newvar
        if self.inplace and self.r.random() < 0.8:
            return [self.r.choice([f"w -= {expr_minus}", f"w.sub_({expr_minus})"])], "w"
        return [f"{nv} = w - {expr_minus}"], nv

    # ----------------------------------------------------------------- rules
    def code(self, fn):
        """(body lines, helper function source or '') for graded function ``fn``."""
        if fn == "newton_step":
            return self.newton(), ""
        lines, a = self.config_lines(fn)
        lr = a["learning_rate"]
        bug = fn in self.buggy
        helper = ""
        if fn == "sgd":
            sl, res = self.step(f"{lr} * dw" if not bug else f"dw * {lr} * {lr}")
            lines += self.comment("step", "take one step against the gradient") + sl
        elif fn in ("sgd_momentum", "nesterov_momentum"):
            mu, vn = a["momentum"], self.names["velocity"]
            lines += self.comment("velocity", "the velocity starts at zero") + self.read_state("velocity", vn)
            form = self.r.choice("AB")
            if fn == "sgd_momentum":
                if form == "A":
                    upd = [f"{vn}.mul_({mu}).add_(dw)"] if self.inplace else [f"{vn} = {mu} * {vn} + dw"]
                    sl, res = self.step(f"{lr} * {vn}")
                else:
                    upd = [f"{vn} = {mu} * {vn} - {lr} * dw"]
                    sl, res = ([f"w += {vn}"], "w") if self.inplace else ([f"{self.newvar} = w + {vn}"], self.newvar)
                if bug:
                    upd = [f"{vn} = {mu} * {vn} + {lr} * dw"]
            else:
                if form == "A":
                    upd = [f"{vn} = {mu} * {vn} + dw"]
                    g = self.r.choice(["g", "look", "d"])
                    if self.r.random() < 0.5:
                        upd.append(f"{g} = dw + {mu} * {vn}")
                        sl, res = self.step(f"{lr} * {g}")
                    else:
                        sl, res = self.step(f"{lr} * (dw + {mu} * {vn})")
                else:
                    prev = self.r.choice(["v_prev", "old", "prev"])
                    upd = [f"{prev} = {vn}", f"{vn} = {mu} * {vn} - {lr} * dw"]
                    res = self.newvar
                    sl = [f"{res} = w - {mu} * {prev} + (1 + {mu}) * {vn}"]
                if bug:
                    sl, res = self.step(f"{lr} * {vn}")
            lines += self.comment("update", "update the velocity, then step") + upd + sl
            lines += self.store_state([("velocity", vn)])
        elif fn in ("adagrad", "rmsprop"):
            cn, eps = self.names["cache"], a["epsilon"]
            lines += self.read_state("cache", cn)
            if fn == "adagrad":
                upd = ([self.r.choice([f"{cn} += {self.sq('dw')}", f"{cn}.addcmul_(dw, dw)"])] if self.inplace
                       else [f"{cn} = {cn} + {self.sq('dw')}"])
            else:
                rho = a["decay_rate"]
                upd = self.r.choice([
                    [f"{cn} = {rho} * {cn} + (1 - {rho}) * {self.sq('dw')}"],
                    [f"{cn} = torch.lerp({self.sq('dw')}, {cn}, {rho})"],
                    [f"{cn}.mul_({rho}).addcmul_(dw, dw, value=1 - {rho})"] if self.inplace
                    else [f"{cn} = {cn} * {rho} + {self.sq('dw')} * (1 - {rho})"]])
            den = f"{self.root(cn)} + {eps}" if not bug else self.root(f"{cn} + {eps}")
            if self.r.random() < 0.4:
                dn = self.r.choice(["denom", "scale", "std", "rms"])
                upd.append(f"{dn} = {den}")
                sl, res = self.step(f"{lr} * dw / {dn}")
            else:
                sl, res = self.step(f"{lr} * dw / ({den})")
            lines += self.comment("cache", "accumulate squared gradients") + upd + sl + self.store_state([("cache", cn)])
        else:  # adam, adamw
            b1, b2, eps, wd = a["beta1"], a["beta2"], a["epsilon"], a["weight_decay"]
            mn, vn = self.names["m"], self.names["v"]
            if mn == vn:
                vn = vn + "2"
            if fn == "adam":
                lines += self.r.choice([[f"if {wd}:", f"    dw = dw + {wd} * w"], [f"if {wd} != 0:", f"    dw = dw + {wd} * w"],
                                        [f"dw = dw + {wd} * w"]])
            else:
                lines += self.comment("decay", "decoupled weight decay: shrink w first") + self.r.choice([
                    [f"w = w * (1 - {lr} * {wd})"], [f"w = w - {lr} * {wd} * w"],
                    [f"w.mul_(1 - {lr} * {wd})"] if self.inplace else [f"w = (1 - {lr} * {wd}) * w"]])
            core = self.adam_core(mn, vn, b1, b2, eps, lr, bug)
            if self.helper:
                hname = self.names.setdefault("helper", self.r.choice(["_adam_step", "_adam_update", "adam_core", "_moments"]))
                helper = (f"def {hname}(w, dw, config, {lr if lr.isidentifier() else 'lr'}, {b1 if b1.isidentifier() else 'b1'}, "
                          f"{b2 if b2.isidentifier() else 'b2'}, {eps if eps.isidentifier() else 'eps'}):\n")
                hl = self.adam_core(mn, vn, *(x if x.isidentifier() else y for x, y in
                                              ((b1, "b1"), (b2, "b2"), (eps, "eps"), (lr, "lr"))), bug)
                helper += "\n".join("    " + x for x in hl[0] + [f"return {hl[1]}"]) + "\n"
                args = ", ".join([lr, b1, b2, eps])
                res = self.newvar if self.newvar != "w" else "w"
                lines += [f"{res} = {hname}(w, dw, config, {args})"]
            else:
                lines += core[0]
                res = core[1]
        lines += [f"return {res}, config"]
        return lines, helper

    def adam_core(self, mn, vn, b1, b2, eps, lr, bug):
        out = self.read_state("m", mn) + self.read_state("v", vn)
        out += self.r.choice([["t = config.get('t', 0) + 1"], ["config['t'] = config.get('t', 0) + 1", "t = config['t']"],
                              ["t = config.setdefault('t', 0) + 1"]]).copy()
        if self.inplace:
            out += [f"{mn}.mul_({b1}).add_(dw, alpha=1 - {b1})", f"{vn}.mul_({b2}).addcmul_(dw, dw, value=1 - {b2})"]
        else:
            out += [f"{mn} = {b1} * {mn} + (1 - {b1}) * dw", f"{vn} = {b2} * {vn} + (1 - {b2}) * {self.sq('dw')}"]
        if bug:
            out += [f"step = w - {lr} * {mn} / ({self.root(vn)} + {eps})"]
        elif self.r.random() < 0.6:
            mh, vh = self.r.choice([("m_hat", "v_hat"), ("mhat", "vhat"), ("m_corr", "v_corr"), ("mc", "vc")])
            out += [f"{mh} = {mn} / (1 - {b1} ** t)", f"{vh} = {vn} / (1 - {b2} ** t)",
                    f"step = w - {lr} * {mh} / ({self.root(vh)} + {eps})"]
        else:
            out += [f"bc1 = 1 - {b1} ** t", f"bc2 = 1 - {b2} ** t",
                    f"step = w - {lr} / bc1 * {mn} / ({self.root(vn)} / math.sqrt(bc2) + {eps})"]
        out += self.store_state([("m", mn), ("v", vn), ("t", "t")])
        return out, "step"

    def newton(self):
        if "newton_step" in self.buggy:
            return [self.r.choice(["return w - torch.linalg.inv(hessian) @ grad", "return w - grad / torch.diag(hessian)"])]
        return self.r.choice([
            ["return w - torch.linalg.solve(hessian, grad)"],
            ["delta = torch.linalg.solve(hessian, grad)", "return w - delta"],
            ["step = torch.linalg.solve(hessian, grad.unsqueeze(-1)).squeeze(-1)", "new_w = w - step", "return new_w"],
            ["sol = torch.linalg.lstsq(hessian, grad.unsqueeze(1)).solution", "return w - sol.squeeze(1)"],
            ["L = torch.linalg.cholesky(hessian)", "d = torch.cholesky_solve(grad.unsqueeze(-1), L).squeeze(-1)",
             "return w - d"],
        ])


# --------------------------------------------------------------------------- notebooks

def release_notebook():
    return nbformat.read(RELEASE, as_version=4)


def fill(nb, answers: dict[str, str], added: list[str] = (), added_at: int | None = None):
    """A copy of the release notebook with the answer cells replaced and code cells added."""
    nb = nbformat.from_dict(nb)
    for cell in nb.cells:
        gid = (cell.metadata.get("nbgrader") or {}).get("grade_id")
        if (cell.metadata.get("nbgrader") or {}).get("solution") and gid in answers:
            cell.source = answers[gid]
    pos = added_at if added_at is not None else len(nb.cells)
    for k, src in enumerate(added):
        cell = nbformat.v4.new_code_cell(src)
        nb.cells.insert(pos + k, cell)
    return nb


def answer_source(release_src: str, body: list[str], helper: str, keep_marker: bool, helper_after: bool) -> str:
    """The release answer cell with ``raise NotImplementedError`` replaced by the body."""
    lines = release_src.splitlines()
    out = []
    for line in lines:
        if line.strip().startswith("raise NotImplementedError"):
            out += ["    " + b for b in "\n".join(body).splitlines()]
        elif line.strip() == "# YOUR CODE HERE" and not keep_marker:
            continue
        else:
            out.append(line)
    src = "\n".join(out) + "\n"
    if helper:
        src = src + "\n\n" + helper if helper_after else helper + "\n\n" + src
    return src


def student_answers(student: Student, release) -> dict[str, str]:
    rel = {(c.metadata.get("nbgrader") or {}).get("grade_id"): c.source for c in release.cells}
    answers = {}
    for fn in FUNCTIONS:
        if fn in student.unattempted:
            continue
        body, helper = student.code(fn)
        answers[fn] = answer_source(rel[fn], body, helper, student.keep_your_code, student.r.random() < 0.3)
    return answers


def make_class(n: int, seed: int = 0) -> dict[str, dict[str, str]]:
    """``{student id: {grade_id: answer cell source}}`` for n independent students."""
    release = release_notebook()
    out = {}
    for i in range(n):
        s = Student(random.Random(f"{seed}-{i}"))
        out[f"s{i:03d}"] = student_answers(s, release)
    return out


# --------------------------------------------------------------------------- planted copies

def _rename(src: str, mapping: dict[str, str]) -> str:
    toks = list(tokenize.generate_tokens(io.StringIO(src).readline))
    out, prev = [], None
    for t in toks:
        if t.type == tokenize.NAME and t.string in mapping and not (prev and prev.string == "."):
            t = t._replace(string=mapping[t.string])
        out.append(t)
        prev = t
    return tokenize.untokenize(out)


def rename_identifiers(answers: dict[str, str]) -> dict[str, str]:
    """Rename every local variable and helper (a copier hiding a copy), keeping the signatures."""
    import ast

    keep = {"w", "dw", "config", "grad", "hessian", "torch", "math", "None", *FUNCTIONS}
    out = {}
    for gid, src in answers.items():
        names = set()
        for node in ast.walk(ast.parse(src)):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.FunctionDef):
                names.add(node.name)
                names |= {a.arg for a in node.args.args}
        mapping = {n: f"my_{n.strip('_')}_x" for n in sorted(names - keep) if not keyword.iskeyword(n)}
        out[gid] = _rename(src, mapping)
    return out


def reorder_functions(answers: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """Move helper functions out of the answer cells into one added cell, in reverse order, and put
    each answer cell's top-level definitions in the opposite order."""
    import ast

    new, helpers = {}, []
    for gid, src in answers.items():
        tree = ast.parse(src)
        lines = src.splitlines(keepends=True)
        blocks = []
        for node in tree.body:
            start = min([node.lineno] + [d.lineno for d in node.decorator_list]) if hasattr(node, "decorator_list") \
                else node.lineno
            blocks.append((node, "".join(lines[start - 1:node.end_lineno])))
        main = [b for node, b in blocks if getattr(node, "name", None) == gid]
        rest = [b for node, b in blocks if getattr(node, "name", None) != gid]
        helpers += rest
        new[gid] = "\n\n".join(main) + "\n"
    return new, ["\n\n".join(reversed(helpers)) + "\n"] if helpers else []


def restyle_comments(answers: dict[str, str], rng: random.Random) -> dict[str, str]:
    """Strip every comment, add new ones, rewrite the docstring, indent by 2 instead of 4, respace
    operators and brackets, add blank lines."""
    out = {}
    for gid, src in answers.items():
        toks = [t for t in tokenize.generate_tokens(io.StringIO(src).readline) if t.type != tokenize.COMMENT]
        code = re.sub(r'"""(.|\n)*?"""', '"""My implementation."""', tokenize.untokenize(toks), count=1)
        lines = []
        for line in code.splitlines():
            stripped = line.strip()
            if not stripped:
                continue
            depth = (len(line) - len(line.lstrip())) // 4
            if "'" not in line and '"' not in line:
                stripped = stripped.replace(" * ", "*").replace("(", "( ").replace(")", " )").replace(",", " ,")
            if rng.random() < 0.3 and not stripped.startswith(("def ", "@", "else", "elif", '"""')):
                lines.append("  " * depth + f"# my note: {rng.choice(['here we go', 'important', 'see lecture'])}")
            lines.append("  " * depth + stripped)
            if rng.random() < 0.2:
                lines.append("")
        out[gid] = "\n".join(lines) + "\n"
    return out


#: A known solution in a style of its own (numpy-era CS231n habits carried over to torch).
REFERENCE = '''"""Optimizer update rules (solution found online)."""
import torch


def sgd(w, dw, config=None):
    if config is None: config = {}
    config.setdefault('learning_rate', 1e-2)
    w -= config['learning_rate'] * dw
    return w, config


def sgd_momentum(w, dw, config=None):
    if config is None: config = {}
    config.setdefault('learning_rate', 1e-2)
    config.setdefault('momentum', 0.9)
    vel = config.get('velocity', torch.zeros_like(w))
    vel = config['momentum'] * vel - config['learning_rate'] * dw
    out_w = w + vel
    config['velocity'] = vel
    return out_w, config


def nesterov_momentum(w, dw, config=None):
    if config is None: config = {}
    config.setdefault('learning_rate', 1e-2)
    config.setdefault('momentum', 0.9)
    vel = config.get('velocity', torch.zeros_like(w))
    old_vel = vel.clone()
    vel = config['momentum'] * vel - config['learning_rate'] * dw
    out_w = w - config['momentum'] * old_vel + (1 + config['momentum']) * vel
    config['velocity'] = vel
    return out_w, config


def adagrad(w, dw, config=None):
    if config is None: config = {}
    config.setdefault('learning_rate', 1e-2)
    config.setdefault('epsilon', 1e-10)
    grad_sq = config.get('cache', torch.zeros_like(w))
    grad_sq += dw ** 2
    out_w = w - config['learning_rate'] * dw / (torch.sqrt(grad_sq) + config['epsilon'])
    config['cache'] = grad_sq
    return out_w, config


def rmsprop(w, dw, config=None):
    if config is None: config = {}
    config.setdefault('learning_rate', 1e-2)
    config.setdefault('decay_rate', 0.99)
    config.setdefault('epsilon', 1e-8)
    grad_sq = config.get('cache', torch.zeros_like(w))
    grad_sq = config['decay_rate'] * grad_sq + (1 - config['decay_rate']) * dw ** 2
    out_w = w - config['learning_rate'] * dw / (torch.sqrt(grad_sq) + config['epsilon'])
    config['cache'] = grad_sq
    return out_w, config


def _moments(config, w, dw):
    config['t'] = config.get('t', 0) + 1
    m = config.get('m', torch.zeros_like(w))
    v = config.get('v', torch.zeros_like(w))
    m = config['beta1'] * m + (1 - config['beta1']) * dw
    mt = m / (1 - config['beta1'] ** config['t'])
    v = config['beta2'] * v + (1 - config['beta2']) * (dw ** 2)
    vt = v / (1 - config['beta2'] ** config['t'])
    config['m'], config['v'] = m, v
    return config['learning_rate'] * mt / (torch.sqrt(vt) + config['epsilon'])


def adam(w, dw, config=None):
    if config is None: config = {}
    config.setdefault('learning_rate', 1e-3)
    config.setdefault('beta1', 0.9)
    config.setdefault('beta2', 0.999)
    config.setdefault('epsilon', 1e-8)
    config.setdefault('weight_decay', 0.0)
    dw = dw + config['weight_decay'] * w
    out_w = w - _moments(config, w, dw)
    return out_w, config


def adamw(w, dw, config=None):
    if config is None: config = {}
    config.setdefault('learning_rate', 1e-3)
    config.setdefault('beta1', 0.9)
    config.setdefault('beta2', 0.999)
    config.setdefault('epsilon', 1e-8)
    config.setdefault('weight_decay', 1e-2)
    w = w * (1 - config['learning_rate'] * config['weight_decay'])
    out_w = w - _moments(config, w, dw)
    return out_w, config


def newton_step(w, grad, hessian):
    return w - torch.linalg.solve(hessian, grad.unsqueeze(-1)).squeeze(-1)
'''


def answers_from_reference(release) -> dict[str, str]:
    """A student who pasted the known solution under the release's def line and docstring (its
    helper into the adam cell), with a comment of their own here and there."""
    import ast

    tree = ast.parse(REFERENCE)
    lines = REFERENCE.splitlines(keepends=True)
    defs = {n.name: "".join(lines[n.lineno - 1:n.end_lineno]) for n in tree.body if isinstance(n, ast.FunctionDef)}
    rel = {(c.metadata.get("nbgrader") or {}).get("grade_id"): c.source for c in release.cells}
    out = {}
    for fn in FUNCTIONS:
        head = rel[fn].split("    # TODO")[0].rstrip() + "\n"
        body = defs[fn].split("\n", 1)[1].replace("    if config is None: config = {}",
                                                   "    # make sure we have a config\n    if config is None: config = {}")
        out[fn] = (defs["_moments"] + "\n\n" if fn == "adam" else "") + head + body
    return out


def build_course(root: Path, n: int, seed: int = 0, copies: bool = True) -> dict:
    """A scratch course folder with n independent students (+ 4 planted copies): returns who is
    a copy of whom and the --against folder."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    (root / "release" / "optimizers").mkdir(parents=True, exist_ok=True)
    shutil.copy(RELEASE, root / "release" / "optimizers" / "optimizers.ipynb")
    release = release_notebook()
    klass = make_class(n, seed)
    notebooks = {sid: fill(release, ans) for sid, ans in klass.items()}
    planted = {}
    if copies:
        ids = sorted(klass)
        full = [s for s in ids if len(klass[s]) == len(FUNCTIONS)]
        with_helper = [s for s in full if any(src.count("\ndef ") + src.startswith("def ") > 1
                                              for src in klass[s].values())]
        a = full[0]
        b = next(s for s in with_helper + full if s != a)
        c = next(s for s in full if s not in (a, b))
        notebooks["c_renamed"] = fill(release, rename_identifiers(klass[a]))
        moved, added = reorder_functions(klass[b])
        notebooks["c_reordered"] = fill(release, moved, added, added_at=2)
        notebooks["c_comments"] = fill(release, restyle_comments(klass[c], random.Random(seed)))
        notebooks["c_online"] = fill(release, answers_from_reference(release))
        planted = {"c_renamed": a, "c_reordered": b, "c_comments": c, "c_online": "[known_solution.py]"}
        against = root / "known"
        against.mkdir(exist_ok=True)
        (against / "known_solution.py").write_text(REFERENCE)
    for sid, nb in notebooks.items():
        folder = root / "submitted" / sid / "optimizers"
        folder.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, folder / "optimizers.ipynb")
    return {"planted": planted, "against": root / "known" if copies else None, "students": sorted(notebooks)}
