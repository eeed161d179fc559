"""Drive the student's JupyterLab in headless chromium (Playwright, sync API).

Shared by ``tests/browser/`` and ``benchmarks/bench_browser_slider.py``:

- ``build_course`` copies the course's release notebooks into a folder, with the
  instructor's solutions filled into the answer cells (and, on request, an
  untouched copy of a release);
- ``LabServer`` starts JupyterLab on 127.0.0.1 with a token and a private
  settings folder (no news, no update checks, all cells kept in the DOM) and
  stops it with its kernels;
- ``NotebookPage`` opens a notebook, runs it, waits for the kernel, collects
  error outputs and broken widgets, moves sliders and watches figures.

Nothing here downloads a browser: chromium comes from the system
(``/usr/bin/chromium``, Debian's package), overridable with ``CHROMIUM``.
"""

from __future__ import annotations

import io
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from tests.helpers.nbgrader_course import (
    ASSIGNMENTS, REPO, ScratchCourse, nb_meta, read_source, strip_solution_markers,
)

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
# A widget shown as its Python repr means the front end never got a widget
# manager (ipywidgets and jupyterlab_widgets out of step).
_WIDGET_REPR = re.compile(
    r"^\s*(VBox|HBox|Box|GridBox|Tab|Accordion|Stack|AppLayout|GridspecLayout|TwoByTwoLayout|"
    r"Output|interactive|\w*Slider|Dropdown|ToggleButtons?|RadioButtons|Checkbox|Button|"
    r"SelectMultiple|Select|Play|Label|HTML|IntText|FloatText|Text)\((children|value|layout|options|description|outputs)="
)
_ERROR_LINE = re.compile(r"^\s*(\w+\.)*\w*(Error|Exception|Interrupt)\b.*$", re.M)


def chromium_available() -> bool:
    return Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)


def artifacts_dir() -> Path:
    """Screenshots and the server log: ``$BROWSER_ARTIFACTS`` or ``artifacts/browser/``."""
    # Each test overwrites its own files; no bulk clean-up (xdist workers share the folder).
    path = Path(os.environ.get("BROWSER_ARTIFACTS") or REPO / "artifacts" / "browser").resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


# --------------------------------------------------------------------------- course copy


def fill_solutions(release_nb, source_nb):
    """The release notebook with each answer cell's source replaced by the
    instructor's solution (markers stripped). Everything else stays as the
    student gets it: visible tests, prose, demo cells."""
    solutions = {
        nb_meta(c)["grade_id"]: strip_solution_markers(c.source)
        for c in source_nb.cells if nb_meta(c).get("solution")
    }
    nb = nbformat.from_dict(release_nb)
    seen = set()
    for cell in nb.cells:
        meta = nb_meta(cell)
        if not meta.get("solution"):
            continue
        gid = meta.get("grade_id")
        if gid not in solutions:
            raise KeyError(
                f"release answer cell {gid!r} has no counterpart in the source notebook; "
                "regenerate the release (nbgrader generate_assignment <assignment> --force)"
            )
        cell.source = solutions[gid]
        seen.add(gid)
    missing = set(solutions) - seen
    if missing:
        raise KeyError(
            f"source answer cells {sorted(missing)} are missing from the release; "
            "regenerate the release (nbgrader generate_assignment <assignment> --force)"
        )
    return nb


def release_notebook(assignment: str, scratch: Path):
    """The committed ``release/<a>/<a>.ipynb``, or a fresh nbgrader release of
    the source notebook when none is committed yet."""
    committed = REPO / "release" / assignment / f"{assignment}.ipynb"
    if committed.exists():
        return nbformat.read(str(committed), as_version=4)
    source = REPO / "source" / assignment / f"{assignment}.ipynb"
    if not source.exists():
        raise FileNotFoundError(f"{source.relative_to(REPO)} does not exist: the assignment has no notebook yet")
    course = ScratchCourse(scratch / f"gen-{assignment}", assignments=[assignment])
    # nbgrader runs `alembic` from PATH; have the interpreter's own bin folder first.
    old_path = os.environ.get("PATH", "")
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), old_path])
    try:
        return course.generate(assignment)
    finally:
        os.environ["PATH"] = old_path


