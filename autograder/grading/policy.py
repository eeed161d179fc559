"""Static policy scan of student-authored code, run in the grader, never in the kernel.

A tripwire for the attacks that tamper with the grading rather than solve the
problem: monkeypatching modules or builtins, IPython hooks and exception-display
overrides, frame and garbage-collector introspection, killing processes, the
network, reading files outside the working folder, probing
``NBGRADER_EXECUTION``, obfuscated code (``exec``/``eval``/``__import__``),
objects whose comparisons lie (Tensor/ndarray subclasses, ``__eq__``/
``__bool__``/``__float__``), and per-assignment rules (no ``torch.optim`` in an
update rule, no autograd in an analytic gradient).

It scans every answer cell and every cell the student added (see
autograder.grading.reduce). A finding names the rule, the cell, the line and the
function whose tests it voids; ``scope=None`` means the hook is global and voids
every test. Honest code (warnings, printing, timing, unseeded randomness, local
helpers, numpy/torch arithmetic) raises nothing. The scan is deliberately
conservative rather than complete: it is one layer next to the sandbox,
hardened hidden tests and the execute-reply check (docs/THREAT_MODEL.md).
"""

from __future__ import annotations

import ast
import builtins
import re
from dataclasses import asdict, dataclass, field

from traitlets import Dict, List
from traitlets.config import Configurable

# Rules whose findings void only the tests of the function they appear in (when inside its answer cell).
LOCAL_RULES = {"tamper_class", "forbidden_optim", "forbidden_autograd"}

DEFAULT_MODULES = {"torch", "np", "numpy", "math", "builtins", "sys", "os", "course_utils", "random", "time",
                   "warnings", "F", "nn", "plt", "matplotlib", "IPython", "re", "functools", "operator",
                   "itertools", "collections", "scipy", "sklearn", "testing", "optim", "autograd", "linalg"}
#: ``from X import Y`` makes Y a module alias when Y is one of these.
SUBMODULE_NAMES = {"testing", "optim", "autograd", "nn", "functional", "linalg", "random", "fft", "special",
                   "path", "cuda", "backends", "utils", "data", "distributions", "func"}

