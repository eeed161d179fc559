"""Student feedback: the autograded notebook as HTML, with points and messages, and no hidden tests.

    python -m autograder feedback ASSIGNMENT [--student ID ...] [--tests visible|placeholder] [--release]

nbgrader's own ``generate_feedback`` renders test cells with their hidden
regions and full tracebacks (nbgrader #917, #1363). Here the autograded notebook
is sanitized before nbconvert sees it:

- every test cell shows only its visible part (what the release showed), or a
  one-line placeholder with ``--tests placeholder``;
- outputs of test cells with hidden tests are dropped (hidden code may print);
  the cell is annotated with its points and the failing check's message
  (exception type and message, never a traceback);
- every error output anywhere is reduced to ``<type>: <message>`` (tracebacks
  quote the code of every frame, including hidden helpers a student calls);
- any output or source line that quotes a hidden-test line (e.g. a student cell
  printing IPython's ``In`` history) is redacted;
- notebook and cell metadata are dropped (checksums, widget state, anything);
- math is rendered to MathML when the page is written (autograder.reports.offline_math),
  so feedback reads right offline.

Files: ``feedback/<student>/<assignment>/<notebook>.html`` (nbgrader's layout,
so ``nbgrader release_feedback`` works) and ``grades/<assignment>/feedback/<student>.html``.
"""

from __future__ import annotations

import html
import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_markdown_cell, new_notebook

from ..course import Course, CourseError, graded_course
from ..notebook import autograded_notebooks, error_message, is_test_cell
from ..notebook import DELIMITERS, Delimiters
from ..results import Status, StudentResult, load_results

REDACTED = "[output not shown: it quoted hidden test code]"
# Hidden lines shorter than this are too generic ("else:", "pass") to redact on sight.
MIN_REDACT_LEN = 12


# --------------------------------------------------------------------------- hidden regions

def split_hidden(source: str, delimiters: Delimiters = DELIMITERS) -> tuple[str, list[str]]:
    """``(visible_source, hidden_lines)``; an unterminated region hides the rest of the cell."""
    return delimiters.split_hidden(source)


def hidden_lines(sources, visible_texts=(), delimiters: Delimiters = DELIMITERS) -> set[str]:
    """Distinctive hidden-test lines (stripped) that never occur in the visible material."""
    visible_lines = {ln.strip() for text in visible_texts for ln in text.split("\n")}
    out = set()
    for src in sources:
        for line in split_hidden(src, delimiters)[1]:
            s = line.strip()
            if len(s) >= MIN_REDACT_LEN and s not in visible_lines:
                out.add(s)
    return out


def gradebook_test_sources(root: Path, assignment: str, notebook: str) -> list[str]:
    """Sources of the assignment's grade cells as stored by generate_assignment (with hidden tests)."""
    try:
        from nbgrader.api import Gradebook

        url = Course(root, require_config=False).db_url
        if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).exists():
            return []
        with Gradebook(url) as gb:
            nb = gb.find_notebook(notebook, assignment)
            return [c.source or "" for c in nb.source_cells]
    except Exception:
        return []


# --------------------------------------------------------------------------- sanitizing

def _output_texts(output) -> list[str]:
    texts = []
    if output.get("output_type") == "stream":
        texts.append(str(output.get("text", "")))
    for mime, value in (output.get("data") or {}).items():
        if mime.startswith("image/") and mime != "image/svg+xml":
            continue
        texts.append(value if isinstance(value, str) else json.dumps(value))
    if output.get("output_type") == "error":
        texts += [str(output.get("evalue", "")), *map(str, output.get("traceback", []))]
    return texts


def _quotes_hidden(text: str, secrets: set[str]) -> bool:
    return any(s in text for s in secrets)


def _stream(text: str, name: str = "stdout"):
    return nbformat.from_dict({"output_type": "stream", "name": name, "text": text})


