"""``python -m autograder publish``: the instructor's one command from ``source/`` to the students.

    python -m autograder publish [ASSIGNMENT ...] [--exchange [--exchange-root DIR] [--force]]
                                 [--bundle DIR] [--check] [--workers 2]

1. Every requested assignment (default: all with a source notebook) is
   generated from ``source/`` into a scratch course, and the course gates of
   :mod:`autograder.publishing.gates` run on it, two assignments at a time.
2. A table of gate results with timings is printed. If any gate fails, each
   failure says which gate, for which assignment, and how to fix it, and
   nothing is written: not ``release/``, not the exchange, not the bundle folder.
3. Otherwise the verified release is copied into ``release/`` and, on request,
   released into the nbgrader exchange (``nbgrader release_assignment``) and
   zipped as student bundles (:mod:`autograder.publishing.bundle`). ``--exchange`` also
   records the released cells in the course gradebook (due dates kept), so
   grading checks submissions against exactly what students received.

``--check`` runs the gates plus ``sync`` (the committed ``release/`` equals a
fresh one) and writes nothing: what CI runs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from threading import Lock

from . import gates as gatesmod
from .release import ReleaseError, available, guard_release, record_release

DEFAULT_EXCHANGE = "/srv/nbgrader/exchange"  # nbgrader's own default for Exchange.root


class PublishError(Exception):
    """Bad input or a broken target, found before any gate runs; the message says how to fix it."""


def _config(root: Path):
    from ..course import load_config

    return load_config(root)


def exchange_settings(root: Path, exchange_root: str | None) -> tuple[Path, str]:
    """(exchange root, course id) from the flag or nbgrader_config.py."""
    cfg = _config(root)
    course_id = str(cfg.CourseDirectory.get("course_id", "") or "")
    if exchange_root is None:
        exchange_root = cfg.Exchange.get("root", None) or DEFAULT_EXCHANGE
    return Path(exchange_root), course_id


def preflight(root: Path, assignments: list, exchange: bool, exchange_root: str | None, force: bool,
              bundle_dir: str | None) -> dict:
    """Check the targets before spending minutes on the gates."""
    info = {}
    if not (root / "nbgrader_config.py").exists():
        raise PublishError(f"{root} is not a course folder (no nbgrader_config.py): run from the course root "
                           "or pass --course-dir")
    if exchange:
        ex_root, course_id = exchange_settings(root, exchange_root)
        if not course_id:
            raise PublishError("nbgrader_config.py sets no CourseDirectory.course_id: the exchange needs one")
        if not ex_root.is_dir():
            raise PublishError(f"exchange folder {ex_root} does not exist: create it (e.g. `sudo mkdir -p {ex_root} "
                               f"&& sudo chmod ugo+rw {ex_root}`) or pass --exchange-root DIR")
        if not os.access(ex_root, os.W_OK | os.X_OK):
            raise PublishError(f"exchange folder {ex_root} is not writable by you: `sudo chmod ugo+rw {ex_root}`, "
                               "or run as the instructor account")
        already = [a for a in assignments if (ex_root / course_id / "outbound" / a).exists()]
        if already and not force:
            raise PublishError(f"already released in {ex_root}/{course_id}/outbound: {', '.join(already)}; pass "
                               "--force to replace them (students who fetched keep their copy; tell them to "
                               "fetch again)")
        info.update(exchange_root=ex_root, course_id=course_id)
    if bundle_dir is not None:
        target = Path(bundle_dir)
        if not target.is_absolute():
            target = root / target
        parent = next((p for p in [target, *target.parents] if p.exists()), None)
        if parent is None or not parent.is_dir() or not os.access(parent, os.W_OK):
            raise PublishError(f"cannot write bundles to {target}: {parent} is not a writable folder")
        info["bundle_dir"] = target
    return info


def run_all_gates(root: Path, assignments: list, workdir: Path, gates=gatesmod.GATES, workers: int = 2,
                  log=print) -> dict:
    """``{assignment: [GateResult, ...]}``, assignments gated in parallel."""
    lock = Lock()

    def progress(r: gatesmod.GateResult):
        with lock:
            state = "ok" if r.ok else ("skipped" if r.skipped else "FAILED")
            log(f"  {r.assignment:<18} {r.gate:<10} {state:<7} {r.seconds:6.1f} s")

    def one(a: str):
        return a, gatesmod.run_gates(root, a, workdir / a, gates=gates, on_result=progress)

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="gates") as pool:
        return dict(pool.map(one, assignments))


def print_table(results: dict, wall: float) -> None:
    from rich.console import Console
    from rich.table import Table

    names = []
    for rs in results.values():
        names += [r.gate for r in rs if r.gate not in names]
    table = Table(title=f"course gates ({wall:.1f} s wall time)")
    table.add_column("assignment")
    for n in names:
        table.add_column(n, justify="right")
    table.add_column("total (s)", justify="right")
    for a, rs in results.items():
        by = {r.gate: r for r in rs}
        cells = []
        for n in names:
            r = by.get(n)
            if r is None:
                cells.append("")
            elif r.ok:
                cells.append(f"[green]ok[/] {r.seconds:.1f}s")
            elif r.skipped:
                cells.append("[yellow]skipped[/]")
            else:
                cells.append(f"[bold red]FAIL[/] {r.seconds:.1f}s")
        table.add_row(a, *cells, f"{sum(r.seconds for r in rs):.1f}")
    Console(width=None if sys.stdout.isatty() else 140).print(table)


def _copy_release(stage_release: Path, dest: Path) -> bool:
    """Replace ``dest`` with the verified release; True if anything changed."""
    before = {p.relative_to(dest).as_posix(): p.read_bytes() for p in dest.rglob("*") if p.is_file()} \
        if dest.is_dir() else None
    after = {p.relative_to(stage_release).as_posix(): p.read_bytes() for p in stage_release.rglob("*") if p.is_file()}
    if before == after:
        return False
    tmp = dest.with_name(f".{dest.name}.publishing")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(stage_release, tmp)
    if dest.exists():
        shutil.rmtree(dest)
    tmp.rename(dest)
    return True


def release_to_exchange(root: Path, assignment: str, exchange_root: Path, force: bool) -> None:
    from ..course import ensure_tool_path

    ensure_tool_path()
    args = [sys.executable, "-m", "nbgrader", "release_assignment", assignment,
            f"--Exchange.root={exchange_root}", f"--CourseDirectory.root={root}"]
    if force:
        args.append("--force")
    proc = subprocess.run(args, cwd=root, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise PublishError(f"nbgrader release_assignment {assignment} failed:\n{tail}")


def register_in_gradebook(root: Path, assignment: str, stage_db: Path) -> None:
    """Record the released cells (hidden tests, checksums, points) in the course gradebook.

    Grading then checks submissions against exactly what was released, even if source/ changes later.
    A due date already set (``nbgrader db assignment add A --duedate=...``) is kept.
    """
    from nbgrader.api import MissingEntry

    from ..course import Course
    from ..grading.gradebook import copy_assignment_rows

    course = Course(root)
    with course.gradebook() as gb:
        try:
            due = gb.find_assignment(assignment).duedate
        except MissingEntry:
            due = None
    copy_assignment_rows(f"sqlite:///{stage_db}", course.db_url, assignment)
    if due is not None:
        with course.gradebook() as gb:
            gb.update_or_create_assignment(assignment, duedate=due)


def publish(root, assignments=None, *, exchange: bool = False, exchange_root: str | None = None,
            force: bool = False, bundle_dir: str | None = None, check: bool = False, workers: int = 2,
            keep: bool = False, log=print) -> int:
    """Gate, then publish; returns the exit code (0 published/checked, 1 a gate failed, 2 bad input)."""
    root = Path(root).resolve()
    known, _ = available(root, None)
    if assignments:
        unknown = [a for a in assignments if a not in known]
        if unknown:
            log(f"error: no source/<name>/<name>.ipynb for {', '.join(unknown)}; "
                f"assignments: {', '.join(known) or 'none'}")
            return 2
        names = list(dict.fromkeys(assignments))
    else:
        names = known
    if not names:
        log("error: no source/<assignment>/<assignment>.ipynb found: nothing to publish")
        return 2
    try:
        info = {} if check else preflight(root, names, exchange, exchange_root, force, bundle_dir)
        if not check and not force:
            for a in names:  # before minutes of gates: a release/ file someone edited is not silently replaced
                guard_release(root, a, log=log)
    except (PublishError, ReleaseError) as e:
        log(f"error: {e}")
        return 2

    gates = (*gatesmod.GATES, "sync") if check else gatesmod.GATES
    log(f"running the course gates for {', '.join(names)} ({workers} at a time)")
    t0 = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="autograder-publish-"))
    try:
        results = run_all_gates(root, names, workdir, gates=gates, workers=workers, log=log)
        print_table(results, time.perf_counter() - t0)
        failed = [r for rs in results.values() for r in rs if not r.ok]
        if failed:
            log("")
            for r in failed:
                log(r.report())
                log("")
            what = "--check writes nothing" if check else \
                "nothing was published (release/, the exchange and the bundle folder are unchanged)"
            log(f"{len(failed)} gate(s) failed: {what}.")
            return 1
        if check:
            log("all gates passed and release/ is in sync with source/")
            return 0

        for a in names:
            if force:
                guard_release(root, a, force=True, log=log)
            changed = _copy_release(workdir / a / "stage" / "release" / a, root / "release" / a)
            record_release(root, a)
            log(f"release/{a}/ {'updated' if changed else 'unchanged'} (verified)")
        try:
            if exchange:
                for a in names:
                    release_to_exchange(root, a, info["exchange_root"], force)
                    register_in_gradebook(root, a, workdir / a / "stage" / f"gb-{a}.db")
                    log(f"{a}: released to the exchange {info['exchange_root']}/{info['course_id']}/outbound/{a}")
            if bundle_dir is not None:
                from .bundle import BundleLeak, build_bundle

                for a in names:
                    try:
                        path = build_bundle(root, a, info["bundle_dir"])
                    except BundleLeak as e:
                        raise PublishError(str(e)) from e
                    log(f"{a}: bundle {path} ({path.stat().st_size / 1024:.0f} KiB)")
        except PublishError as e:
            log(f"error: {e}")
            return 1
        if not exchange and bundle_dir is None:
            log("release/ is verified; commit it. Publish with --exchange (JupyterHub) or --bundle DIR (LMS, Colab).")
        return 0
    finally:
        if keep:
            log(f"scratch courses kept in {workdir}")
        else:
            gatesmod.remove_stage(workdir)
