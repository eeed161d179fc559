"""Batch report for TAs: which test did the class struggle with?

    python -m autograder report ASSIGNMENT

Writes ``grades/<assignment>/report.html`` (one self-contained page, figures
embedded as base64 PNG) and ``grades/<assignment>/report.json`` (the same
numbers). Tests are sorted worst pass rate first; for each, the most common
failure messages with counts. Students whose notebook was not graded
(timed out, kernel died, unreadable, missing, error) are listed with the reason,
and grading time per student is plotted.
"""

from __future__ import annotations

import base64
import html
import io
import json
import statistics
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

from ..course import read_ledger
from ..results import Status, StudentResult, load_results

TOP_MESSAGES = 5
#: A check that fails with this error met the release's stub: the student has not written that function yet.
NOT_ATTEMPTED = "NotImplementedError"
# Statuses whose notebook never ran: they say nothing about any test. A timed-out or dead
# kernel still ran the tests before the stop, and the tests after it failed for a reason.
NOT_RUN = {s for s in Status if not s.ran}


def _not_attempted(message: str) -> bool:
    return (message or "").startswith(NOT_ATTEMPTED)


def build_report(results: list[StudentResult], assignment: str, names: dict | None = None) -> dict:
    """All the numbers of the report, JSON-ready; ``names``: the LMS's names by student id (from collect).

    A failure with ``NotImplementedError`` (the release's stub) counts as "not attempted", apart from
    "attempted and wrong", so a class of blank notebooks does not hide which test the others struggle with.
    """
    names = names or {}
    graded = [r for r in results if r.status not in NOT_RUN]
    max_score = max((r.max_score for r in results), default=0.0)
    totals = [r.score for r in graded]
    tests: dict[str, dict] = {}
    order = []
    for r in results:
        for t in r.tests:
            if t.name not in tests:
                order.append(t.name)
                tests[t.name] = {"name": t.name, "max_score": t.max_score, "attempts": 0, "passed": 0,
                                 "partial": 0, "points": 0.0, "messages": Counter(), "not_attempted": 0}
            if r.status in NOT_RUN:
                continue
            d = tests[t.name]
            d["attempts"] += 1
            d["points"] += t.score
            if t.passed:
                d["passed"] += 1
            elif _not_attempted(t.message):
                d["not_attempted"] += 1
            else:
                d["partial"] += 1 if t.score > 0 else 0
                d["messages"][t.message or "(no message: failed without an error, e.g. stderr output)"] += 1
    per_test = []
    for name in order:
        d = tests[name]
        n = d["attempts"]
        per_test.append({
            "name": name, "max_score": d["max_score"], "attempts": n, "passed": d["passed"],
            "failed": n - d["passed"], "partial": d["partial"],
            "pass_rate": round(d["passed"] / n, 4) if n else None,
            "mean_score": round(d["points"] / n, 4) if n else None,
            "top_failures": [{"message": m, "count": c} for m, c in d["messages"].most_common(TOP_MESSAGES)],
            "distinct_failures": len(d["messages"]),
            "not_attempted": d["not_attempted"],
            "attempted_pass_rate": (round(d["passed"] / (n - d["not_attempted"]), 4)
                                    if n - d["not_attempted"] else None),
        })
    # worst first (pass rate, then mean share of the points); tests nobody attempted go last; then notebook order
    per_test.sort(key=lambda t: (t["pass_rate"] is None, t["pass_rate"] or 0,
                                 (t["mean_score"] or 0) / t["max_score"] if t["max_score"] else 0))
    statuses = Counter(r.status for r in results)
    return {
        "assignment": assignment,
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "students": len(results),
        "graded": sum(1 for r in results if r.status == Status.GRADED),
        "ran": len(graded),
        "status_counts": dict(sorted(statuses.items())),
        "max_score": max_score,
        "score": {
            "mean": round(statistics.fmean(totals), 4) if totals else None,
            "median": round(statistics.median(totals), 4) if totals else None,
            "min": min(totals) if totals else None,
            "max": max(totals) if totals else None,
            "full_marks": sum(1 for r in graded if r.max_score and r.score >= r.max_score - 1e-9),
            "zero": sum(1 for r in graded if r.score <= 0),
        },
        "late": [{"student": r.student, "seconds_late": r.seconds_late, "penalty": r.late_penalty}
                 for r in results if r.late_penalty > 0 or r.seconds_late > 0],
        "tests": per_test,
        "not_graded": [{"student": r.student, "status": r.status, "reason": r.reason or "(no reason recorded)"}
                       for r in results if r.status != Status.GRADED],
        "per_student": [{"student": r.student, "status": r.status, "score": r.score, "raw_score": r.raw_score,
                         "late_penalty": r.late_penalty, "max_score": r.max_score,
                         "grading_seconds": r.seconds, "name": names.get(r.student),
                         "attempted": r.status not in NOT_RUN and any(not _not_attempted(t.message) for t in r.tests),
                         "repairs": list(r.repairs)} for r in results],
        "repaired": [{"student": r.student, "repairs": list(r.repairs)} for r in results if r.repairs],
        "needs_review": [{"student": r.student, "reason": r.reason} for r in results
                         if r.status == Status.NEEDS_REVIEW or "needs review:" in (r.reason or "")],
    }