def sanitize_outputs(outputs, secrets: set[str]) -> list:
    clean = []
    for o in outputs or []:
        kind = o.get("output_type")
        if kind == "error":
            msg = error_message(o)
            clean.append(_stream(REDACTED + "\n" if _quotes_hidden(msg, secrets) else msg + "\n", "stderr"))
            continue
        if kind not in ("stream", "display_data", "execute_result"):
            continue
        if _quotes_hidden("\n".join(_output_texts(o)), secrets):
            clean.append(_stream(REDACTED + "\n"))
            continue
        o = nbformat.from_dict(dict(o))
        if kind == "stream":
            o.pop("metadata", None)
        else:
            o["metadata"] = {}
            # widget views need widget state we drop anyway; keep their static fallbacks
            o["data"] = {k: v for k, v in o.get("data", {}).items()
                         if k != "application/vnd.jupyter.widget-view+json"}
            if not o["data"]:
                continue
        o.pop("transient", None)
        clean.append(o)
    return clean


def _redact_source(source: str, secrets: set[str]) -> str:
    return "\n".join("# [line not shown: hidden test code]" if _quotes_hidden(ln, secrets) else ln
                     for ln in source.split("\n"))


def _fmt(x: float) -> str:
    return f"{x:g}"


def _badge(score: float, max_score: float) -> str:
    if max_score and score >= max_score - 1e-9:
        return "&#10004;", "#1a7f37"
    if score > 0:
        return "&#9680;", "#9a6700"
    return "&#10008;", "#cf222e"


def _annotation(name: str, score: float, max_score: float, message: str) -> str:
    mark, color = _badge(score, max_score)
    body = (f'<div style="border-left:4px solid {color};padding:4px 10px;margin:2px 0 10px 0;background:#f6f8fa">'
            f'<b style="color:{color}">{mark} {html.escape(name)}: {_fmt(score)} / {_fmt(max_score)} points</b>')
    if message:
        body += f'<br><code style="white-space:pre-wrap">{html.escape(message)}</code>'
    return body + "</div>"


WITHHELD = "[message withheld: this submission is under review by the course staff]"


def _messages(result: StudentResult) -> dict:
    """Test name -> the message to show; for a flagged submission none (its messages may carry what it read)."""
    if result.status == "flagged":
        return {t.name: (WITHHELD if t.message else "") for t in result.tests}
    return {t.name: t.message for t in result.tests}


def summary_html(result: StudentResult, notebook: str | None = None) -> str:
    rows, first_with = [], {}
    messages = _messages(result)
    for t in result.tests:
        if notebook and t.notebook and t.notebook != notebook:
            continue
        mark, color = _badge(t.score, t.max_score)
        msg = messages.get(t.name, "")
        # one message for many tests (an unreadable notebook, a missing function) is said once
        if msg and msg == result.reason:
            shown = "<i>see the status above</i>"
        elif msg and msg in first_with:
            shown = f"<i>same message as <code>{html.escape(first_with[msg])}</code></i>"
        else:
            shown = html.escape(msg)
            first_with.setdefault(msg, t.name) if msg else None
        rows.append(f'<tr><td style="color:{color}">{mark}</td><td><code>{html.escape(t.name)}</code></td>'
                    f'<td style="text-align:right">{_fmt(t.score)} / {_fmt(t.max_score)}</td>'
                    f'<td>{shown}</td></tr>')
    head = (f"<h1>Feedback: {html.escape(result.assignment)}</h1>"
            f"<p><b>Student:</b> {html.escape(result.student)} &nbsp; "
            f"<b>Score:</b> {_fmt(round(result.score, 4))} / {_fmt(result.max_score)}")
    if result.late_penalty:
        head += (f" &nbsp; (late by {result.seconds_late / 3600:.1f} h: "
                 f"{_fmt(round(result.raw_score, 4))} earned, {_fmt(round(result.late_penalty, 4))} late penalty)")
    head += "</p>"
    if result.status != Status.GRADED:
        head += (f"<p><b>Status:</b> {html.escape(result.status)}"
                 + (f": {html.escape(result.reason)}" if result.reason else "") + "</p>")
    table = ('<table><thead><tr><th></th><th>test</th><th>points</th><th>message of the failing check</th></tr>'
             "</thead><tbody>" + "".join(rows) + "</tbody></table>")
    note = ("<p>Each check cell below shows its points. Hidden tests are not shown; the message says what "
            "was wrong.</p>")
    return head + table + note


