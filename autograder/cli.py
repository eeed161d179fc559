"""``python -m autograder``: the TA's and the instructor's command line.

One argparse table (:func:`build_parser`) for every subcommand, one
``--course-dir`` (``--root`` after a report command is the same folder, kept for
scripts that use it). Each ``cmd_*`` handler imports what it needs, calls the
library, prints and returns the exit code: this is the only module that prints
summaries or exits. Library code returns values or raises
:class:`autograder.course.CourseError` (printed here as ``error: ...``, exit 2).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def _course_root(args) -> Path:
    return Path(args.course_dir or os.getcwd()).resolve()


def _report_root(args) -> Path:
    """The course folder of the report commands, as given (their messages print paths relative to it)."""
    return Path(getattr(args, "root", None) or args.course_dir or ".")


# --- collect -------------------------------------------------------------------------------------

def cmd_collect(args) -> int:
    from .collect import collect

    report = collect(_course_root(args), args.assignment, Path(args.path), roster=args.roster,
                     max_total_mb=args.max_total_mb, max_ratio=args.max_ratio, dry_run=args.dry_run)
    for line in report.lines:
        print(line)
    print(report.summary())
    return 0 if report.ok else 1


# --- grade ---------------------------------------------------------------------------------------

def cmd_grade(args) -> int:
    if not args.scheduler and sys.platform != "win32":
        from .grading.task import start_fork_server

        start_fork_server()  # its seconds of imports overlap with ours (nbgrader, the gradebook)
    from .course import CourseError
    from .grading.batch import grade

    try:
        summary = grade(_course_root(args), args.assignment, workers=args.workers, scheduler=args.scheduler,
                        force=args.force, students=args.student or None, cell_timeout=args.timeout_cell,
                        notebook_budget=args.timeout_notebook, output=args.output, db_url=args.db_url,
                        progress=not args.no_progress)
    except CourseError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print_summary(summary)
    return 0


#: notes in the TA table longer than this are cut at a word boundary (the full text is in summary.json)
NOTE_CHARS = 400


def _console():
    """A console for the TA's tables: the terminal's width, or 160 columns when the output is a file or pipe
    (rich would assume 80 and cut the notes)."""
    from rich.console import Console

    console = Console()
    return console if console.is_terminal else Console(width=160)


def _short(text: str, limit: int = NOTE_CHARS) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut + " …"


def print_summary(summary: dict, title: str | None = None) -> None:
    from rich.table import Table

    from .results import Status

    students = summary["students"]
    named = any(s.get("name") for s in students.values())
    table = Table(title=title or f"{summary['assignment']}: {len(students)} student(s)")
    cols = [("student", {"no_wrap": True})] + ([("name", {})] if named else [])
    cols += [("status", {"no_wrap": True}), ("score", {"justify": "right", "no_wrap": True}),
             ("time (s)", {"justify": "right", "no_wrap": True}), ("note", {"ratio": 1})]
    for col, kw in cols:
        table.add_column(col, **kw)  # notes wrap at word boundaries
    colors = {Status.GRADED: "green", Status.NEEDS_REVIEW: "cyan", Status.FLAGGED: "magenta",
              Status.TIMED_OUT: "yellow", Status.KERNEL_DIED: "red", Status.UNREADABLE: "red",
              Status.MISSING: "dim", Status.ERROR: "bold red"}
    for sid, s in students.items():
        note = s.get("reason") or ""
        if s.get("repairs"):
            note = (note + "; " if note else "") + "repaired: " + "; ".join(s["repairs"])
        secs = s.get("seconds")
        row = [sid] + ([s.get("name") or ""] if named else [])
        row += [f"[{colors.get(s['status'], 'white')}]{s['status']}[/]", f"{s['score']:g}/{s['max_score']:g}",
                f"{secs:.1f}" if secs is not None else "", _short(note)]
        table.add_row(*row)
    console = _console()
    console.print(table)
    counts = ", ".join(f"{k}: {v}" for k, v in sorted(summary.get("counts", {}).items()))
    out = summary.get("output_dir")
    console.print(f"{counts}. Wall time {summary.get('wall_seconds', 0):.1f} s.")
    if summary.get("sandbox"):
        console.print(f"Student kernels: {summary['sandbox']}", markup=False)
    for w in summary.get("warnings") or []:
        console.print(f"[bold yellow]warning:[/] {w}")
    if out:
        console.print(f"Outputs: {out}/grades.csv, {out}/results/<student>.json, {out}/summary.json; "
                      "nbgrader gradebook and autograded/ updated.")


# --- release / demo ------------------------------------------------------------------------------

def cmd_release(args) -> int:
    from .publishing.release import check_release, generate_release

    root = _course_root(args)
    if args.check:
        problems = check_release(root, args.assignments or None)
        if problems:
            for p in problems:
                print(f"release check: {p}", file=sys.stderr)
            print("release/ is not in sync with source/: run `python -m autograder release` (or `make release`) "
                  "and commit release/.", file=sys.stderr)
            return 1
        print("release/ is in sync with source/ and carries no solutions or hidden tests")
        return 0
    from .publishing.release import ReleaseError

    try:
        generate_release(root, args.assignments or None, force=args.force)
    except ReleaseError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


def cmd_demo(args) -> int:
    from .demo import run_demo

    rc, summary, dest = run_demo(_course_root(args), workers=args.workers, assignment=args.assignment,
                                 cell_timeout=args.timeout_cell, skip_checks=args.skip_checks)
    if summary is not None:
        print_summary(summary, title=f"demo: {summary['assignment']}")
        _console().print(f"Gradebook: {dest / 'gradebook.db'}; autograded notebooks: {dest / 'autograded'}/")
    return rc


# --- reports: export, feedback, report, gradescope ------------------------------------------------

def cmd_export(args) -> int:
    from .collect import load_ledger
    from .course import graded_course
    from .reports.lms import write_lms_csv
    from .results import load_results

    root = _report_root(args)
    course = graded_course(root, args.assignment)
    results = load_results(root, args.assignment, course.db_url)
    ledger = load_ledger(root, args.assignment)
    default = "lms.csv" if args.format == "plain" else f"lms-{args.format}.csv"
    out = Path(args.out) if args.out else root / "grades" / args.assignment / default
    write_lms_csv(results, out, fmt=args.format, column=args.lms_column,
                  names={sid: e.get("lms_name") for sid, e in ledger.items()})
    late = sum(1 for r in results if r.late_penalty > 0)
    fmt = "" if args.format == "plain" else f"{args.format} format, "
    print(f"wrote {out} ({fmt}{len(results)} students, {late} with a late penalty)")
    lms_late = sorted(sid for sid, e in ledger.items() if e.get("lms_late"))
    if lms_late and course.due_date(args.assignment) is None:
        print(f"warning: the LMS marked {len(lms_late)} submission(s) late ({', '.join(lms_late[:10])}), but "
              f"{args.assignment!r} has no due date in the gradebook, so no late penalty was applied. Set it with "
              f"`nbgrader db assignment add {args.assignment} --duedate=\"YYYY-MM-DD HH:MM:SS UTC\"` and regrade "
              "with `grade --force`.", file=sys.stderr)
    return 0


def cmd_feedback(args) -> int:
    from .reports.feedback import generate_feedback, release_feedback

    root = _report_root(args)
    written = generate_feedback(root, args.assignment, args.student, tests=args.tests)
    n = sum(len(v) for v in written.values())
    print(f"wrote feedback for {len(written)} students ({n} files) under "
          f"{root / 'feedback'}/<student>/{args.assignment}/ and {root / 'grades' / args.assignment / 'feedback'}/")
    if args.release:
        released, skipped = release_feedback(root, args.assignment, sorted(written))
        print(f"released through nbgrader's exchange: {len(released)} students")
        if skipped:
            print(f"not released ({len(skipped)}; their submission did not come through `nbgrader submit`, "
                  f"so the exchange cannot match it; send grades/{args.assignment}/feedback/<id>.html instead): "
                  + ", ".join(skipped))
    return 0


def cmd_report(args) -> int:
    import json

    from .course import graded_course
    from .reports.report import write_report

    root = _report_root(args)
    graded_course(root, args.assignment)
    html_path, json_path = write_report(root, args.assignment, args.out)
    rep = json.loads(json_path.read_text())
    print(f"wrote {html_path} and {json_path}")
    for t in rep["tests"][:3]:
        if t["pass_rate"] is not None:
            top = t["top_failures"][0]["message"] if t["top_failures"] else ""
            print(f"  {t['name']}: {100 * t['pass_rate']:.0f}% pass ({t['passed']}/{t['attempts']})"
                  + (f"; top failure: {top[:100]}" if top else ""))
    return 0


def cmd_gradescope(args) -> int:
    from .reports.gradescope import build_zip

    root = _report_root(args)
    out = Path(args.out) if args.out else root / "grades" / args.assignment / "autograder.zip"
    build_zip(root, args.assignment, out, test_visibility=args.test_visibility, visibility=args.visibility,
              stdout_visibility=args.stdout_visibility, late_penalty=args.late_penalty,
              notebook_budget=args.timeout_notebook, torch_spec=args.torch)
    print(f"wrote {out}: upload it as the Gradescope autograder (it contains the hidden tests: keep it private). "
          f"Tests are {args.test_visibility}; the total is {args.visibility}.")
    return 0


def cmd_similarity(args) -> int:
    from .reports.similarity import NOTEBOOK, similarity

    result = similarity(_report_root(args), args.assignment, against=args.against, threshold=args.threshold,
                        out_dir=args.out)
    print(f"wrote {result.html_path} and {result.json_path} ({len(result.students)} students, "
          f"{result.pairs} comparisons, {result.seconds:.1f} s)")
    nb = result.stats[NOTEBOOK]
    print(f"flagged {len(result.flagged)}: whole-notebook z >= {result.threshold:g} "
          f"(score >= {nb['score_at_threshold']:.2f}; class median {nb['median']:.2f})")
    for f in result.flagged[:10]:
        print(f"  {f['a']} ~ {f['b']}: score {f['score']:.2f}, z {f['z']:.1f}")
    for n in result.notes[:10]:
        print(f"note: {n}")
    return 0


# --- publishing: bundle, publish ------------------------------------------------------------------

def cmd_bundle(args) -> int:
    from .publishing.bundle import BundleLeak, build_bundle

    root = Path(args.course_dir or ".").resolve()
    names = args.assignments or sorted(p.name for p in (root / "release").iterdir() if p.is_dir())
    status = 0
    for a in names:
        try:
            path = build_bundle(root, a, root / args.out)
            print(f"{a}: {path.relative_to(root)} ({path.stat().st_size / 1024:.0f} KiB)")
        except (BundleLeak, FileNotFoundError) as exc:
            print(f"{a}: {exc}", file=sys.stderr)
            status = 1
    return status


def cmd_publish(args) -> int:
    from .publishing.publish import publish

    return publish(_course_root(args), args.assignments or None, exchange=args.exchange or bool(args.exchange_root),
                   exchange_root=args.exchange_root, force=args.force, bundle_dir=args.bundle, check=args.check,
                   workers=args.workers, keep=args.keep, log=print)


# --- parser --------------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m autograder",
        description="Batch grading around nbgrader: collect LMS downloads, grade in parallel in isolated scratch "
                    "courses, write grades.csv and Gradescope-style results.json per student.")
    parser.add_argument("--course-dir", help="course folder with nbgrader_config.py (default: current folder)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("collect", help="LMS zip or folder -> submitted/<student>/<assignment>/",
                       description="Copy submissions from an LMS download (Canvas-style zip, or a folder of "
                                   "<student>/<notebook>.ipynb) into nbgrader's submitted/ layout. Unsafe zip entries, "
                                   "zip bombs, duplicates, unknown students and non-notebook files are reported, "
                                   "one line each; nothing is written outside the course folder.")
    p.add_argument("assignment", help="assignment name, e.g. regularization")
    p.add_argument("path", help="the LMS zip file or a folder")
    p.add_argument("--roster", help="CSV or text file of known student ids (first column); others are skipped")
    p.add_argument("--max-total-mb", type=float, default=1024.0, help="limit on the zip's uncompressed size (MB)")
    p.add_argument("--max-ratio", type=float, default=200.0, help="largest compression ratio accepted per entry")
    p.add_argument("--dry-run", action="store_true", help="report what would be collected, write nothing")
    p.set_defaults(func=cmd_collect)

    p = sub.add_parser("grade", help="grade every submission in parallel (local pool or Dask)",
                       description="Autograde submitted/*/ASSIGNMENT with nbgrader, one isolated task per student. "
                                   "Writes grades/ASSIGNMENT/{grades.csv,summary.json,results/<id>.json}, fills the "
                                   "gradebook and autograded/. Students already graded with an unchanged submission "
                                   "are skipped unless --force.")
    p.add_argument("assignment", help="assignment name")
    p.add_argument("--workers", type=int, default=None, help="parallel local workers (default: number of cores)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="run tasks on this Dask scheduler, e.g. tcp://host:8786")
    p.add_argument("--force", action="store_true", help="regrade students that are already graded")
    p.add_argument("--student", action="extend", metavar="ID", nargs="+",
                   help="grade only these students (repeatable)")
    p.add_argument("--timeout-cell", type=int, default=None, metavar="S",
                   help="seconds per cell (default: Execute.timeout from nbgrader_config.py)")
    p.add_argument("--timeout-notebook", type=float, default=600.0, metavar="S",
                   help="seconds for the whole notebook (default 600)")
    p.add_argument("--output", metavar="DIR", help="output folder (default grades/ASSIGNMENT)")
    p.add_argument("--db-url", help="gradebook URL (default: nbgrader_config.py, else sqlite gradebook.db)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_grade)

    p = sub.add_parser("release", help="regenerate release/ from source/ (or --check it)",
                       description="Run nbgrader generate_assignment for each assignment (all with a source "
                                   "notebook by default) with a scratch gradebook, writing release/. With --check, "
                                   "regenerate into a scratch folder and compare with release/, and scan release/ "
                                   "for solution and hidden-test markers.")
    p.add_argument("assignments", nargs="*", metavar="ASSIGNMENT")
    p.add_argument("--check", action="store_true", help="verify release/ instead of writing it")
    p.add_argument("--force", action="store_true",
                   help="overwrite release/ files edited since the last generation (they are backed up first)")
    p.set_defaults(func=cmd_release)

    p = sub.add_parser("demo", help="build release/, check it, grade sample submissions, print the table",
                       description="The README's main job: regenerate release/, run the quick course checks, build "
                                   "sample submissions (solution, blank release, buggy answers from the mutant "
                                   "catalogue, invalid JSON, an infinite loop, mangled cells) in grades/demo/, grade "
                                   "them in parallel and print the table.")
    p.add_argument("--workers", type=int, default=2, help="parallel workers (default 2)")
    p.add_argument("--assignment", default=None, help="assignment to demo (default: first with a source notebook)")
    p.add_argument("--timeout-cell", type=int, default=20, metavar="S", help="seconds per cell (default 20)")
    p.add_argument("--skip-checks", action="store_true", help="skip regenerating and checking release/")
    p.set_defaults(func=cmd_demo)

    from .reports.gradescope import DEFAULT_BUDGET, VISIBILITIES

    def report_parser(name, func, out, **kw):
        """A command on one graded assignment: ASSIGNMENT, --out, its own options, then --root."""
        p = sub.add_parser(name, **kw)
        p.add_argument("assignment", help="assignment name, e.g. optimizers")
        if out:
            p.add_argument("--out", help=out)
        p.set_defaults(func=func)
        return p

    def root_argument(p):  # the report commands' spelling of --course-dir
        p.add_argument("--root", default=None,
                       help="course folder holding nbgrader_config.py (default: current folder)")

    p = report_parser(
        "export", cmd_export, "CSV path (default grades/<ASSIGNMENT>/lms.csv, lms-<format>.csv for an LMS format)",
        help="write an LMS-ready CSV (id, total after late penalty, max, percent)",
        description="Write grades/<ASSIGNMENT>/lms.csv: one row per student with the total after the late "
                    "penalty, the maximum, the percent, the raw score and the penalty (nbgrader's gradebook); "
                    "with --format, the gradebook import file of Canvas, Moodle or Blackboard.")
    p.add_argument("--format", choices=("plain", "canvas", "moodle", "blackboard"), default="plain",
                   help="plain (default), or the gradebook import format of Canvas, Moodle or Blackboard")
    p.add_argument("--lms-column", metavar="NAME",
                   help="the LMS's grade column, e.g. \"Optimizers (12345)\" for an existing Canvas assignment "
                        "(default: the assignment name, which makes a new column)")
    root_argument(p)

    p = report_parser(
        "feedback", cmd_feedback, None,
        help="one HTML per student: notebook, points, failing messages; no hidden tests",
        description="Render each student's autograded notebook as HTML with the points and the failing check's "
                    "message of every test cell. Hidden tests, tracebacks and metadata are removed.")
    p.add_argument("--student", action="append", metavar="ID", help="only this student (repeatable)")
    p.add_argument("--tests", choices=["visible", "placeholder"], default="visible",
                   help="show the visible part of each test cell (default) or a one-line placeholder")
    p.add_argument("--release", action="store_true",
                   help="then run `nbgrader release_feedback` (students who submitted through the exchange)")
    root_argument(p)

    p = report_parser(
        "report", cmd_report, "output folder (default grades/<ASSIGNMENT>)",
        help="one-page HTML report for TAs (+ JSON): scores, pass rate per test, failures",
        description="Write grades/<ASSIGNMENT>/report.html (self-contained) and report.json: score histogram, "
                    "pass rate per test (worst first) with the most common failure messages, students that "
                    "were not graded and why, late penalties, grading time per student.")
    root_argument(p)

    p = report_parser(
        "gradescope", cmd_gradescope, "zip path (default grades/<ASSIGNMENT>/autograder.zip)",
        help="build autograder.zip for Gradescope (same grading code, results.json)",
        description="Build a Gradescope autograder zip: setup.sh, run_autograder, the course packages and the "
                    "assignment's source notebook (it holds the hidden tests: keep the zip private).")
    p.add_argument("--test-visibility", choices=VISIBILITIES, default="after_due_date",
                   help="visibility of per-test results (default after_due_date: only the total before)")
    p.add_argument("--visibility", choices=VISIBILITIES, default="visible",
                   help="visibility of the total score and summary (default visible)")
    p.add_argument("--stdout-visibility", choices=VISIBILITIES, default="hidden",
                   help="visibility of the grader's log (default hidden)")
    p.add_argument("--late-penalty", action="store_true",
                   help="apply the course's late penalty from Gradescope's due date and submission time")
    p.add_argument("--timeout-notebook", type=float, default=DEFAULT_BUDGET, metavar="S",
                   help=f"whole-notebook budget in seconds (default {DEFAULT_BUDGET:g}; Gradescope's limit is 600)")
    p.add_argument("--torch", default=None, metavar="SPEC",
                   help="torch requirement installed by setup.sh (default: this venv's version, CPU build)")
    root_argument(p)

    from .reports.similarity import THRESHOLD

    p = report_parser(
        "similarity", cmd_similarity, "output folder (default grades/<ASSIGNMENT>)",
        help="TA-only report of unusually similar submissions (copydetect), + JSON",
        description="Compare the student-authored code (answer cells and added cells, normalized: no comments, "
                    "canonical names, release starter code ignored) of every pair of submitted/*/ASSIGNMENT, "
                    "per graded function and for the whole notebook, with copydetect fingerprints. Pairs far above "
                    "the class's own median (robust z-score) are flagged. Writes grades/ASSIGNMENT/similarity.html "
                    "and similarity.json. Never part of student feedback.")
    p.add_argument("--against", metavar="DIR",
                   help="folder of known solutions (.py or .ipynb) to compare each student with")
    p.add_argument("--threshold", type=float, default=THRESHOLD,
                   help=f"robust z-score at which a pair is flagged (default {THRESHOLD:g})")
    root_argument(p)

    p = sub.add_parser("bundle", help="zip a release notebook with course_utils for an LMS upload or Colab",
                       description="Student bundles: one zip per assignment for an LMS upload or Colab.")
    p.add_argument("assignments", nargs="*", metavar="ASSIGNMENT", help="default: every assignment in release/")
    p.add_argument("--out", default="dist", help="output folder (default: dist/)")
    p.set_defaults(func=cmd_bundle)

    p = sub.add_parser(
        "publish", help="regenerate release/, run the course gates, then publish (exchange, bundles)",
        description="Regenerate every release from source/ in a scratch course, run the course gates (source "
                    "executes, no leaks, solution full marks, release scores zero, validate --invert) two "
                    "assignments at a time, print a table with timings, and publish only if every gate passed: "
                    "release/ always, the nbgrader exchange with --exchange, student zips with --bundle DIR.")
    p.add_argument("assignments", nargs="*", metavar="ASSIGNMENT", help="default: every assignment in source/")
    p.add_argument("--exchange", action="store_true",
                   help="nbgrader release_assignment into the exchange (Exchange.root from nbgrader_config.py)")
    p.add_argument("--exchange-root", metavar="DIR", help="exchange folder (overrides Exchange.root; implies --exchange)")
    p.add_argument("--force", action="store_true",
                   help="replace assignments already released in the exchange, and release/ files edited since "
                        "the last generation (backed up to backups/ first)")
    p.add_argument("--bundle", metavar="DIR", help="also write student zips (regopt-<assignment>.zip) to DIR")
    p.add_argument("--check", action="store_true",
                   help="run the gates and check release/ is in sync; write nothing (CI)")
    p.add_argument("--workers", type=int, default=2, help="assignments gated in parallel (default 2)")
    p.add_argument("--keep", action="store_true", help="keep the scratch courses (to inspect a failure)")
    p.set_defaults(func=cmd_publish)
    return parser


def main(argv=None) -> int:
    from .course import CourseError, ensure_tool_path

    ensure_tool_path()
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CourseError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