def build_course(dest: Path, assignments=ASSIGNMENTS, untouched=()) -> dict:
    """Lay out ``dest/solved/<a>/<a>.ipynb`` (release + solutions) and
    ``dest/untouched/<a>/<a>.ipynb`` (release as shipped). Returns
    ``{(kind, assignment): path relative to dest}``."""
    dest = Path(dest)
    paths = {}
    with tempfile.TemporaryDirectory(prefix="browser-gen-") as tmp:
        for a in assignments:
            release = release_notebook(a, Path(tmp))
            solved = fill_solutions(release, read_source(a))
            for kind, nb in [("solved", solved)] + ([("untouched", release)] if a in untouched else []):
                rel = Path(kind) / a / f"{a}.ipynb"
                (dest / rel).parent.mkdir(parents=True, exist_ok=True)
                nbformat.write(nb, str(dest / rel))
                paths[(kind, a)] = rel.as_posix()
    return paths


def write_selftest_notebooks(dest: Path) -> dict:
    """Two tiny notebooks that prove the machinery on its own: ``ok`` (a
    slider redrawing a matplotlib figure in an Output widget, the way the
    course's demos do) and ``broken`` (a traceback and a widget whose model
    does not exist, and a slider wired to nothing, which the checks must
    report; the error comes last since Run All stops there)."""
    from nbformat.v4 import new_code_cell, new_notebook

    def nb(*cells):
        out = new_notebook(cells=[new_code_cell(c) for c in cells])
        out.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
        return out

    ok = nb(
        "import ipywidgets as W\nimport matplotlib.pyplot as plt\nimport numpy as np\nfrom IPython.display import display",
        "slider = W.FloatSlider(value=1.0, min=0.5, max=3.0, step=0.25, description='λ',\n"
        "                       continuous_update=False)\n"
        "slider.add_class('selftest-lambda')\n"
        "out = W.Output()\n"
        "def redraw(change=None):\n"
        "    with out:\n"
        "        out.clear_output(wait=True)\n"
        "        x = np.linspace(-3, 3, 200)\n"
        "        fig, ax = plt.subplots(figsize=(4, 2.5))\n"
        "        ax.plot(x, np.tanh(slider.value * x))\n"
        "        ax.set_title(f'λ = {slider.value:g}')\n"
        "        plt.show()\n"
        "slider.observe(redraw, names='value')\n"
        "redraw()\n"
        "display(W.VBox([slider, out]))",
        "print('done')",
    )
    broken = nb(
        "from IPython.display import display\n"
        "display({'application/vnd.jupyter.widget-view+json':\n"
        "         {'model_id': '0123456789abcdef', 'version_major': 2, 'version_minor': 0},\n"
        "         'text/plain': 'ghost'}, raw=True)",
        # A slider wired to nothing: moving it must be reported as "figure did not change".
        "import ipywidgets as W, matplotlib.pyplot as plt\n"
        "dead = W.FloatSlider(value=1.0, min=0.0, max=2.0, step=0.5, description='dead', continuous_update=False)\n"
        "dead.add_class('selftest-dead')\n"
        "out = W.Output()\n"
        "with out:\n"
        "    plt.plot([0, 1], [0, 1]); plt.show()\n"
        "display(W.VBox([dead, out]))",
        "def f():\n    raise ValueError('planted error')\nf()",
    )
    paths = {}
    for name, book in {"ok": ok, "broken": broken}.items():
        rel = Path("selftest") / f"{name}.ipynb"
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(book, str(dest / rel))
        paths[name] = rel.as_posix()
    return paths


# --------------------------------------------------------------------------- server

