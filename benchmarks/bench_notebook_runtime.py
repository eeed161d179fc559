"""Headless run time of an instructor notebook now vs at a baseline commit, in one command.

    python benchmarks/bench_notebook_runtime.py optimizers 57acdeb

Executes ``source/<a>/<a>.ipynb`` from the baseline commit and from the working tree
with nbclient (COURSE_HEADLESS=1), alternating ``--repeat`` times, and prints each time
and the ratio of the medians. On a shared machine only the ratio is meaningful.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]


def run(nb, cwd) -> float:
    t0 = time.perf_counter()
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}).execute()
    return time.perf_counter() - t0


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("assignment")
    p.add_argument("baseline", help="git revision of the baseline notebook")
    p.add_argument("--repeat", type=int, default=1)
    a = p.parse_args()
    os.environ.setdefault("COURSE_HEADLESS", "1")
    rel = f"source/{a.assignment}/{a.assignment}.ipynb"
    old_text = subprocess.check_output(["git", "show", f"{a.baseline}:{rel}"], cwd=REPO, text=True)
    cwd = REPO / "source" / a.assignment
    times = {"baseline": [], "current": []}
    for _ in range(a.repeat):
        times["baseline"].append(run(nbformat.reads(old_text, as_version=4), cwd))
        times["current"].append(run(nbformat.read(str(REPO / rel), as_version=4), cwd))
    for k, v in times.items():
        print(f"{k:>8}: " + ", ".join(f"{t:.1f} s" for t in v))
    ratio = statistics.median(times["current"]) / statistics.median(times["baseline"])
    print(f"current / baseline (medians): {ratio:.2f}; load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