FORBIDDEN_IMPORTS = {
    "builtins": ("builtins", "imports builtins (can replace isinstance, type, abs, ...)"),
    "IPython": ("ipython_hook", "imports IPython (kernel hooks)"),
    "ipykernel": ("ipython_hook", "imports ipykernel"),
    "zmq": ("ipython_hook", "imports zmq (kernel messaging)"),
    "jupyter_client": ("ipython_hook", "imports jupyter_client"),
    "nbclient": ("ipython_hook", "imports nbclient"),
    "nbgrader": ("ipython_hook", "imports nbgrader"),
    "traitlets": ("ipython_hook", "imports traitlets"),
    "gc": ("introspection", "imports gc (reach any live object, e.g. the checker's)"),
    "inspect": ("introspection", "imports inspect (frames of the caller)"),
    "ctypes": ("introspection", "imports ctypes (raw memory)"),
    "cffi": ("introspection", "imports cffi (raw memory)"),
    "importlib": ("obfuscation", "imports importlib"),
    "marshal": ("obfuscation", "imports marshal (code objects)"),
    "pickle": ("obfuscation", "imports pickle (code execution on load)"),
    "dill": ("obfuscation", "imports dill"),
    "signal": ("process", "imports signal"),
    "subprocess": ("process", "imports subprocess"),
    "multiprocessing": ("process", "imports multiprocessing"),
    "pty": ("process", "imports pty"),
    "socket": ("network", "imports socket"),
    "ssl": ("network", "imports ssl"),
    "urllib": ("network", "imports urllib"),
    "http": ("network", "imports http"),
    "requests": ("network", "imports requests"),
    "ftplib": ("network", "imports ftplib"),
    "smtplib": ("network", "imports smtplib"),
    "asyncio": ("network", "imports asyncio"),
    "webbrowser": ("network", "imports webbrowser"),
}
FORBIDDEN_CALLS = {
    "exec": ("obfuscation", "calls exec"), "eval": ("obfuscation", "calls eval"),
    "compile": ("obfuscation", "calls compile"), "__import__": ("obfuscation", "calls __import__"),
    "globals": ("introspection", "calls globals()"), "locals": ("introspection", "calls locals()"),
    "vars": ("introspection", "calls vars()"), "breakpoint": ("introspection", "calls breakpoint()"),
}
#: Attributes whose use is a hook or an escape, whatever object they are read from.
FORBIDDEN_ATTRS = {
    "settrace": "tracing", "setprofile": "tracing", "excepthook": "ipython_hook", "displayhook": "ipython_hook",
    "addaudithook": "tracing", "_getframe": "introspection", "modules": None,  # sys.modules (checked below)
    "set_custom_exc": "ipython_hook", "showtraceback": "ipython_hook", "showsyntaxerror": "ipython_hook",
    "input_transformers_cleanup": "ipython_hook", "input_transformers_post": "ipython_hook",
    "input_transformer_manager": "ipython_hook", "ast_transformers": "ipython_hook", "events": None,
    "run_cell": "ipython_hook", "user_ns": "ipython_hook", "f_back": "introspection", "f_globals": "introspection",
    "f_locals": "introspection", "f_builtins": "introspection", "f_code": "introspection",
    "tb_frame": "introspection", "gi_frame": "introspection", "cr_frame": "introspection",
    "__globals__": "introspection", "__code__": "introspection", "__closure__": "introspection",
    "__subclasses__": "introspection", "__bases__": "introspection", "__base__": "introspection",
    "__mro__": "introspection", "__dict__": "introspection", "__class__": "introspection",
    "__builtins__": "builtins", "_exit": None, "kill": None, "killpg": None, "fork": None, "forkpty": None,
    "system": None, "popen": None, "abort": None, "environ": None, "getenv": None, "putenv": None,
    "chdir": None, "as_subclass": "tamper_class", "_make_subclass": "tamper_class",
}
OS_PROCESS = {"_exit", "kill", "killpg", "fork", "forkpty", "system", "popen", "abort"}
OS_EXEC_PREFIXES = ("exec", "spawn", "posix_spawn")
#: Tensor-like or numeric bases a class must not extend.
TAMPER_BASES = {"Tensor", "ndarray", "Parameter", "float", "int", "complex", "bool", "generic", "floating",
                "number", "list", "tuple", "str", "dict"}
TAMPER_METHODS = {"__eq__", "__ne__", "__bool__", "__float__", "__int__", "__index__", "__lt__", "__le__",
                  "__gt__", "__ge__", "__abs__", "__torch_function__", "__torch_dispatch__", "__array__",
                  "__array_ufunc__", "__array_function__", "__array_priority__", "__instancecheck__",
                  "__subclasscheck__", "__getattr__", "__getattribute__", "__class_getitem__", "__len__",
                  "__iter__", "__contains__", "__hash__", "__format__", "__repr__", "__str__", "__round__"}
#: Builtins the checks rely on: rebinding them at top level, to anything, voids every test.
CRITICAL_BUILTINS = {"isinstance", "issubclass", "type", "abs", "all", "any", "zip", "len", "float", "bool",
                     "AssertionError", "callable", "getattr", "hasattr", "repr", "round", "print", "Exception",
                     "BaseException", "__build_class__", "__import__", "super", "object", "open"}
BUILTIN_NAMES = set(dir(builtins))
SAFE_MAGICS = {"time", "timeit", "matplotlib", "autoreload", "who", "whos", "precision", "pinfo", "pinfo2",
               "pprint", "config_inlinebackend", "capture"}
#: Harmless corners of otherwise forbidden packages.
SAFE_IMPORTS = ("IPython.display", "IPython.core.display")
OUTSIDE_PATH = re.compile(r"^(?:/[\w.~-]|~[\w-]*/|\.\.(?:/|$))|/\.\.(?:/|$)")


