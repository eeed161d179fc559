"""The grading coordinator: plan tasks, run them in parallel, merge, write outputs.

Tasks run on a local pool (threads that each wait on a forked grading process)
or, with ``scheduler``, on an existing Dask distributed cluster; both call
:func:`autograder.grading.task.grade_submission` with the same self-contained task.
Only this process writes the gradebook, ``autograded/`` and ``grades/``: it
merges each result as it arrives, so an interrupted batch keeps what it graded
and the next run resumes (students whose submission is unchanged are skipped
unless ``force``).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import datetime, timezone
from pathlib import Path

from . import gradebook as gbmod
from . import reduce
from .. import results as resmod
from ..course import Course, CourseError
from ..notebook import Delimiters
from ..results import Status, StudentResult
from . import scratch
from .kernel import sandbox_description
from .policy import configured_restrictions
from .task import GradeTask, grade_submission, submission_digest

RESUMABLE = {Status.GRADED, Status.NEEDS_REVIEW, Status.FLAGGED, Status.TIMED_OUT, Status.KERNEL_DIED,
             Status.UNREADABLE}
MAX_EXTRA_FILE = 20_000_000


def _read_submission(folder: Path, notebooks: list) -> tuple[dict, dict, str | None]:
    nbs, extra, ts = {}, {}, None
    for name in notebooks:
        p = folder / f"{name}.ipynb"
        nbs[name] = p.read_bytes() if p.is_file() else None
    if (folder / "timestamp.txt").is_file():
        ts = (folder / "timestamp.txt").read_text().strip() or None
    if folder.is_dir():
        for f in folder.rglob("*"):
            rel = f.relative_to(folder)
            if (f.is_file() and not f.is_symlink() and f.suffix != ".ipynb" and str(rel) != "timestamp.txt"
                    and ".ipynb_checkpoints" not in rel.parts and f.stat().st_size <= MAX_EXTRA_FILE):
                extra[str(rel)] = f.read_bytes()
    return nbs, extra, ts


def plan_students(course: Course, assignment: str, only=None) -> list:
    sub = course.path("submitted")
    found = set()
    if sub.is_dir():
        found = {p.name for p in sub.iterdir() if p.is_dir() and (p / assignment).is_dir()}
    if only:
        return sorted(set(only))
    with course.gradebook() as gb:
        known = {s.id for s in gb.students}
    return sorted(found | known)


def grade(course_root, assignment: str, *, workers: int | None = None, scheduler: str | None = None,
          force: bool = False, students=None, cell_timeout: int | None = None, notebook_budget: float = 600.0,
          output=None, db_url: str | None = None, progress: bool = True, launch: str = "auto",
          log=None) -> dict:
    """Grade ``assignment``; return the summary dict (also written to summary.json)."""
    log = log or (lambda msg: print(msg, file=sys.stderr))
    t_start = time.monotonic()
    course = Course(course_root, db_url=db_url)
    scratch.sweep(log)  # folders a killed earlier run could not remove (autograder.grading.scratch)
    gbmod.ensure_assignment(course, assignment, log=log)
    ledger = course.ledger(assignment)  # what collect chose per student, LMS names and late flags
    warnings = _late_warnings(course, assignment, ledger)
    for w in warnings:
        log(f"warning: {w}")
    masters = gbmod.master_cells(course, assignment)
    test_names = [m["name"] for cells in masters.values() for m in cells if m["kind"] == "test"]
    out_dir = resmod.output_dir(course.root, assignment, output)
    previous = resmod.read_results(out_dir)
    if cell_timeout is None:
        cell_timeout = int(course.config.get("Execute", {}).get("timeout", 60) or 60)
    workers = max(1, int(workers or os.cpu_count() or 1))

    if not scheduler and launch in ("auto", "forkserver") and sys.platform != "win32":
        from .task import start_fork_server

        start_fork_server()  # its imports overlap with the planning below
    with tempfile.TemporaryDirectory(prefix="autograder-batch-") as tmp:
        scratch.mark(Path(tmp))
        template = gbmod.export_assignment(course, assignment, Path(tmp) / "gradebook.db")
        # instructor cell ids: demo cells are left out of the graded run (autograder.grading.reduce)
        templates = {name: reduce.template_info(course.root, assignment, name) for name in masters}
        restrictions = configured_restrictions(course.config)
        tasks, skipped = [], []
        for sid in plan_students(course, assignment, students):
            folder = course.path("submitted", sid, assignment)
            nbs, extra, ts = _read_submission(folder, list(masters))
            digest = submission_digest(nbs, ts)
            prev = previous.get(sid)
            if not force and prev and prev.status in RESUMABLE and prev.submission_sha256 == digest:
                skipped.append(sid)
                continue
            tasks.append(GradeTask(assignment=assignment, student=sid, notebooks=nbs, masters=masters,
                                   template_db=template, config_text=course.config_text, timestamp=ts,
                                   extra_files=extra, cell_timeout=cell_timeout, notebook_budget=notebook_budget,
                                   submission_sha256=digest, launch=launch, templates=templates,
                                   restrictions=restrictions, delimiters=Delimiters.from_config(course.config)))
        if skipped:
            log(f"skipping {len(skipped)} student(s) already graded with the same submission "
                f"(use --force to regrade): {', '.join(skipped[:10])}{' ...' if len(skipped) > 10 else ''}")
        results = []
        if tasks:
            where = f"Dask cluster {scheduler}" if scheduler else f"{workers} local worker(s)"
            log(f"grading {len(tasks)} submission(s) of {assignment!r} on {where}")
            runner = _run_dask if scheduler else _run_local
            bar = _progress(len(tasks), assignment, progress)
            say = (lambda msg: bar.write(msg, file=sys.stderr)) if bar is not None else log  # lines above the bar
            try:
                for res in runner(tasks, workers, scheduler):
                    res.mark_for_review((ledger.get(res.student) or {}).get("needs_review") or "")
                    try:
                        _merge(course, out_dir, res, say)
                    except OSError as e:  # full disk, read-only or unwritable grades/: stop loudly, keep what is saved
                        raise CourseError(_unwritable(out_dir, e, len(results))) from e
                    res.files = {}  # on disk in autograded/ now: memory stays flat in class size
                    results.append(res)
                    if bar is not None:
                        bar.set_postfix_str(f"{res.student}: {res.status}", refresh=False)
                        bar.update(1)
            finally:
                if bar is not None:
                    bar.close()
    run_info = {"workers": workers if not scheduler else None, "scheduler": scheduler,
                "sandbox": sandbox_description() if not scheduler else "see each student's results (Dask workers)",
                "graded_now": sorted(r.student for r in results), "skipped": skipped,
                "wall_seconds": round(time.monotonic() - t_start, 3),
                "cell_timeout": cell_timeout, "notebook_budget": notebook_budget,
                "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "output_dir": str(out_dir)}
    if warnings:
        run_info["warnings"] = warnings
    names = {sid: e["lms_name"] for sid, e in ledger.items() if isinstance(e, dict) and e.get("lms_name")}
    _, summary_path = resmod.write_tables(out_dir, assignment, test_names, run_info, names=names)
    summary = json.loads(summary_path.read_text())
    summary["results"] = results
    return summary


def _late_warnings(course: Course, assignment: str, ledger: dict) -> list[str]:
    """The LMS marked submissions late but nbgrader has no due date to compute a penalty from."""
    late = sorted(sid for sid, e in ledger.items() if isinstance(e, dict) and e.get("lms_late"))
    if not late or course.due_date(assignment) is not None:
        return []
    return [f"the LMS marked {len(late)} submission(s) late ({', '.join(late[:10])}{' ...' if len(late) > 10 else ''}) "
            f"but {assignment!r} has no due date in the gradebook, so no late penalty is applied. Set it with "
            f"`nbgrader db assignment add {assignment} --duedate=\"YYYY-MM-DD HH:MM:SS UTC\"` and regrade with --force."]


def _unwritable(out_dir: Path, e: OSError, saved: int) -> str:
    import errno

    fix = {errno.ENOSPC: "free space on that disk", errno.EDQUOT: "free space (disk quota exceeded)",
           errno.EROFS: "remount it read-write", errno.EACCES: "make it writable by this user",
           errno.EPERM: "make it writable by this user"}.get(e.errno, "fix the problem named above")
    return (f"cannot write the grading outputs: {e.strerror or e} ({e.filename or out_dir}). The batch stopped; "
            f"the {saved} result(s) saved by this run and all earlier ones are kept in {out_dir}/results. "
            f"To go on, {fix} or pass --output DIR on another disk, then run the same command again: "
            "students already graded are skipped.")


def _merge(course, out_dir, res: StudentResult, log) -> None:
    try:
        gbmod.merge_result(course, res)
    except Exception as e:  # noqa: BLE001 (record it; the batch goes on)
        res.status, res.reason = Status.ERROR, f"could not write the gradebook: {type(e).__name__}: {e}"
        log(f"{res.student}: {res.reason}")
    resmod.write_result(out_dir, res)


def _progress(total: int, assignment: str, enabled: bool):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=f"grading {assignment}", unit="student", dynamic_ncols=True,
                bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}, {rate_fmt}] {postfix}")


def _run_local(tasks, workers, _scheduler):
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="grade") as pool:
        futures = [pool.submit(grade_submission, t) for t in tasks]
        try:
            for fut in as_completed(futures):
                yield fut.result()
        except BaseException:
            for f in futures:
                f.cancel()
            raise


def _run_dask(tasks, _workers, scheduler):
    from distributed import Client, as_completed as dask_completed

    with Client(scheduler, timeout="30s") as client:
        keys = [f"grade-{t.assignment}-{t.student}-{t.submission_sha256[:12]}" for t in tasks]
        futures = client.map(grade_submission, tasks, key=keys, pure=False, retries=0)
        try:
            for fut in dask_completed(futures):
                try:
                    yield fut.result()
                except Exception as e:  # noqa: BLE001 (a lost worker fails one student, not the batch)
                    t = tasks[keys.index(fut.key)]
                    from .task import _result

                    yield _result(t, Status.ERROR, f"Dask task failed: {type(e).__name__}: {e}")
        finally:
            client.cancel(futures)
