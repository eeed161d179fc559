"""Grading throughput: serial ``nbgrader autograde`` vs ``python -m autograder grade --workers 2``.

Grades the same K submissions of a synthetic assignment (setup cell importing
torch plus a few seconds of CPU work per notebook, like a reduced course
notebook) three ways, in one run:

1. bare execution of each notebook with nbclient (the floor),
2. plain serial ``nbgrader autograde`` over all K (one process),
3. ``python -m autograder grade --workers W``.

Prints the times, the speed-up of (3) over (2) (target >= 1.8x on 2 cores) and
the per-submission overhead of (3) over (1). The machine may be shared: read
the ratios, not the absolute times.

    python benchmarks/bench_grading.py [--k 8] [--workers 2] [--work 3.0]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import nbformat  # noqa: E402

from tools.nbauthor import answer, md, setup, test  # noqa: E402

A = "bench"


def source_notebook(work_seconds: float):
    return nbformat.v4.new_notebook(cells=[
        md("# Benchmark assignment"),
        setup("import time\nimport torch\ntorch.manual_seed(0)\nprint('setup ok')"),
        answer("train", f'''
            def train(steps_seconds={work_seconds}):
                """Burn CPU like a small training loop; return the final loss."""
                ### BEGIN SOLUTION
                import time, torch
                W = torch.randn(64, 64)
                end = time.process_time() + steps_seconds
                loss = None
                while time.process_time() < end:
                    W = torch.tanh(W @ W.T / 64)
                    loss = float(W.sum())
                return loss
                ### END SOLUTION
        '''),
        test("test_train", '''
            assert isinstance(train(), float), "train() should return a float"
        ''', points=1),
    ])


def env():
    e = dict(os.environ)
    e["PATH"] = str(Path(sys.executable).parent) + os.pathsep + e.get("PATH", "")
    for v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        e[v] = "1"
    e["COURSE_HEADLESS"] = "1"
    return e


def run(cmd, cwd):
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env(), capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, cmd))} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return time.perf_counter() - t0


def build_course(root: Path, k: int, work: float):
    root.mkdir(parents=True)
    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    (root / "source" / A).mkdir(parents=True)
    nbformat.write(source_notebook(work), str(root / "source" / A / f"{A}.ipynb"))
    run([sys.executable, "-m", "nbgrader", "generate_assignment", A, "--force"], root)
    from autograder.demo import solution_nb

    src = solution_nb(nbformat.read(str(root / "source" / A / f"{A}.ipynb"), as_version=4))
    for i in range(k):
        d = root / "submitted" / f"s{i:02d}" / A
        d.mkdir(parents=True)
        nbformat.write(src, str(d / f"{A}.ipynb"))
    return src


def bare_nbclient(nb, k: int, cwd: Path) -> float:
    from nbclient import NotebookClient

    os.environ.update({v: "1" for v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")})
    t0 = time.perf_counter()
    for _ in range(k):
        NotebookClient(nbformat.from_dict(nb), timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(cwd)}}).execute()
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--k", type=int, default=8, help="submissions (default 8)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--work", type=float, default=3.0, help="CPU seconds of student work per notebook")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        tmp = Path(tmp)
        src = build_course(tmp / "serial", args.k, args.work)
        shutil.copytree(tmp / "serial", tmp / "parallel")
        t_bare = bare_nbclient(src, args.k, tmp)
        t_serial = run([sys.executable, "-m", "nbgrader", "autograde", A, "--force"], tmp / "serial")
        t_par = run([sys.executable, "-m", "autograder", "grade", A, "--workers", str(args.workers), "--force",
                     "--no-progress"], tmp / "parallel")
        import csv

        rows = list(csv.DictReader(open(tmp / "parallel" / "grades" / A / "grades.csv")))
        ok = sum(r["status"] == "graded" and float(r["score"]) == 1.0 for r in rows)
    k = args.k
    print(f"K={k} submissions, {args.work:g} CPU s of student work each, {os.cpu_count()} cores visible")
    print(f"bare nbclient (serial)          {t_bare:7.1f} s  ({t_bare / k:.2f} s/notebook)")
    print(f"nbgrader autograde (serial)     {t_serial:7.1f} s  ({t_serial / k:.2f} s/notebook)")
    print(f"autograder grade --workers {args.workers}    {t_par:7.1f} s  ({t_par / k:.2f} s/notebook wall)")
    print(f"speed-up over serial nbgrader   {t_serial / t_par:7.2f}x  (target >= 1.8x on 2 cores)")
    over = (t_par * args.workers - t_bare) / k
    print(f"overhead per submission over bare nbclient: {over:+.2f} s of worker time "
          f"({t_par * args.workers / t_bare:.2f}x bare)")
    print(f"correctly graded: {ok}/{k}")
    if ok != k:
        raise SystemExit("some submissions were not graded correctly")


if __name__ == "__main__":
    main()
