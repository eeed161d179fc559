"""Playground latency: from a slider change to a redrawn figure.

The update rules are the instructor solutions, executed at run time from the
answer cells of source/optimizers/optimizers.ipynb (student-style torch code,
no autograd). All seven rules, 200 steps, on the ill-conditioned quadratic.

Prints the median of 20 slider changes, split into recompute (running every
rule) and redraw (matplotlib to PNG), and the ratio against a baseline run in
this process: the bare optimizer math (the same rules, the same steps, no
playground). Target: a slider change in <= 100 ms. The machine may be shared,
so the ratio is the stable number; absolute times are indicative.
"""

from __future__ import annotations

import os
import re
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")

import nbformat  # noqa: E402
import torch  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from course_utils.playground import Playground  # noqa: E402
from course_utils.surfaces import get_surface  # noqa: E402

TARGET_MS = 100.0
STEPS = 200
REPEATS = 20
NAMES = {"SGD": "sgd", "Momentum": "sgd_momentum", "Nesterov": "nesterov_momentum", "AdaGrad": "adagrad",
         "RMSProp": "rmsprop", "Adam": "adam", "AdamW": "adamw"}


def solution_rules() -> dict:
    nb = nbformat.read(str(REPO / "source" / "optimizers" / "optimizers.ipynb"), as_version=4)
    ns: dict = {"torch": torch}
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("solution"):
            exec(re.sub(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", "", cell.source, flags=re.M), ns)
    missing = [f for f in NAMES.values() if f not in ns]
    if missing:
        raise SystemExit(f"the source notebook has no answer cell for {missing}")
    return {label: ns[fn] for label, fn in NAMES.items()}


def bare_math(rules, lr):
    """Baseline: the same rules and steps in a plain loop (what any playground must at least pay)."""
    s = get_surface("quadratic")
    for rule in rules.values():
        w = torch.tensor(s.start, dtype=torch.float64)
        cfg = {"learning_rate": lr, "momentum": 0.9, "decay_rate": 0.99, "beta1": 0.9, "beta2": 0.999, "weight_decay": 0.0}
        for _ in range(STEPS):
            w, cfg = rule(w, s.gradient(w), cfg)


def main():
    torch.set_num_threads(1)  # 2-element tensors: threads only add overhead
    rules = solution_rules()
    pg = Playground(rules, steps=STEPS)
    lrs = [0.05 + 0.01 * k for k in range(REPEATS + 2)]
    pg.controls["learning_rate"].value = lrs[0]   # warm-up
    total, recompute, redraw, base = [], [], [], []
    for lr in lrs[1:REPEATS + 1]:
        renders = pg.renders
        t0 = time.perf_counter()
        pg.controls["learning_rate"].value = lr
        total.append(time.perf_counter() - t0)
        assert pg.renders == renders + 1 and len(pg.trajectories) == len(rules)
        t0 = time.perf_counter()
        pg.recompute()
        recompute.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        pg.redraw()
        redraw.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        bare_math(rules, lr)
        base.append(time.perf_counter() - t0)
    med = {k: 1e3 * statistics.median(v) for k, v in
           (("total", total), ("recompute", recompute), ("redraw", redraw), ("base", base))}
    print(f"playground: {len(rules)} rules x {STEPS} steps, median of {REPEATS} slider changes")
    print(f"  slider change -> redrawn figure : {med['total']:7.1f} ms  (target <= {TARGET_MS:.0f} ms)")
    print(f"    recompute (all rules)        : {med['recompute']:7.1f} ms")
    print(f"    redraw (matplotlib -> PNG)   : {med['redraw']:7.1f} ms")
    print(f"  baseline: bare optimizer math  : {med['base']:7.1f} ms")
    print(f"  ratio slider change / baseline : {med['total'] / med['base']:7.2f}x")
    print(f"  {'within' if med['total'] <= TARGET_MS else 'ABOVE'} the {TARGET_MS:.0f} ms target on this machine")


if __name__ == "__main__":
    main()