# --------------------------------------------------------------------------- figures

def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def figures(report: dict) -> dict:
    """name -> base64 PNG."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    figs = {}
    scores = [s["score"] for s in report["per_student"] if s["status"] not in NOT_RUN]
    fig, ax = plt.subplots(figsize=(6, 3))
    mx = report["max_score"] or 1.0
    bins = min(20, max(5, int(mx) + 1))
    ax.hist(scores, bins=bins, range=(0, mx), color="#4c72b0", edgecolor="white")
    ax.set_xlabel(f"score (of {mx:g})")
    ax.set_ylabel("students")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_title(f"Scores of {len(scores)} students whose notebook ran")
    figs["histogram"] = _png(fig)

    tests = [t for t in report["tests"] if t["pass_rate"] is not None]
    fig, ax = plt.subplots(figsize=(6, 0.35 * max(3, len(tests)) + 0.8))
    names = [t["name"] for t in tests][::-1]
    rates = [100 * t["pass_rate"] for t in tests][::-1]
    colors = ["#cf222e" if r < 50 else "#d4a72c" if r < 80 else "#2da44e" for r in rates]
    ax.barh(names, rates, color=colors)
    ax.set_xlim(0, 100)
    ax.set_xlabel("pass rate (%)")
    ax.set_title("Pass rate per test (worst at the top)")
    figs["pass_rate"] = _png(fig)

    timed = [(s["student"], s["grading_seconds"]) for s in report["per_student"] if s["grading_seconds"] is not None]
    if timed:
        timed.sort(key=lambda x: x[1])
        fig, ax = plt.subplots(figsize=(6, 0.25 * max(4, len(timed)) + 0.8))
        ax.barh([s for s, _ in timed], [t for _, t in timed], color="#8c6bb1")
        ax.set_xlabel("grading time (s)")
        ax.set_title("Grading time per student")
        figs["timing"] = _png(fig)
    return figs


# --------------------------------------------------------------------------- HTML

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;max-width:1100px;color:#1f2328}
table{border-collapse:collapse;margin:8px 0 20px 0}td,th{border:1px solid #d0d7de;padding:4px 8px;text-align:left;
vertical-align:top}th{background:#f6f8fa}.num{text-align:right}.bad{color:#cf222e;font-weight:600}
.mid{color:#9a6700}.ok{color:#1a7f37}code{font-size:90%}.headline{font-size:120%;background:#fff8c5;padding:8px}
"""


def _rate_class(rate):
    if rate is None:
        return ""
    return "bad" if rate < 0.5 else "mid" if rate < 0.8 else "ok"


