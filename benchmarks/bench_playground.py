"""Playground latency: from a slider change to a redrawn figure, with the theory overlays.

The update rules (and max_stable_lr / momentum_rate) are the instructor
solutions, executed at run time from the answer cells of
source/optimizers/optimizers.ipynb (student-style torch code, no autograd).
200 steps on the ill-conditioned quadratic.

Prints medians of 10 slider changes for: all seven rules with the theory panel
(split into recompute and redraw), the default view (three rules + theory
panel, the student's predictions drawn), and the adaptive view; and the build
time of a rate map and of Adam's (β1, β2) map (cold, median of 10) against
their cached lookups. Each is also printed as a ratio against a baseline run
in this process: the bare optimizer math (the same rules, the same steps, no
playground). Targets: a slider change <= 100 ms, a map build <= 1 s. The
machine may be shared, so the ratio is the stable number; absolute times are
indicative (print `uptime` with them).
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
REPEATS = 10
MAP_TARGET_MS = 1000.0
NAMES = {"SGD": "sgd", "Momentum": "sgd_momentum", "Nesterov": "nesterov_momentum", "AdaGrad": "adagrad",
         "RMSProp": "rmsprop", "Adam": "adam", "AdamW": "adamw"}


def solution_rules() -> dict:
    nb = nbformat.read(str(REPO / "source" / "optimizers" / "optimizers.ipynb"), as_version=4)
    ns: dict = {"torch": torch}
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("solution"):
            exec(re.sub(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", "", cell.source, flags=re.M), ns)
    missing = [f for f in (*NAMES.values(), "max_stable_lr", "momentum_rate") if f not in ns]
    if missing:
        raise SystemExit(f"the source notebook has no answer cell for {missing}")
    solution_rules.predictions = {k: ns[k] for k in ("max_stable_lr", "momentum_rate")}
    return {label: ns[fn] for label, fn in NAMES.items()}


def bare_math(rules, lr):
    """Baseline: the same rules and steps in a plain loop (what any playground must at least pay)."""
    s = get_surface("quadratic")
    for rule in rules.values():
        w = torch.tensor(s.start, dtype=torch.float64)
        cfg = {"learning_rate": lr, "momentum": 0.9, "decay_rate": 0.99, "beta1": 0.9, "beta2": 0.999, "weight_decay": 0.0}
        for _ in range(STEPS):
            w, cfg = rule(w, s.gradient(w), cfg)


def _median_ms(values):
    return 1e3 * statistics.median(values)


def _slider_changes(pg, key, values):
    """Median ms from setting a slider to a redrawn figure (first value is a warm-up)."""
    pg.controls[key].value = values[0]
    out = []
    for v in values[1:REPEATS + 1]:
        renders = pg.renders
        t0 = time.perf_counter()
        pg.controls[key].value = v
        out.append(time.perf_counter() - t0)
        assert pg.renders == renders + 1
    return _median_ms(out)


def main():
    torch.set_num_threads(1)  # 2-element tensors: threads only add overhead
    rules = solution_rules()
    preds = solution_rules.predictions
    try:
        print("load:", os.getloadavg())
    except OSError:
        pass
    pg = Playground(rules, steps=STEPS, enabled=list(rules), predictions=preds)
    lrs = [0.05 + 0.01 * k for k in range(REPEATS + 2)]
    pg.controls["learning_rate"].value = lrs[0]   # warm-up
    total, recompute, redraw, base = [], [], [], []
    for lr in lrs[1:REPEATS + 1]:
        renders = pg.renders
        t0 = time.perf_counter()
        pg.controls["learning_rate"].value = lr
        total.append(time.perf_counter() - t0)
        assert pg.renders == renders + 1 and len(pg.trajectories) == len(rules) and pg.theory is not None
        t0 = time.perf_counter()
        pg.recompute()
        recompute.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        pg.redraw()
        redraw.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        bare_math(rules, lr)
        base.append(time.perf_counter() - t0)
    med = {k: _median_ms(v) for k, v in (("total", total), ("recompute", recompute), ("redraw", redraw), ("base", base))}
    b = med["base"]
    print(f"playground: {len(rules)} rules x {STEPS} steps, median of {REPEATS} slider changes, theory panel on")
    print(f"  slider change -> redrawn figure : {med['total']:7.1f} ms  ratio {med['total'] / b:5.2f}x  (target <= {TARGET_MS:.0f} ms)")
    print(f"    recompute (rules + theory)   : {med['recompute']:7.1f} ms")
    print(f"    redraw (matplotlib -> PNGs)  : {med['redraw']:7.1f} ms")
    print(f"  baseline: bare optimizer math  : {b:7.1f} ms")

    default = Playground(rules, steps=STEPS, predictions=preds)
    d = _slider_changes(default, "learning_rate", lrs)
    rho = _slider_changes(default, "momentum", [0.5 + 0.02 * k for k in range(REPEATS + 2)])
    print(f"default view ({', '.join(default.enabled)} + theory panel + your predictions)")
    print(f"  learning-rate slider            : {d:7.1f} ms  ratio {d / b:5.2f}x  (target <= {TARGET_MS:.0f} ms)")
    print(f"  momentum slider                 : {rho:7.1f} ms  ratio {rho / b:5.2f}x")
    x, y = default.map_ax.transData.transform((0.4, 0.5))
    t0 = time.perf_counter()
    default._on_theory_click({"type": "click", "dataX": float(x), "dataY": float(default.theory_figure.bbox.height - y)})
    click = 1e3 * (time.perf_counter() - t0)
    print(f"  click on the rate map          : {click:7.1f} ms  ratio {click / b:5.2f}x (one click)")

    default.controls["adaptive_view"].value = True
    for n in ("AdaGrad", "RMSProp", "AdamW"):
        default.toggles[n].value = True
    a = _slider_changes(default, "learning_rate", lrs)
    print(f"adaptive view on (all seven rules, effective steps, cached (β1, β2) map)")
    print(f"  learning-rate slider            : {a:7.1f} ms  ratio {a / b:5.2f}x  (target <= {TARGET_MS:.0f} ms)")

    cold_rate, cached_rate, cold_beta, cached_beta = [], [], [], []
    start = tuple(get_surface("quadratic").start)
    for _ in range(REPEATS):
        default._rate_maps.clear()
        t0 = time.perf_counter()
        default.rate_map()
        cold_rate.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        default.rate_map()
        cached_rate.append(time.perf_counter() - t0)
        default._beta_maps.clear()
        t0 = time.perf_counter()
        codes, how = default.beta_map("Adam", STEPS, start)
        cold_beta.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        default.beta_map("Adam", STEPS, start)
        cached_beta.append(time.perf_counter() - t0)
    cr, kr, cb, kb = (_median_ms(v) for v in (cold_rate, cached_rate, cold_beta, cached_beta))
    n = len(default.BETA1S) * len(default.BETA2S)
    print(f"maps (median of {REPEATS} builds)")
    print(f"  rate map (η, ρ) build           : {cr:7.1f} ms  ratio {cr / b:5.2f}x  cached {kr:.3f} ms  (target <= {MAP_TARGET_MS:.0f} ms)")
    print(f"  (β1, β2) map, {n} runs of your adam, {how}: {cb:7.1f} ms  ratio {cb / b:5.2f}x  cached {kb:.3f} ms  "
          f"(target <= {MAP_TARGET_MS:.0f} ms)")
    worst = max(med["total"], d, rho)
    print(f"  {'within' if worst <= TARGET_MS else 'ABOVE'} the {TARGET_MS:.0f} ms slider target; maps "
          f"{'within' if max(cr, cb) <= MAP_TARGET_MS else 'ABOVE'} the {MAP_TARGET_MS:.0f} ms target on this machine")


if __name__ == "__main__":
    main()