_LAB_SETTINGS = {
    # Every cell stays in the DOM, so checks and screenshots see the whole notebook.
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    # Closed network: no news, no update checks, no extension manager lookups.
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"checkForUpdates": False, "fetchNews": "false"},
    "@jupyterlab/extensionmanager-extension/plugin.jupyterlab-settings": {"enabled": False},
    # The course copy is throwaway; no "file changed on disk" dialogs.
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LabServer:
    """JupyterLab on 127.0.0.1:<free port> serving ``root``; a context manager.

    The server runs in its own session (process group) so ``stop`` can end it
    and every kernel it started, even when it ignores SIGTERM."""

    def __init__(self, root: Path, log_path: Path | None = None, startup_timeout: float = 120):
        self.root = Path(root).resolve()
        self.token = secrets.token_hex(16)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.startup_timeout = startup_timeout
        self.proc: subprocess.Popen | None = None
        self._home = None

    def env(self) -> dict:
        env = dict(os.environ)
        home = Path(self._home.name)
        settings = home / "lab-settings"
        for name, value in _LAB_SETTINGS.items():
            path = settings / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(value))
        env.update(
            COURSE_HEADLESS="0",           # widgets, not static figures
            COURSE_DATASET=env.get("COURSE_DATASET", "digits"),
            JUPYTERLAB_SETTINGS_DIR=str(settings),
            JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
            JUPYTER_CONFIG_DIR=str(home / "config"),
            JUPYTER_RUNTIME_DIR=str(home / "runtime"),
            IPYTHONDIR=str(home / "ipython"),
            OMP_NUM_THREADS=env.get("OMP_NUM_THREADS", "1"),
            MKL_NUM_THREADS=env.get("MKL_NUM_THREADS", "1"),
            OPENBLAS_NUM_THREADS=env.get("OPENBLAS_NUM_THREADS", "1"),
            PYTHONWARNINGS="ignore::DeprecationWarning",
        )
        # The kernel must pick the inline backend (the Makefile exports Agg),
        # and must not believe it runs under nbgrader.
        for var in ("MPLBACKEND", "NBGRADER_EXECUTION", "JPY_PARENT_PID"):
            env.pop(var, None)
        return env

    def start(self) -> "LabServer":
        self._home = tempfile.TemporaryDirectory(prefix="browser-lab-home-")
        cmd = [
            sys.executable, "-m", "jupyter", "lab", "--no-browser",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
            f"--ServerApp.token={self.token}", f"--ServerApp.root_dir={self.root}",
            "--LabApp.expose_app_in_browser=True",   # window.jupyterapp: kernel status, cell models
            "--ServerApp.open_browser=False",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")   # CI containers run as root
        log = open(self.log_path, "wb") if self.log_path else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            cmd, cwd=self.root, env=self.env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        if self.log_path:
            log.close()
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with code {self.proc.returncode} while starting; log: {self.log_path}")
            try:
                self.api("GET", "/api/status")
                return self
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise TimeoutError(f"JupyterLab did not answer on {self.url} within {self.startup_timeout:.0f} s; log: {self.log_path}")

    def api(self, method: str, path: str, timeout: float = 5):
        req = urllib.request.Request(
            f"{self.url}{path}", method=method, headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            body = resp.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self):
        """Free the CPU between notebooks: end every running session."""
        try:
            for s in self.api("GET", "/api/sessions"):
                self.api("DELETE", f"/api/sessions/{s['id']}", timeout=30)
        except OSError:
            pass

    def lab_url(self, rel_path: str) -> str:
        return f"{self.url}/lab/tree/{rel_path}?reset&token={self.token}"

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.shutdown_kernels()
            pgid = os.getpgid(self.proc.pid)
            os.killpg(pgid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(pgid, signal.SIGKILL)
                self.proc.wait(timeout=10)
            # Kernels left behind in the group (the server normally ends them).
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self._home is not None:
            self._home.cleanup()
            self._home = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def launch_browser(playwright):
    """Headless system chromium. Playwright's ``launch`` gives every run a
    fresh temporary profile itself (it refuses ``--user-data-dir``)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


# --------------------------------------------------------------------------- page

# JS helpers evaluated in the page; `window.jupyterapp` is exposed by the server flag.
_JS_STATE = """
() => {
  const app = window.jupyterapp;
  const w = app && app.shell.currentWidget;
  if (!w || !w.sessionContext || !w.content) return {ready: false};
  const sc = w.sessionContext;
  const kernel = sc.session && sc.session.kernel;
  const prompts = Array.from(w.node.querySelectorAll('.jp-CodeCell .jp-InputPrompt')).map(p => p.textContent.trim());
  return {
    ready: true,
    kernel: kernel ? kernel.status : 'none',
    running: prompts.filter(p => p.includes('*')).length,
    ncode: prompts.length,
    executed: prompts.filter(p => /\\[\\d+\\]/.test(p)).length,
  };
}
"""

_JS_MODEL_OUTPUTS = """
() => {
  const w = window.jupyterapp.shell.currentWidget;
  const cells = [];
  const model = w.content.model;
  for (let i = 0; i < model.cells.length; i++) {
    const c = model.cells.get(i);
    if (c.type !== 'code') continue;
    cells.push({index: i, source: c.sharedModel.getSource().slice(0, 200), outputs: c.outputs.toJSON()});
  }
  return cells;
}
"""


@dataclass
class Problems:
    """What went wrong in a notebook, as found in the cell models and the DOM."""
    errors: list = field(default_factory=list)     # tracebacks / error outputs
    widgets: list = field(default_factory=list)    # widgets that did not render
    stderr: list = field(default_factory=list)     # other stderr text (warnings), informative only
    widget_count: int = 0

    def failures(self) -> list:
        return self.errors + self.widgets

    def __str__(self):
        lines = [f"- {p}" for p in self.failures()]
        return "\n".join(lines) if lines else "no problems"


class NotebookPage:
    """One notebook open in JupyterLab in its own browser context."""

    def __init__(self, browser, server: LabServer, rel_path: str, viewport=(1280, 900)):
        self.server = server
        self.rel_path = rel_path
        self.context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
        self.page = self.context.new_page()
        self.console: list[str] = []
        self.page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}") if m.type == "error" else None)

    # -- lifecycle
    def open(self, timeout: float = 120):
        return self.goto(timeout).wait_ready(timeout)

    def goto(self, timeout: float = 120):
        """Load JupyterLab with the notebook (returns before the kernel is up)."""
        self.page.goto(self.server.lab_url(self.rel_path), timeout=timeout * 1000)
        return self

    def wait_ready(self, timeout: float = 120):
        """Until the notebook is shown and its kernel is idle."""
        self.page.wait_for_function(
            """() => { const a = window.jupyterapp; const w = a && a.shell.currentWidget;
                       return !!(w && w.content && w.sessionContext && w.context && w.context.isReady); }""",
            timeout=timeout * 1000,
        )
        # Wait for the kernel to be up, so Run All goes to a live kernel.
        self.page.wait_for_function(
            """() => { const w = window.jupyterapp.shell.currentWidget; const s = w.sessionContext;
                       return s.session && s.session.kernel && s.session.kernel.status === 'idle'; }""",
            timeout=timeout * 1000,
        )
        self.page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=timeout * 1000)
        # More room for the notebook in screenshots.
        self.page.evaluate("() => window.jupyterapp.shell.collapseLeft()")
        return self

    def close(self):
        try:
            self.page.evaluate("() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                               " && window.jupyterapp.shell.currentWidget.sessionContext.shutdown()")
        except Exception:
            pass
        self.context.close()

    def __enter__(self):
        return self.open()

    def __exit__(self, *exc):
        self.close()

    # -- running
    def state(self) -> dict:
        return self.page.evaluate(_JS_STATE)

    def start_run_all(self):
        """Run menu → Run All Cells, as a student does (returns at once)."""
        self.page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        self.page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
        # The click only queues the cells; wait until the first one is on its way.
        self.page.wait_for_function(
            "() => Array.from(window.jupyterapp.shell.currentWidget.node.querySelectorAll('.jp-CodeCell .jp-InputPrompt'))"
            ".some(p => /\\[(\\*|\\d+)\\]/.test(p.textContent))",
            timeout=30_000,
        )
        return self

    def run_all(self, timeout: float = 600):
        """Run All Cells and wait for the kernel to settle."""
        self.start_run_all()
        return self.wait_idle(timeout)

    def start_cell_by_cell(self):
        """Run every code cell in turn, each one after the previous has finished
        (what Ctrl+Enter on each cell does). Unlike Run All this goes on past a
        cell that raises: an untouched release raises NotImplementedError in its
        checks, yet its demos must still run. The loop runs inside the page, so
        it proceeds while Python looks at other notebooks; ``wait_cell_by_cell``
        waits for its end."""
        self.page.evaluate(
            """() => {
              const app = window.jupyterapp, panel = app.shell.currentWidget, nb = panel.content;
              const cells = nb.widgets.map((c, i) => c.model.type === 'code' ? i : -1).filter(i => i >= 0);
              window.__cellByCell = {done: false, ran: 0, error: null};
              (async () => {
                try {
                  for (const i of cells) {
                    nb.activeCellIndex = i;
                    // Resolves when the cell's execution has finished (false if it raised).
                    await app.commands.execute('notebook:run-cell');
                    window.__cellByCell.ran += 1;
                  }
                } catch (e) { window.__cellByCell.error = String(e); }
                window.__cellByCell.done = true;
              })();
            }"""
        )
        return self

    def wait_cell_by_cell(self, timeout: float = 600):
        self.page.wait_for_function("() => window.__cellByCell && window.__cellByCell.done", timeout=timeout * 1000)
        status = self.page.evaluate("() => window.__cellByCell")
        if status["error"]:
            raise RuntimeError(f"{self.rel_path}: running cell by cell stopped: {status['error']}")
        return self.wait_idle(timeout)

    def run_cell_by_cell(self, timeout: float = 600):
        return self.start_cell_by_cell().wait_cell_by_cell(timeout)

    def wait_idle(self, timeout: float = 600, settle: float = 1.0) -> dict:
        """Until no cell shows [*] and the kernel is idle, stable for ``settle`` seconds."""
        deadline = time.monotonic() + timeout
        quiet_since = None
        while True:
            st = self.state()
            quiet = st.get("ready") and st["kernel"] == "idle" and st["running"] == 0
            now = time.monotonic()
            if quiet:
                quiet_since = quiet_since or now
                if now - quiet_since >= settle:
                    return st
            else:
                quiet_since = None
            if now > deadline:
                raise TimeoutError(f"{self.rel_path}: kernel still busy after {timeout:.0f} s (state {st})")
            time.sleep(0.1)

    def wait_widgets(self, timeout: float = 60):
        """Until no widget output still says 'Loading widget...'."""
        try:
            self.page.wait_for_function(
                """() => !Array.from(document.querySelectorAll('.jp-OutputArea-output'))
                        .some(n => n.textContent.trim() === 'Loading widget...')""",
                timeout=timeout * 1000,
            )
        except Exception:
            pass  # reported by problems()

    # -- checks
    def problems(self) -> Problems:
        out = Problems()
        model_errors = []   # evalues already reported, so the DOM pass does not repeat them
        for cell in self.page.evaluate(_JS_MODEL_OUTPUTS):
            where = f"cell {cell['index']} ({cell['source'].splitlines()[0][:60] if cell['source'] else ''!r})"
            for o in cell["outputs"]:
                if o.get("output_type") == "error":
                    out.errors.append(f"{where}: {o.get('ename')}: {o.get('evalue')}")
                    model_errors.append(str(o.get("evalue") or o.get("ename")))
                elif o.get("output_type") == "stream" and o.get("name") == "stderr":
                    text = "".join(o.get("text", ""))
                    if "Traceback" in text or _ERROR_LINE.search(text):
                        out.errors.append(f"{where}: stderr: {text.strip()[-400:]}")
                    else:
                        out.stderr.append(f"{where}: {text.strip()[:200]}")
        dom = self.page.evaluate(
            """(mime) => {
              const nb = window.jupyterapp.shell.currentWidget.content;
              const res = {stderr: [], plain: [], widgets: []};
              nb.widgets.forEach((cell, i) => {
                if (cell.model.type !== 'code') return;
                const outs = cell.model.outputs;
                cell.outputArea.widgets.forEach((child, k) => {
                  const node = child.node.querySelector('.jp-OutputArea-output') || child.node;
                  const m = node.getAttribute('data-mime-type') || '';
                  const t = node.textContent || '';
                  const data = k < outs.length ? (outs.get(k).data || {}) : {};
                  if (mime in data) {
                    const r = node.getBoundingClientRect();
                    res.widgets.push({cell: i, text: t.trim().slice(0, 200), w: r.width, h: r.height,
                                      hasView: !!node.querySelector('.widget-box, .widget-inline-hbox, .widget-output, .widget-html, .widget-label, .jupyter-widgets:not(:empty)')
                                               && !/^(Error displaying widget|Loading widget)/.test(t.trim())});
                  } else if (m === 'application/vnd.jupyter.stderr') res.stderr.push(t.slice(-600));
                  else if (m === 'text/plain') res.plain.push(t.slice(0, 300));
                });
              });
              // Error text anywhere, e.g. a widget nested in an Output widget.
              res.inner = Array.from(document.querySelectorAll('.jp-Notebook .jupyter-widgets'))
                 .map(n => n.textContent.trim()).filter(t => /^Error displaying widget/.test(t));
              return res;
            }""",
            WIDGET_MIME,
        )
        for text in dom["stderr"]:
            if ("Traceback" in text or _ERROR_LINE.search(text)) and not any(m in text for m in model_errors):
                out.errors.append(f"stderr output in the page: {text.strip()[-300:]}")
        for text in dom["plain"]:
            if _WIDGET_REPR.match(text):
                out.widgets.append(f"widget shown as text (no widget manager?): {text[:120]!r}")
        reported = set()
        for w in dom["widgets"]:
            if w["text"].startswith(("Error displaying widget", "Loading widget")):
                out.widgets.append(f"cell {w['cell']}: widget did not render: {w['text']!r}")
                reported.add(w["text"])
            elif not w["hasView"] or w["w"] == 0 or w["h"] == 0:
                out.widgets.append(f"cell {w['cell']}: widget output has no visible view ({w['w']:.0f}x{w['h']:.0f} px)")
            else:
                out.widget_count += 1
        for text in dom["inner"]:
            if text not in reported:
                out.widgets.append(f"widget did not render: {text[:120]!r}")
        return out

    def text(self) -> str:
        return self.page.locator(".jp-Notebook").inner_text()

    # -- sliders and figures
    def slider(self, css_class: str | None = None, label: str | re.Pattern | None = None):
        """The ipywidgets slider with CSS class ``css_class`` (preferred: stable)
        or whose description matches ``label``. Returns (locator, how found)."""
        if css_class:
            loc = self.page.locator(f".jp-Notebook .{css_class}.widget-slider, .jp-Notebook .widget-slider.{css_class}")
            if loc.count() == 0:
                # add_class may sit on a box around the slider
                loc = self.page.locator(f".jp-Notebook .{css_class} .widget-slider")
            if loc.count() >= 1:
                return loc.first, f"class .{css_class}"
        if label is not None:
            pattern = label if isinstance(label, re.Pattern) else re.compile(rf"^\s*{re.escape(label)}\s*:?\s*$")
            loc = self.page.locator(".jp-Notebook .widget-slider").filter(
                has=self.page.locator(".widget-label", has_text=pattern)
            )
            if loc.count() >= 1:
                return loc.first, f"label {pattern.pattern!r}"
        raise LookupError(
            f"{self.rel_path}: no slider with class {css_class!r} or label {label!r}; "
            f"sliders present: {self.slider_labels()}"
        )

    def slider_labels(self) -> list[str]:
        return self.page.locator(".jp-Notebook .widget-slider").evaluate_all(
            "els => els.map(e => { const l = e.querySelector('.widget-label'); "
            "return (l ? l.textContent.trim() : '?') + ' [' + e.className + ']'; })"
        )

    @staticmethod
    def readout(slider) -> str:
        return slider.locator(".widget-readout").first.inner_text().strip()

    @staticmethod
    def output_of(locator):
        """The cell output (``.jp-OutputArea-output``) holding ``locator``."""
        return locator.locator("xpath=ancestor::div[contains(concat(' ', normalize-space(@class), ' '), ' jp-OutputArea-output ')][1]")

    @staticmethod
    def images(scope) -> list[str]:
        """SHA-256 of every image's bytes in ``scope``. ipywidgets' Image uses a
        fresh blob: URL at every update even for identical bytes, so the bytes,
        not the ``src``, say whether the figure changed."""
        return scope.evaluate(
            """async (root) => {
              const out = [];
              for (const img of root.querySelectorAll('img')) {
                const src = img.getAttribute('src') || '';
                if (!src) { out.push(''); continue; }
                const buf = await (await fetch(src)).arrayBuffer();
                const dig = await crypto.subtle.digest('SHA-256', buf);
                out.push(Array.from(new Uint8Array(dig)).map(b => b.toString(16).padStart(2, '0')).join(''));
              }
              return out;
            }"""
        )

    def press(self, slider, key: str):
        handle = slider.locator(".noUi-handle").first
        handle.focus()
        handle.press(key)

    def move_and_wait(self, slider, key: str, timeout: float = 30) -> dict:
        """Press ``key`` on the slider's handle; wait until the figures of the
        slider's cell output are redrawn (every ``img`` in that output settled,
        at least one ``src`` changed). Returns before/after readouts and images
        and the in-page latency from key press to the changed image."""
        scope = self.output_of(slider)
        before_imgs = self.images(scope)
        before_readout = self.readout(slider)
        handle = slider.locator(".noUi-handle").first
        handle.focus()
        # Stamp the key press and the first changed image inside the page, so
        # the number is what a student sees, not Python round-trips.
        scope.evaluate(
            """(root) => {
              const nodes = Array.from(root.querySelectorAll('img'));
              const before = nodes.map(i => i.getAttribute('src') || '');
              if (window.__slider && window.__slider.obs) window.__slider.obs.disconnect();
              window.__slider = {before, t0: null, t1: null, seen: false};
              // A redraw replaces the img node (Output.clear_output + display) or its src (Image widget).
              const changed = () => {
                const imgs = Array.from(root.querySelectorAll('img'));
                return imgs.find((img, k) => (img.getAttribute('src') || '') &&
                                 (img !== nodes[k] || img.getAttribute('src') !== before[k]));
              };
              document.addEventListener('keydown', () => { window.__slider.t0 = performance.now(); },
                                        {capture: true, once: true});
              // "Shown" = the new image decoded and ready to paint.
              const obs = new MutationObserver(() => {
                const img = window.__slider.t0 !== null && !window.__slider.seen && changed();
                if (img) {
                  window.__slider.seen = true; obs.disconnect();
                  const done = () => { window.__slider.t1 = performance.now(); };
                  img.decode().then(done, done);
                }
              });
              obs.observe(root, {subtree: true, childList: true, attributes: true, attributeFilter: ['src']});
              window.__slider.obs = obs;
            }"""
        )
        handle.press(key)
        # A slider already at its end does not move: nothing will be redrawn.
        moved = self.readout(slider) != before_readout
        try:
            self.page.wait_for_function("() => window.__slider.t1 !== null", timeout=(timeout if moved else 2) * 1000)
            changed = True
        except Exception:
            changed = False
        # Let any further redraws (several figures, wait=True clears) finish.
        self.wait_idle(timeout, settle=0.3)
        self.wait_images_stable(scope)
        stamps = self.page.evaluate("() => { const s = window.__slider; if (s.obs) s.obs.disconnect(); return {t0: s.t0, t1: s.t1}; }")
        latency = (stamps["t1"] - stamps["t0"]) if changed and stamps["t0"] is not None else None
        after_imgs = self.images(scope)
        return {
            "redrawn": changed,                               # an image was replaced
            "changed": bool(after_imgs) and after_imgs != before_imgs,   # ...with different bytes
            "latency_ms": latency,
            "before_readout": before_readout, "after_readout": self.readout(slider),
            "before": before_imgs, "after": after_imgs,
        }

    def wait_images_stable(self, scope, quiet: float = 0.3, timeout: float = 10):
        deadline = time.monotonic() + timeout
        last, since = None, time.monotonic()
        while time.monotonic() < deadline:
            cur = self.images(scope)
            if cur != last:
                last, since = cur, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return cur
            time.sleep(0.05)
        return last

    # -- screenshots
    def screenshot_notebook(self, path: Path, max_height: int = 40000):
        """The whole notebook in one picture. JupyterLab scrolls inside a panel
        (a full-page screenshot only shows the viewport), so the notebook's
        scroll container is captured tile by tile and the tiles are stitched."""
        from PIL import Image

        box = self.page.evaluate(
            """() => {
              const panel = window.jupyterapp.shell.currentWidget.node;
              const cands = [panel.querySelector('.jp-WindowedPanel-outer'), panel.querySelector('.jp-Notebook')];
              const s = cands.find(e => e && e.scrollHeight > e.clientHeight + 1) || cands.find(e => e);
              const r = s.getBoundingClientRect();
              s.setAttribute('data-browser-test-scroller', '1');
              return {x: r.x, y: r.y, w: r.width, h: s.clientHeight, total: s.scrollHeight};
            }"""
        )
        total = int(min(box["total"], max_height))
        sheet = Image.new("RGB", (int(box["w"]), total), "white")
        scroller = "[data-browser-test-scroller]"
        top = 0
        while top < total:
            actual = self.page.evaluate(
                f"(t) => {{ const s = document.querySelector('{scroller}'); s.scrollTop = t; return s.scrollTop; }}", top,
            )
            self.page.wait_for_timeout(150)
            png = self.page.screenshot(clip={"x": box["x"], "y": box["y"], "width": box["w"], "height": box["h"]})
            tile = Image.open(io.BytesIO(png)).convert("RGB")
            sheet.paste(tile, (0, int(actual)))
            if actual < top or top + box["h"] >= total:   # reached the bottom
                break
            top += int(box["h"])
        sheet.save(path, optimize=True)
        self.page.evaluate(f"() => {{ document.querySelector('{scroller}').scrollTop = 0; }}")
        return path

    def screenshot_output(self, locator, path: Path):
        """The cell output around ``locator`` (a widget and its figures)."""
        scope = self.output_of(locator)
        scope.scroll_into_view_if_needed()
        scope.screenshot(path=str(path))