@dataclass
class Restriction:
    """Per-assignment rule: these functions must not use these features."""

    functions: tuple
    forbid: tuple          # subset of ("optim", "autograd")
    why: str


class Policy(Configurable):
    """Per-course rules of the scan, set in nbgrader_config.py (``c.Policy.restrictions``)."""

    restrictions = List(Dict(), default_value=[], help=(
        "Functions that must compute something themselves: a list of "
        "{'functions': [grade ids], 'forbid': ['optim' and/or 'autograd'], 'why': 'the message'}. "
        "A forbidden feature reached from one of these functions (also through helpers) voids its tests.")
    ).tag(config=True)


def configured_restrictions(config) -> tuple[Restriction, ...]:
    """The course's :class:`Restriction` list from its traitlets config (``c.Policy.restrictions``)."""
    out = []
    for i, r in enumerate(Policy(config=config).restrictions):
        forbid = tuple(r.get("forbid") or ())
        if not r.get("functions") or not set(forbid) <= {"optim", "autograd"}:
            raise ValueError(f"c.Policy.restrictions[{i}] needs 'functions' and 'forbid' within "
                             f"['optim', 'autograd'], got {r!r}")
        out.append(Restriction(tuple(r["functions"]), forbid, str(r.get("why") or "")))
    return tuple(out)


@dataclass
class Finding:
    rule: str
    message: str
    cell: str              # the answer cell's grade id, or "added cell #<index>"
    line: int
    scope: str | None      # function whose tests are voided; None: every test

    def as_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        where = f"{self.cell}, line {self.line}"
        return f"{self.rule}: {self.message} ({where})"


@dataclass
class StudentCell:
    source: str
    grade_id: str | None = None     # answer cell: its function name; None: a cell the student added
    index: int = 0

    @property
    def label(self) -> str:
        return self.grade_id or f"added cell #{self.index}"


