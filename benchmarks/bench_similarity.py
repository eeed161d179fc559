"""Similarity report on synthetic classes of 50, 200 and 500 optimizers submissions.

For each class size, builds a scratch course (tests/autograder/reports/similarity_class.py: independent
students in many styles + 4 planted copies, real nbgrader notebooks; not timed), then times

* ``autograder.reports.similarity`` end to end: read and extract the notebooks, normalize, fingerprint,
  score every pair per graded function and for the whole notebook, write the HTML and JSON;
* the baseline: plain ``copydetect.CopyDetector`` (its own pygments filter, default k = 25,
  no normalization, no boilerplate, no report) on the same students' extracted code, one file
  per student, whole notebook only.

and prints seconds, pairs per second and the ratio, plus what the report found (planted copies
in the top 4, pairs flagged, highest z of a pair that is not a planted copy).

    python benchmarks/bench_similarity.py [--sizes 50 200 500] [--no-baseline]

Exits with status 1 when the planted copies are not the top 4 findings (never because of a
timing: shared machines make timings noisy).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from autograder.reports import similarity as sim  # noqa: E402
from tests.autograder.reports import similarity_class as sc  # noqa: E402


def baseline(root: Path, work: Path) -> tuple[float, int]:
    """Plain copydetect on each student's extracted code (whole notebook): seconds, pairs."""
    from copydetect import CopyDetector
    import nbformat

    release = sim.read_release(root, "optimizers")
    files = work / "code"
    files.mkdir()
    for folder in sorted((root / "submitted").glob("*/optimizers")):
        nb = nbformat.read(folder / "optimizers.ipynb", as_version=4)
        code = "\n\n".join(src for _, src in sim.student_cells(nb, release))
        (files / f"{folder.parent.name}.py").write_text(code)
    n = len(list(files.glob("*.py")))
    t0 = time.perf_counter()
    det = CopyDetector(test_dirs=[str(files)], extensions=["py"], silent=True, autoopen=False)
    det.run()
    return time.perf_counter() - t0, n * (n - 1) // 2


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[50, 200, 500])
    ap.add_argument("--no-baseline", action="store_true", help="skip the plain copydetect run")
    args = ap.parse_args(argv)
    load = os.getloadavg()
    print(f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} cores")
    header = (f"{'N':>5} | {'ours (s)':>8} | {'pairs':>9} | {'pairs/s':>9} | {'notebook pairs/s':>16} | "
              f"{'copydetect (s)':>14} | {'pairs/s':>8} | {'speed-up':>8} | top 4 = copies | flagged | max other z")
    print(header)
    print("-" * len(header))
    ok = True
    for n in args.sizes:
        with tempfile.TemporaryDirectory(prefix="bench-sim-") as tmp:
            root = Path(tmp) / "course"
            info = sc.build_course(root, n - 4, seed=1)
            t0 = time.perf_counter()
            result = sim.similarity(root, "optimizers", against=info["against"])
            ours = time.perf_counter() - t0
            nb_pairs = result.stats[sim.NOTEBOOK]["pairs"]
            planted = {frozenset(p) for p in info["planted"].items()}
            top4 = {frozenset((f["a"], f["b"])) for f in result.findings[:4]}
            others = [f["z"] for f in result.findings if frozenset((f["a"], f["b"])) not in planted]
            good = top4 == planted
            ok &= good
            if args.no_baseline:
                base, base_pairs = float("nan"), nb_pairs
            else:
                base, base_pairs = baseline(root, Path(tmp))
            print(f"{n:>5} | {ours:>8.2f} | {result.pairs:>9} | {result.pairs / ours:>9.0f} | {nb_pairs / ours:>16.0f} | "
                  f"{base:>14.2f} | {base_pairs / base:>8.0f} | {base / ours:>7.1f}x | {str(good):>14} | "
                  f"{len(result.flagged):>7} | {max(others):>11.1f}")
    print("pairs: student pairs x (notebook + each graded function) + students x known solutions; "
          "copydetect compares whole notebooks only (one pair per student pair).")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
