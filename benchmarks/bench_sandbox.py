"""Cost of the kernel sandbox per notebook: the same notebook executed with the
grading kernel manager, sandboxed (bubblewrap) and unsandboxed, alternating, in
one process. Prints seconds per notebook for each and the ratio.

    python benchmarks/bench_sandbox.py [--repeats 3] [--notebook PATH]

Default notebook: the reduced `regularization` solution (setup + graded cells).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import nbformat  # noqa: E402
from nbconvert.preprocessors import ExecutePreprocessor  # noqa: E402

from autograder.grading import kernel, sandbox  # noqa: E402


def _notebook(path):
    if path:
        return nbformat.read(path, as_version=4)
    from tests.helpers.nbgrader_course import read_source, solution_submission

    return solution_submission(read_source("regularization", reduced=True))


def _run(nb, mode: str) -> float:
    os.environ["AUTOGRADER_SANDBOX"] = mode
    sandbox.probe.cache_clear()
    with tempfile.TemporaryDirectory(prefix="bench-sandbox-") as tmp:
        work = Path(tmp) / "work"
        work.mkdir()
        ep = ExecutePreprocessor(timeout=300, kernel_name="python3", allow_errors=True,
                                 kernel_manager_class=kernel.grading_kernel_manager_class(Path(tmp) / "ipc"))
        t0 = time.perf_counter()
        ep.preprocess(nbformat.from_dict(nb), {"metadata": {"path": str(work)}})
        return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--notebook", default=None)
    args = ap.parse_args()
    nb = _notebook(args.notebook)
    os.environ["AUTOGRADER_SANDBOX"] = "auto"
    ok, why = sandbox.probe()
    if not ok:
        print(f"bubblewrap unavailable ({why}): nothing to compare")
        return 1
    _run(nb, "off")  # warm the page cache for both
    times = {"off": [], "auto": []}
    for _ in range(args.repeats):
        for mode in ("off", "auto"):
            times[mode].append(_run(nb, mode))
    plain, boxed = statistics.median(times["off"]), statistics.median(times["auto"])
    print(f"notebook: {args.notebook or 'regularization (reduced solution)'}, {args.repeats} runs each, median")
    print(f"unsandboxed: {plain:.2f} s/notebook   sandboxed: {boxed:.2f} s/notebook   "
          f"ratio {boxed / plain:.2f}x   cost {boxed - plain:+.2f} s/notebook")
    return 0


if __name__ == "__main__":
    sys.exit(main())
