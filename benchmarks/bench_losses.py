"""Naive vs vectorized SVM and softmax losses (gradients assignment, spec §3.2).

The reference solutions are read from the answer cells of
``source/gradients/gradients.ipynb`` at run time (solution markers stripped), so
this file holds no solution code. Times the four losses at CIFAR-10 size
(N=500, D=3073, C=10, float32, reg=1e-4) in this process and prints the
naive/vectorized ratio of each loss; the course's target is at least 20x.

    python benchmarks/bench_losses.py [--threads 1] [--repeat 3]

Exits with status 1 when the naive and vectorized results disagree (never
because of a timing: shared machines make timings noisy).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import nbformat
import torch

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "source" / "gradients" / "gradients.ipynb"
MARKER = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", re.M)
FUNCTIONS = ("svm_loss_naive", "svm_loss_vectorized", "softmax_loss_naive", "softmax_loss_vectorized")
TARGET = 20.0


def load_reference_solutions(path: Path = NOTEBOOK) -> dict:
    """Exec the notebook's answer cells for the four losses; return name -> function."""
    if not path.is_file():
        raise SystemExit(f"{path} not found: run this from the course repository")
    nb = nbformat.read(str(path), as_version=4)
    namespace = {"torch": torch, "__name__": "gradients_reference"}
    found = set()
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {}) or {}
        if cell.cell_type == "code" and meta.get("solution") and meta.get("grade_id") in FUNCTIONS:
            exec(compile(MARKER.sub("", cell.source), f"<{meta['grade_id']} answer cell>", "exec"), namespace)
            found.add(meta["grade_id"])
    missing = set(FUNCTIONS) - found
    if missing:
        raise SystemExit(f"{path.relative_to(REPO)} has no answer cell for {sorted(missing)}")
    return {name: namespace[name] for name in FUNCTIONS}


def best_time(fn, args, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1,
                        help="torch intra-op threads (default 1: a shared machine makes more threads noisy)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per function; the best is reported")
    parser.add_argument("--N", type=int, default=500)
    parser.add_argument("--D", type=int, default=3073)
    parser.add_argument("--C", type=int, default=10)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    fns = load_reference_solutions()
    g = torch.Generator().manual_seed(0)
    X = torch.randn(args.N, args.D, generator=g) * 0.25
    X[:, -1] = 1.0  # bias trick
    W = 1e-3 * torch.randn(args.D, args.C, generator=g)
    y = torch.randint(0, args.C, (args.N,), generator=g)
    reg = 1e-4
    print(f"N={args.N} D={args.D} C={args.C} float32, torch {torch.__version__}, {args.threads} thread(s), "
          f"best of {args.repeat} naive and {max(10 * args.repeat, 50)} vectorized runs")

    ok = True
    ratios = []
    for loss in ("svm", "softmax"):
        naive, vec = fns[f"{loss}_loss_naive"], fns[f"{loss}_loss_vectorized"]
        vec(W, X, y, reg)  # warm-up
        ln, dn = naive(W, X, y, reg)
        lv, dv = vec(W, X, y, reg)
        agree = abs(float(ln) - float(lv)) <= 1e-4 * (1 + abs(float(lv))) and float((dn - dv).abs().max()) <= 1e-5
        ok &= agree
        t_naive = best_time(naive, (W, X, y, reg), args.repeat)
        t_vec = best_time(vec, (W, X, y, reg), max(10 * args.repeat, 50))  # fast and noisy: more runs
        ratio = t_naive / t_vec
        ratios.append(ratio)
        flag = "meets" if ratio >= TARGET else "BELOW"
        print(f"{loss:8s} naive {1000 * t_naive:9.1f} ms   vectorized {1000 * t_vec:7.2f} ms   "
              f"ratio {ratio:7.1f}x ({flag} the {TARGET:.0f}x target)   results agree: {agree}")
    print(f"smallest ratio: {min(ratios):.1f}x")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