def sanitize_notebook(nb, result: StudentResult, secrets: set[str], tests: str = "visible",
                      delimiters: Delimiters = DELIMITERS):
    """A new notebook safe to show the student: see the module docstring for the rules."""
    scores = {t.name: t for t in result.tests}
    messages = _messages(result)
    nb_name = None
    cells = [new_markdown_cell(summary_html(result, nb_name))]
    # A flagged submission may have read hidden tests (e.g. the calling frame) and printed them in any
    # encoding; redaction cannot see every encoding, so nothing it printed after the first hidden test is shown.
    drop_outputs = False
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {}) or {}
        if cell.cell_type == "code":
            new = nbformat.v4.new_code_cell(execution_count=cell.get("execution_count"))
            if is_test_cell(cell) and result.status == "flagged" and split_hidden(cell.source, delimiters)[1]:
                drop_outputs = True
            if is_test_cell(cell):
                gid = meta.get("grade_id", "test")
                visible, hidden = split_hidden(cell.source, delimiters)
                if tests == "placeholder" or not visible.strip():
                    new.source = f"# test cell {gid} (hidden)"
                else:
                    new.source = visible + ("\n# ... hidden tests (not shown)" if hidden else "")
                new.source = _redact_source(new.source, secrets)
                new.outputs = [] if hidden else [o for o in sanitize_outputs(cell.outputs, secrets)
                                                 if o.get("output_type") != "stream" or o.get("name") != "stderr"]
                t = scores.get(gid)
                score, mx = (t.score, t.max_score) if t else (0.0, float(meta.get("points", 0) or 0))
                msg = messages.get(gid, "") if t else "not graded"
                if drop_outputs:
                    new.outputs = []
                if _quotes_hidden(msg, secrets):
                    msg = REDACTED
                cells.append(new)
                cells.append(new_markdown_cell(_annotation(gid, score, mx, msg)))
                continue
            new.source = _redact_source(cell.source, secrets)
            new.outputs = [] if drop_outputs else sanitize_outputs(cell.get("outputs", []), secrets)
            if drop_outputs and cell.get("outputs"):
                new.source += "\n# (output not shown: this submission is under review)"
            cells.append(new)
        elif cell.cell_type == "markdown":
            new = new_markdown_cell(_redact_source(cell.source, secrets))
            if cell.get("attachments"):
                new["attachments"] = cell["attachments"]
            cells.append(new)
        else:
            cells.append(nbformat.v4.new_raw_cell(_redact_source(cell.source, secrets)))
    out = new_notebook(cells=cells)
    for key in ("kernelspec", "language_info"):
        if key in nb.metadata:
            out.metadata[key] = nb.metadata[key]
    return out


def render_html(nb, title: str) -> str:
    from nbconvert import HTMLExporter

    from .offline_math import render_math_offline

    exporter = HTMLExporter(template_name="lab", sanitize_html=False)
    nb.metadata["title"] = title
    body, _ = exporter.from_notebook_node(nb)
    return render_math_offline(body)  # math drawn without the MathJax CDN


# --------------------------------------------------------------------------- per student

def _summary_only_notebook(result: StudentResult):
    nb = new_notebook(cells=[new_markdown_cell(summary_html(result))])
    return nb


