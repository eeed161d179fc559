"""``python -m autograder``: the TA's command line.

Subcommands of this package register themselves here; modules added later
(feedback, report, gradescope, ...) plug in by defining
``register(subparsers)`` that adds a parser with ``set_defaults(func=...)``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

#: Optional modules that add their own subcommands through ``register(subparsers)``.
PLUGINS = ("export", "feedback", "report", "gradescope", "bundle", "publish")


def _course_root(args) -> Path:
    return Path(args.course_dir or os.getcwd()).resolve()


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
    from .course import CourseError
    from .grade import grade

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


def print_summary(summary: dict, title: str | None = None) -> None:
    from rich.console import Console
    from rich.table import Table

    from .results import Status

    table = Table(title=title or f"{summary['assignment']}: {len(summary['students'])} student(s)")
    for col, kw in (("student", {}), ("status", {}), ("score", {"justify": "right"}),
                    ("time (s)", {"justify": "right"}), ("note", {"overflow": "fold"})):
        table.add_column(col, **kw)
    colors = {Status.GRADED: "green", Status.FLAGGED: "magenta", Status.TIMED_OUT: "yellow",
              Status.KERNEL_DIED: "red", Status.UNREADABLE: "red", Status.MISSING: "dim", Status.ERROR: "bold red"}
    for sid, s in summary["students"].items():
        note = s.get("reason") or ""
        if s.get("repairs"):
            note = (note + "; " if note else "") + "repaired: " + "; ".join(s["repairs"])
        secs = s.get("seconds")
        table.add_row(sid, f"[{colors.get(s['status'], 'white')}]{s['status']}[/]",
                      f"{s['score']:g}/{s['max_score']:g}", f"{secs:.1f}" if secs is not None else "",
                      note[:160])
    console = Console()
    console.print(table)
    counts = ", ".join(f"{k}: {v}" for k, v in sorted(summary.get("counts", {}).items()))
    out = summary.get("output_dir")
    console.print(f"{counts}. Wall time {summary.get('wall_seconds', 0):.1f} s.")
    if summary.get("sandbox"):
        console.print(f"Student kernels: {summary['sandbox']}", markup=False)
    if out:
        console.print(f"Outputs: {out}/grades.csv, {out}/results/<student>.json, {out}/summary.json; "
                      "nbgrader gradebook and autograded/ updated.")


# --- release / demo ------------------------------------------------------------------------------

def cmd_release(args) -> int:
    from .release import check_release, generate_release

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
    generate_release(root, args.assignments or None)
    return 0


def cmd_demo(args) -> int:
    from .demo import run_demo

    return run_demo(_course_root(args), workers=args.workers, assignment=args.assignment,
                    cell_timeout=args.timeout_cell, skip_checks=args.skip_checks)


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

    for name in PLUGINS:
        try:
            mod = importlib.import_module(f"autograder.{name}")
        except ImportError as e:
            if e.name and e.name.endswith(f"autograder.{name}"):
                continue
            raise
        if hasattr(mod, "register"):
            mod.register(sub)
    return parser


def main(argv=None) -> int:
    from .course import ensure_tool_path

    ensure_tool_path()
    words = sys.argv[1:] if argv is None else list(argv)
    if "grade" in words and not {"-h", "--help", "--scheduler"} & set(words):
        from .worker import start_fork_server

        start_fork_server()  # its seconds of imports overlap with ours (parser plugins, nbgrader, gradebook)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.course_dir and getattr(args, "root", None) == ".":
        args.root = args.course_dir  # plugin commands take --root
    from .course import CourseError

    try:
        return int(args.func(args) or 0)
    except CourseError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