def to_python(source: str) -> str:
    """IPython syntax (magics, ``!cmd``) -> plain Python, as the kernel would see it."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001 (fall back to the raw source)
        return source


def _root(node):
    """Base of an attribute/subscript/call chain: ``torch.testing.x[0]`` -> Name('torch')."""
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call, ast.Starred)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node


def _dotted(node) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))


class _Scanner(ast.NodeVisitor):
    def __init__(self, cell: StudentCell, aliases: set, out: list, features: dict):
        self.cell, self.aliases, self.out, self.features = cell, aliases, out, features
        self.func_stack: list[str] = []
        self.allowed_calls: set = set()

    # -- helpers --
    def flag(self, rule: str, msg: str, node) -> None:
        self.out.append((rule, msg, getattr(node, "lineno", 0)))

    def feature(self, kind: str, msg: str, node) -> None:
        owner = self.func_stack[0] if self.func_stack else None
        self.features.setdefault(owner, []).append((kind, msg, getattr(node, "lineno", 0)))

    def _is_module(self, node) -> bool:
        r = _root(node)
        return isinstance(r, ast.Name) and (r.id in self.aliases or r.id == "__builtins__")

    def _check_target(self, t, node) -> None:
        if isinstance(t, (ast.Tuple, ast.List)):
            for e in t.elts:
                self._check_target(e, node)
        elif isinstance(t, (ast.Attribute, ast.Subscript)) and self._is_module(t):
            self.flag("monkeypatch", f"assigns to {_dotted(t) or 'an attribute'} of an imported module", node)
        elif isinstance(t, ast.Attribute) and t.attr in ("__class__", "__dict__", "__code__", "__globals__"):
            self.flag("introspection", f"assigns to .{t.attr}", node)
        elif isinstance(t, ast.Name) and not self.func_stack and t.id in CRITICAL_BUILTINS:
            self.flag("shadow_builtin", f"rebinds the builtin {t.id!r} at top level", node)

    # -- imports --
    def _import(self, name: str, node) -> None:
        top = name.split(".")[0]
        if top in FORBIDDEN_IMPORTS and not name.startswith(SAFE_IMPORTS):
            rule, msg = FORBIDDEN_IMPORTS[top]
            self.flag(rule, msg, node)
        if name.startswith("torch.optim") or name == "torch.optim":
            self.feature("optim", "imports torch.optim", node)
        if name.startswith(("torch.autograd", "torch.func", "functorch")):
            self.feature("autograd", f"imports {name}", node)

    def visit_Import(self, node):
        for a in node.names:
            self._import(a.name, node)
            self.aliases.add(a.asname or a.name.split(".")[0])
        self.generic_visit(node)

    def visit_ImportFrom(self, node):
        mod = node.module or ""
        self._import(mod, node)
        for a in node.names:
            full = f"{mod}.{a.name}"
            self._import(full, node)
            if a.name in SUBMODULE_NAMES or a.name in FORBIDDEN_IMPORTS:
                self.aliases.add(a.asname or a.name)
            if a.name == "*":
                self.flag("obfuscation", f"star import from {mod}", node)
            elif not self.func_stack and (a.asname or a.name) in CRITICAL_BUILTINS:
                self.flag("shadow_builtin", f"imports a name over the builtin {(a.asname or a.name)!r}", node)
        self.generic_visit(node)

    # -- definitions --
    def _visit_func(self, node):
        if not self.func_stack and node.name in CRITICAL_BUILTINS:
            self.flag("shadow_builtin", f"defines a function over the builtin {node.name!r}", node)
        self.func_stack.append(node.name)
        self.generic_visit(node)
        self.func_stack.pop()

    visit_FunctionDef = _visit_func
    visit_AsyncFunctionDef = _visit_func

    def visit_ClassDef(self, node):
        for b in node.bases:
            name = b.attr if isinstance(b, ast.Attribute) else b.id if isinstance(b, ast.Name) else ""
            if name in TAMPER_BASES:
                self.flag("tamper_class", f"class {node.name} subclasses {name}", node)
        for item in node.body:
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name in TAMPER_METHODS:
                self.flag("tamper_class", f"class {node.name} defines {item.name}", item)
            if isinstance(item, ast.Assign):
                for t in item.targets:
                    if isinstance(t, ast.Name) and t.id in TAMPER_METHODS:
                        self.flag("tamper_class", f"class {node.name} sets {t.id}", item)
        for kw in node.keywords:
            if kw.arg == "metaclass":
                self.flag("tamper_class", f"class {node.name} uses a metaclass", node)
        if not self.func_stack and node.name in CRITICAL_BUILTINS:
            self.flag("shadow_builtin", f"defines a class over the builtin {node.name!r}", node)
        self.func_stack.append(node.name)
        self.generic_visit(node)
        self.func_stack.pop()

    def visit_Global(self, node):
        for n in node.names:
            if n in CRITICAL_BUILTINS:
                self.flag("shadow_builtin", f"declares the builtin {n!r} global", node)

    # -- assignments --
    def visit_Assign(self, node):
        for t in node.targets:
            self._check_target(t, node)
        # t = torch.testing  ->  t is a module alias from now on
        if isinstance(node.value, (ast.Name, ast.Attribute)) and self._is_module(node.value):
            for t in node.targets:
                if isinstance(t, ast.Name):
                    self.aliases.add(t.id)
        self.generic_visit(node)

    def visit_AugAssign(self, node):
        self._check_target(node.target, node)
        self.generic_visit(node)

    def visit_AnnAssign(self, node):
        self._check_target(node.target, node)
        self.generic_visit(node)

    def visit_NamedExpr(self, node):
        self._check_target(node.target, node)
        self.generic_visit(node)

    def visit_Delete(self, node):
        for t in node.targets:
            if isinstance(t, (ast.Attribute, ast.Subscript)) and self._is_module(t):
                self.flag("monkeypatch", f"deletes {_dotted(t) or 'an attribute'} of an imported module", node)
        self.generic_visit(node)

    # -- names and attributes --
    def visit_Name(self, node):
        if node.id == "__builtins__":
            self.flag("builtins", "uses __builtins__", node)
        elif node.id == "get_ipython" and id(node) not in self.allowed_calls:
            self.flag("ipython_hook", "uses get_ipython() (kernel hooks)", node)

    def visit_Attribute(self, node):
        a, base = node.attr, _dotted(node.value)
        rule = FORBIDDEN_ATTRS.get(a, "")
        if rule:
            self.flag(rule, f"uses .{a}", node)
        elif a == "modules" and base == "sys":
            self.flag("introspection", "uses sys.modules", node)
        elif a == "events" and base.endswith(("get_ipython", "shell", "ip")):
            self.flag("ipython_hook", "uses the IPython event hooks", node)
        elif a == "register" and isinstance(node.value, ast.Attribute) and node.value.attr == "events":
            self.flag("ipython_hook", "registers an IPython event hook", node)
        elif base == "os" and (a in OS_PROCESS or a.startswith(OS_EXEC_PREFIXES)):
            self.flag("process", f"calls os.{a}", node)
        elif base == "os" and a in ("environ", "getenv", "putenv"):
            self.flag("environment", f"reads the environment (os.{a})", node)
        elif base == "os" and a == "chdir":
            self.flag("file_access", "changes the working folder", node)
        elif base == "signal" or base.startswith("signal."):
            self.flag("process", f"uses signal.{a}", node)
        # assignment-specific features
        if base.startswith("torch") and (a == "optim" or ".optim" in base or base == "optim"):
            self.feature("optim", f"uses {base}.{a}", node)
        elif base == "optim" and "optim" in self.aliases:
            self.feature("optim", f"uses optim.{a}", node)
        if a in ("backward", "grad", "requires_grad", "requires_grad_", "autograd", "func", "jacobian",
                 "hessian", "vjp", "jvp") and not (a == "func" and not base.startswith("torch")):
            if not (a == "grad" and base in ("torch.enable", "torch.no", "torch.set")):
                self.feature("autograd", f"uses .{a}", node)
        self.generic_visit(node)

    def visit_Constant(self, node):
        if isinstance(node.value, str):
            if "NBGRADER" in node.value:
                self.flag("environment", "mentions NBGRADER (branches on the grader)", node)
            elif OUTSIDE_PATH.search(node.value) and "\n" not in node.value and len(node.value) < 400:
                self.flag("file_access", f"refers to a path outside the working folder: {node.value[:60]!r}", node)

    def visit_keyword(self, node):
        if node.arg == "requires_grad":
            self.feature("autograd", "passes requires_grad=", node)
        self.generic_visit(node)

    def visit_Call(self, node):
        f = node.func
        if isinstance(f, ast.Attribute) and f.attr in ("run_line_magic", "run_cell_magic") and \
                isinstance(_root(f), ast.Name) and _root(f).id == "get_ipython" and node.args and \
                isinstance(node.args[0], ast.Constant) and node.args[0].value in SAFE_MAGICS:
            # %time / %%timeit etc.: allowed, but the code they run is scanned like any other
            self.allowed_calls.add(id(_root(f)))
            for arg in node.args[1:]:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and arg.value.strip():
                    try:
                        self.visit(ast.parse(to_python(arg.value)))
                    except SyntaxError:
                        pass
            for kw in node.keywords:
                self.visit(kw)
            return
        if isinstance(f, ast.Name):
            if f.id in FORBIDDEN_CALLS:
                rule, msg = FORBIDDEN_CALLS[f.id]
                self.flag(rule, msg, node)
            elif f.id in ("setattr", "delattr") and node.args and self._is_module(node.args[0]):
                self.flag("monkeypatch", f"{f.id} on an imported module", node)
            elif f.id == "type" and len(node.args) == 3:
                self.flag("tamper_class", "builds a class with type(name, bases, dict)", node)
        self.generic_visit(node)


def _scan_one(cell: StudentCell, aliases: set) -> tuple[list, dict, set, bool]:
    """Findings ``(rule, msg, line)``, features per function, names referenced, parsed?"""
    code = to_python(cell.source)
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return [], {}, {}, False
    out, features = [], {}
    _Scanner(cell, aliases, out, features).visit(tree)
    refs: dict = {}
    defined: set = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defined.add(node.name)
            refs[node.name] = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} - {node.name}
        elif isinstance(node, ast.Assign):
            names = {t.id for t in node.targets if isinstance(t, ast.Name)}
            defined |= names
            used = {n.id for n in ast.walk(node.value) if isinstance(n, ast.Name)}
            for n in names:
                refs[n] = used
    refs[None] = {n.id for node in tree.body if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                                          ast.ClassDef))
                  for n in ast.walk(node) if isinstance(n, ast.Name)}
    return out, features, refs, True


def module_aliases(sources) -> set:
    """Names bound to modules by the import statements in ``sources`` (e.g. the setup cell)."""
    aliases = set(DEFAULT_MODULES)
    for src in sources:
        try:
            tree = ast.parse(to_python(src))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                aliases |= {a.asname or a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                aliases |= {a.asname or a.name for a in node.names if a.name in SUBMODULE_NAMES}
    return aliases


@dataclass
class ScanResult:
    findings: list = field(default_factory=list)
    unparsed: list = field(default_factory=list)     # labels of cells that are not valid Python

    @property
    def flagged(self) -> bool:
        return bool(self.findings)


def scan(cells: list[StudentCell], locked_sources=(), restrictions=(), functions=()) -> ScanResult:
    """Scan student-authored cells. ``locked_sources``: setup cell(s), for module aliases.

    ``functions``: the graded function names of the assignment (answer-cell grade ids);
    ``restrictions``: the course's rules (:func:`configured_restrictions`).
    """
    aliases = module_aliases(locked_sources)
    res = ScanResult()
    per_cell = []
    for cell in cells:
        found, features, refs, ok = _scan_one(cell, aliases)
        if not ok:
            res.unparsed.append(cell.label)
        per_cell.append((cell, found, features, refs))
        for rule, msg, line in found:
            if rule in LOCAL_RULES and cell.grade_id:
                scope = cell.grade_id
            else:
                scope = None
            res.findings.append(Finding(rule, msg, cell.label, line, scope))

    # Assignment rules: features reachable from a restricted function, through student-defined helpers.
    feats_by_def: dict = {}
    refs_by_def: dict = {}
    for cell, _found, features, refs in per_cell:
        for owner, items in features.items():
            key = owner if owner is not None else ("<cell>", cell.label)
            feats_by_def.setdefault(key, []).extend((k, m, ln, cell.label) for k, m, ln in items)
        for owner, names in refs.items():
            key = owner if owner is not None else ("<cell>", cell.label)
            refs_by_def.setdefault(key, set()).update(names)
    for r in restrictions:
        for fn in r.functions:
            if functions and fn not in functions:
                continue
            cell = next((c for c in cells if c.grade_id == fn), None)
            roots = [fn] + ([("<cell>", cell.label)] if cell is not None else [])
            seen, stack, hits = set(), list(roots), []
            while stack:
                k = stack.pop()
                if k in seen:
                    continue
                seen.add(k)
                hits.extend(feats_by_def.get(k, []))
                stack.extend(n for n in refs_by_def.get(k, ()) if n in refs_by_def or n in feats_by_def)
            for kind, msg, line, label in hits:
                if kind in r.forbid:
                    rule = "forbidden_optim" if kind == "optim" else "forbidden_autograd"
                    res.findings.append(Finding(rule, f"{fn}: {msg} ({r.why})", label, line, fn))
    uniq, seen = [], set()
    for f in res.findings:
        key = (f.rule, f.cell, f.line, f.scope, f.message)
        if key not in seen:
            seen.add(key)
            uniq.append(f)
    res.findings = uniq
    return res
