"""A synthetic class of `optimizers` submissions graded end to end (CI size; benchmarks/bench_scale.py: 50-500).

Every student must get exactly the status and score of their submission kind
(tests/scale/classgen.py: nbgrader's own reference grading of each kind), the
gradebook holds one submission row per student, and the coordinator's peak
memory (VmHWM of the `python -m autograder grade` process) stays under 500 MB.
Prints throughput in submissions per minute per core. ``SCALE_N`` sets the size.
"""

from __future__ import annotations

import os

import pytest

from tests.scale import classgen as G

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("scale")]

N = int(os.environ.get("SCALE_N", "24"))
WORKERS = 2
CELL_TIMEOUT = 20
PEAK_LIMIT_KB = 500_000


def test_class_is_graded_exactly(tmp_path):
    from nbgrader.api import Gradebook

    import time

    kinds = G.kinds(n_mutants=6, n_correct=1)
    t0 = time.monotonic()
    expected = G.reference(tmp_path / "reference", kinds, CELL_TIMEOUT)
    print(f"\nreference grading of {len(kinds)} kinds by plain nbgrader: {time.monotonic() - t0:.0f} s")
    assert expected["solution"][1] > 0 and expected[kinds[1].name][1] < expected["solution"][1]  # a sane oracle
    course = G.new_course(tmp_path / "class")
    assigned = G.build_class(course, N, kinds)
    proc, peak_kb, wall = G.grade_measured(course.root, "--workers", str(WORKERS), "--no-progress",
                                           "--timeout-cell", str(CELL_TIMEOUT))
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert G.mismatches(course.root, assigned, expected) == []
    with Gradebook(f"sqlite:///{course.root / 'gradebook.db'}") as gb:
        rows = [s.student.id for s in gb.find_assignment(G.A).submissions]
    assert sorted(rows) == sorted(assigned)  # one row per student, none missing (unreadable ones score 0)
    assert 0 < peak_kb < PEAK_LIMIT_KB, f"coordinator peak RSS {peak_kb / 1024:.0f} MB"
    rate = N / (wall / 60) / WORKERS
    print(f"{N} submissions ({len(kinds)} kinds) in {wall:.0f} s on {WORKERS} workers: "
          f"{rate:.1f} submissions/min/core; coordinator peak RSS {peak_kb / 1024:.0f} MB; load {os.getloadavg()[0]:.1f}")
