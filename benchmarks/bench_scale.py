"""Grading cost against class size: 50, 200 and 500 synthetic `optimizers` submissions.

For each size N, builds a class with tests/scale/classgen.py (solution, catalogue
mutants and correct variants, stripped metadata, mangled JSON, a never-ending
answer, a hostile attack; every kind recurring), grades it with ``python -m
autograder grade --workers W`` and checks every student's status and score
against nbgrader's own reference grading of each kind (graded once, before and
apart from the batches). Prints a table of wall time, submissions per minute,
per minute per core, and the coordinator's peak RSS (VmHWM of the grade
process), and saves a plot. With ``--kill K`` the largest size is also graded
with the coordinator SIGKILLed K times at random points and rerun; its final
grades.csv must equal the uninterrupted run's.

    python benchmarks/bench_scale.py [--sizes 50 200 500] [--workers 2] [--kill 3] [--plot scale.png]

On a shared machine absolute rates are upper bounds; the point is how cost grows
with N (rate should stay flat, RSS should not grow with N).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("COURSE_DATASET", "digits")
os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")

from tests.scale import classgen as G  # noqa: E402


def killed_run(course_root: Path, args: list, kills: int, rng: random.Random) -> int:
    """Grade with ``kills`` SIGKILLs of the coordinator at random moments, then to the end; return kills done."""
    from tests.helpers.nbgrader_course import grading_env

    done = 0
    for _ in range(kills):
        proc = subprocess.Popen([sys.executable, "-m", "autograder", "grade", G.A, *args], cwd=course_root,
                                env=grading_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait = rng.uniform(5, 60)
        try:
            proc.wait(wait)
            break  # finished before the kill
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            done += 1
    proc, _, _ = G.grade_measured(course_root, *args)
    if proc.returncode != 0:
        raise SystemExit(f"rerun after kills failed:\n{proc.stderr[-3000:]}")
    return done


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[50, 200, 500])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--cell-timeout", type=int, default=20)
    ap.add_argument("--kill", type=int, default=0, help="SIGKILL the coordinator this many times at the largest size")
    ap.add_argument("--plot", default=str(REPO / "artifacts" / "bench_scale.png"))
    ap.add_argument("--keep", action="store_true", help="keep the scratch courses")
    ns = ap.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    rows = []
    try:
        kinds = G.kinds(n_mutants=8, n_correct=2)
        t0 = time.monotonic()
        expected = G.reference(tmp / "reference", kinds, ns.cell_timeout)
        print(f"reference: {len(kinds)} kinds graded once by plain nbgrader in {time.monotonic() - t0:.0f} s")
        args = ["--workers", str(ns.workers), "--no-progress", "--timeout-cell", str(ns.cell_timeout)]
        for n in ns.sizes:
            course = G.new_course(tmp / f"class{n}")
            assigned = G.build_class(course, n, kinds)
            proc, peak_kb, wall = G.grade_measured(course.root, *args)
            if proc.returncode != 0:
                raise SystemExit(f"grading {n} failed:\n{proc.stderr[-3000:]}")
            bad = G.mismatches(course.root, assigned, expected)
            rate = n / (wall / 60)
            rows.append((n, wall, rate, rate / ns.workers, peak_kb / 1024, len(bad)))
            print(f"N={n}: {wall:.0f} s, {rate:.1f}/min, {rate / ns.workers:.1f}/min/core, "
                  f"coordinator peak {peak_kb / 1024:.0f} MB, wrong: {len(bad)}", flush=True)
            for line in bad[:10]:
                print("   ", line)
            if ns.kill and n == max(ns.sizes):
                k_course = G.new_course(tmp / f"killed{n}")
                G.build_class(k_course, n, kinds)
                done = killed_run(k_course.root, args, ns.kill, random.Random(0))
                same = ((k_course.root / "grades" / G.A / "grades.csv").read_text()
                        == (course.root / "grades" / G.A / "grades.csv").read_text())
                bad_k = G.mismatches(k_course.root, assigned, expected)
                print(f"N={n} with {done} coordinator SIGKILL(s) + rerun: grades.csv identical to the "
                      f"uninterrupted run: {same}; wrong: {len(bad_k)}")
    finally:
        if not ns.keep:
            shutil.rmtree(tmp, ignore_errors=True)

    load = os.getloadavg()
    print(f"\n{'N':>5} {'wall s':>8} {'subm/min':>9} {'/min/core':>10} {'peak RSS MB':>12} {'wrong':>6}")
    for n, wall, rate, per_core, rss, bad in rows:
        print(f"{n:>5} {wall:>8.0f} {rate:>9.1f} {per_core:>10.1f} {rss:>12.0f} {bad:>6}")
    print(f"(load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} cores)")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.5))
        ns_ = [r[0] for r in rows]
        a1.plot(ns_, [r[3] for r in rows], "o-")
        a1.set(xlabel="submissions", ylabel="submissions / min / core", title="throughput", ylim=(0, None))
        a2.plot(ns_, [r[4] for r in rows], "o-", color="C1")
        a2.axhline(500, ls="--", color="gray", lw=1)
        a2.set(xlabel="submissions", ylabel="MB", title="coordinator peak RSS", ylim=(0, None))
        fig.tight_layout()
        Path(ns.plot).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(ns.plot, dpi=100)
        print(f"plot: {ns.plot}")
    except Exception as e:  # noqa: BLE001 (the table is the result; the plot is a convenience)
        print(f"no plot: {e}")
    return 1 if any(r[5] for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