def _f(x, digits=2):
    return "" if x is None else f"{x:.{digits}f}".rstrip("0").rstrip(".")


def _list_section(parts: list, rows: list, names: dict, title: str, intro: str, column: str, cell) -> None:
    """A titled two-column table (student, ``column``) of ``rows``; nothing when there are none."""
    if not rows:
        return
    parts.append(f"<h2>{html.escape(title)}</h2><p>{intro}</p><table><tr><th>student</th><th>{column}</th></tr>")
    parts += [f"<tr><td>{html.escape(_who(n['student'], names))}</td><td>{cell(n)}</td></tr>" for n in rows]
    parts.append("</table>")


def _who(student: str, names: dict) -> str:
    return f"{names[student]} ({student})" if names.get(student) else student


def render_html(report: dict, figs: dict, similarity_link: bool = False) -> str:
    e = html.escape
    names = {p["student"]: p.get("name") for p in report["per_student"] if p.get("name")}
    a = report["assignment"]
    s = report["score"]
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{e(a)}: grading report</title>"
             f"<style>{_CSS}</style></head><body>",
             f"<h1>{e(a)}: grading report</h1>"]
    if similarity_link:  # written by `python -m autograder similarity` (TA only, never sent to students)
        parts.append("<p>Code similarity between submissions: <a href='similarity.html'>similarity.html</a></p>")
    tried = [t for t in report["tests"] if t.get("attempted_pass_rate") is not None]
    worst = sorted(tried, key=lambda t: t["attempted_pass_rate"])[:1]
    if worst:  # among students who wrote the function: blank notebooks do not decide the headline
        t = worst[0]
        top = t["top_failures"][0]["message"] if t["top_failures"] else ""
        tried_n = t["attempts"] - t["not_attempted"]
        parts.append(f"<p class='headline'>Hardest test: <code>{e(t['name'])}</code>, passed by "
                     f"{t['passed']}/{tried_n} students who attempted it ({100 * t['attempted_pass_rate']:.0f}%)"
                     + (f"; most common failure: <code>{e(top)}</code>" if top else "")
                     + (f"; {t['not_attempted']} did not attempt it" if t["not_attempted"] else "") + "</p>")
    counts = ", ".join(f"{e(k)}: {v}" for k, v in report["status_counts"].items())
    parts.append(f"<p>{report['students']} students ({counts}). Scores of the {report['ran']} notebooks that ran, "
                 f"out of {_f(report['max_score'])}: "
                 f"mean {_f(s['mean'])}, median {_f(s['median'])}, min {_f(s['min'])}, max {_f(s['max'])}; "
                 f"{s['full_marks']} with full marks, {s['zero']} with zero.</p>")
    parts.append(f"<h2>Score histogram</h2><img alt='score histogram' src='data:image/png;base64,{figs['histogram']}'>")

    parts.append("<h2>Tests, worst pass rate first</h2><table><tr><th>test</th><th class=num>pass rate</th>"
                 "<th class=num>passed</th><th class=num>not attempted</th><th class=num>partial</th>"
                 "<th class=num>mean / max</th><th>most common failure messages of those who attempted it "
                 "(count)</th></tr>")
    for t in report["tests"]:
        rate = "n/a" if t["pass_rate"] is None else f"{100 * t['pass_rate']:.0f}%"
        msgs = "<br>".join(f"<b>{m['count']}&times;</b> <code>{e(m['message'])}</code>" for m in t["top_failures"])
        if t["distinct_failures"] > len(t["top_failures"]):
            msgs += f"<br><i>{t['distinct_failures'] - len(t['top_failures'])} other message(s)</i>"
        parts.append(f"<tr><td><code>{e(t['name'])}</code></td><td class='num {_rate_class(t['pass_rate'])}'>{rate}"
                     f"</td><td class=num>{t['passed']}/{t['attempts']}</td><td class=num>{t['not_attempted']}</td>"
                     f"<td class=num>{t['partial']}</td>"
                     f"<td class=num>{_f(t['mean_score'])} / {_f(t['max_score'])}</td><td>{msgs}</td></tr>")
    parts.append("</table>")
    parts.append(f"<img alt='pass rate per test' src='data:image/png;base64,{figs['pass_rate']}'>")

    parts.append("<h2>Not graded cleanly (status other than graded)</h2>")
    if report["not_graded"]:
        parts.append("<table><tr><th>student</th><th>status</th><th>why</th></tr>")
        for n in report["not_graded"]:
            parts.append(f"<tr><td>{e(n['student'])}</td><td class=bad>{e(n['status'])}</td>"
                         f"<td>{e(n['reason'])}</td></tr>")
        parts.append("</table>")
    else:
        parts.append("<p>Every submission was graded.</p>")
    _list_section(parts, report["needs_review"], names, "Needs review: which notebook is the submission?",
                  "collect kept the other notebooks aside in <code>collected/&lt;assignment&gt;/&lt;student&gt;/"
                  "</code>.", "why", lambda n: e(n["reason"] or ""))
    _list_section(parts, report["repaired"], names, "Repaired notebooks",
                  "What the grader fixed before grading (metadata, cell types, deleted test cells restored): check "
                  "that the repair did not change what was graded.", "repairs",
                  lambda n: "<br>".join(e(x) for x in n["repairs"]))
    if report["late"]:
        parts.append("<h2>Late submissions</h2><table><tr><th>student</th><th class=num>hours late</th>"
                     "<th class=num>penalty</th></tr>")
        for l in report["late"]:
            parts.append(f"<tr><td>{e(l['student'])}</td><td class=num>{l['seconds_late'] / 3600:.1f}</td>"
                         f"<td class=num>{_f(l['penalty'], 4)}</td></tr>")
        parts.append("</table>")

    parts.append("<h2>Students</h2><p>Each student links to their feedback page "
                 "(<code>python -m autograder feedback</code> writes them).</p><table><tr><th>student</th>"
                 "<th>status</th><th>attempted</th><th class=num>score</th>"
                 "<th class=num>late penalty</th><th class=num>grading time (s)</th></tr>")
    for p in report["per_student"]:
        link = f"feedback/{p['student']}.html"
        parts.append(f"<tr><td><a href='{e(link, quote=True)}'>{e(_who(p['student'], names))}</a></td>"
                     f"<td>{e(p['status'])}</td><td>{'yes' if p['attempted'] else 'no'}</td>"
                     f"<td class=num>{_f(p['score'])} / {_f(p['max_score'])}</td>"
                     f"<td class=num>{_f(p['late_penalty'], 4) if p['late_penalty'] else ''}</td>"
                     f"<td class=num>{_f(p['grading_seconds'], 1)}</td></tr>")
    parts.append("</table>")
    if "timing" in figs:
        parts.append(f"<img alt='grading time per student' src='data:image/png;base64,{figs['timing']}'>")
    parts.append(f"<p><small>Generated {e(report['generated_at'])}; the same numbers are in report.json.</small></p>"
                 "</body></html>")
    return "\n".join(parts)


def write_report(root: Path, assignment: str, out_dir: Path | None = None) -> tuple[Path, Path]:
    root = Path(root)
    out_dir = Path(out_dir) if out_dir else root / "grades" / assignment
    out_dir.mkdir(parents=True, exist_ok=True)
    names = {sid: e.get("lms_name") for sid, e in read_ledger(root, assignment).items() if isinstance(e, dict)}
    report = build_report(load_results(root, assignment), assignment, names)
    figs = figures(report)
    html_path = out_dir / "report.html"
    html_path.write_text(render_html(report, figs, (out_dir / "similarity.html").exists()))
    json_path = out_dir / "report.json"
    json_path.write_text(json.dumps(report, indent=1))
    return html_path, json_path