def feedback_for_student(root: Path, result: StudentResult, tests: str = "visible",
                         release_source_texts: list[str] | None = None) -> list[Path]:
    """Write the student's feedback files; return their paths."""
    root = Path(root)
    a, sid = result.assignment, result.student
    written = []
    out_dir = root / "grades" / a / "feedback"
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = autograded_notebooks(root, a, sid)
    if not paths:
        html_text = render_html(_summary_only_notebook(result), f"{a}: feedback for {sid}")
        dest = out_dir / f"{sid}.html"
        dest.write_text(html_text)
        return [dest]
    for path in paths:
        notebook = path.stem
        try:
            nb = nbformat.read(str(path), as_version=4)
        except Exception:
            nb = new_notebook()
        sources = [c.source for c in nb.cells if is_test_cell(c)] + gradebook_test_sources(root, a, notebook)
        delimiters = Delimiters.for_course(root)
        secrets = hidden_lines(sources, visible_texts=release_source_texts or [], delimiters=delimiters)
        clean = sanitize_notebook(nb, result, secrets, tests=tests, delimiters=delimiters)
        html_text = render_html(clean, f"{a}: feedback for {sid}")
        nb_dest = root / "feedback" / sid / a / f"{notebook}.html"
        nb_dest.parent.mkdir(parents=True, exist_ok=True)
        nb_dest.write_text(html_text)
        for name in ("timestamp.txt", "submission_secret.txt"):
            src = path.parent / name
            if src.exists():
                shutil.copy(src, nb_dest.parent / name)
        written.append(nb_dest)
        dest = out_dir / (f"{sid}.html" if len(paths) == 1 else f"{sid}_{notebook}.html")
        dest.write_text(html_text)
        written.append(dest)
    return written


def release_visible_texts(root: Path, assignment: str) -> list[str]:
    """Visible test code the students already have (never redacted): the release notebooks' sources."""
    texts = []
    for p in sorted((Path(root) / "release" / assignment).glob("*.ipynb")):
        try:
            texts += [c.source for c in nbformat.read(str(p), as_version=4).cells]
        except Exception:
            pass
    return texts


def generate_feedback(root: Path, assignment: str, students=None, tests: str = "visible") -> dict:
    """Feedback for every graded student (or ``students``); returns ``{student: [paths]}``."""
    root = Path(root)
    graded_course(root, assignment)
    results = load_results(root, assignment)
    if students:
        unknown = sorted(set(students) - {r.student for r in results})
        if unknown:
            raise CourseError(f"no results for {', '.join(unknown)} in {assignment!r}; "
                             f"known students: {', '.join(r.student for r in results) or 'none'}")
        results = [r for r in results if r.student in set(students)]
    visible = release_visible_texts(root, assignment)
    return {r.student: feedback_for_student(root, r, tests=tests, release_source_texts=visible) for r in results}


def release_feedback(root: Path, assignment: str, students) -> tuple[list[str], list[str]]:
    """Run ``nbgrader release_feedback``; students without an exchange submission are left out (and listed)."""
    root = Path(root)
    cd = Course(root, require_config=False).coursedir
    skipped = []
    for sid in students:
        d = root / cd.feedback_directory / sid / assignment
        if not (d / "submission_secret.txt").exists() or not (d / "timestamp.txt").exists():
            skipped.append(sid)
    released = [s for s in students if s not in skipped]
    # release_feedback reads every feedback folder of the assignment: exclude all the others
    others = {p.parent.name for p in (root / cd.feedback_directory).glob(f"*/{assignment}")}
    exclude = sorted((others - set(released)) | set(skipped))
    if released:
        args = [sys.executable, "-m", "nbgrader", "release_feedback", assignment]
        if exclude:
            args.append(f"--CourseDirectory.student_id_exclude={','.join(exclude)}")
        proc = subprocess.run(args, cwd=root, capture_output=True, text=True)
        if proc.returncode != 0:
            raise CourseError(f"nbgrader release_feedback failed:\n{proc.stderr[-3000:]}")
    return released, skipped
