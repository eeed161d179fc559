"""The grading outputs under ``grades/<assignment>/`` (the documented contract).

- ``results/<student_id>.json``: Gradescope's results.json format. ``score``,
  ``execution_time``, ``output`` (one status line), ``tests`` (``name``,
  ``number``, ``score``, ``max_score``, ``status`` passed/failed, ``output``: the
  failing check's message only, ``visibility``) and ``extra_data`` (status,
  reason, repairs, late penalty, timing, submission digest).
- ``grades.csv``: student_id, assignment, score, max_score, status, then one
  column per test cell (its score).
- ``summary.json``: per-student status, score and timing, plus batch totals;
  for an ``error`` status also ``log_tail``, the end of the grader's log.
- ``logs/<student_id>.log``: the grader's log of a submission whose status is
  ``error`` (for TAs; never part of the student-facing results).

Everything is rebuilt from ``results/`` after each run, so students skipped on a
resumed run still appear.
"""

from __future__ import annotations

import csv
import json
import os
from datetime import datetime, timezone
from pathlib import Path

DEFAULT_VISIBILITY = "visible"


def output_dir(course_root: Path, assignment: str, override=None) -> Path:
    return Path(override).resolve() if override else Path(course_root) / "grades" / assignment


def results_json(result: dict, visibility: str = DEFAULT_VISIBILITY) -> dict:
    tests = []
    for i, t in enumerate(result["tests"], 1):
        passed = t["score"] >= t["max_score"] - 1e-9
        tests.append({
            "name": t["name"], "number": str(i), "score": t["score"], "max_score": t["max_score"],
            "status": "passed" if passed else "failed", "output": "" if passed else t["message"],
            "visibility": visibility,
        })
    status = result["status"]
    line = f"{status}: {result['score']:g}/{result['max_score']:g}"
    if result.get("reason"):
        line += f" ({result['reason']})"
    return {
        "score": result["score"],
        "execution_time": round(float(result.get("time", 0.0)), 3),
        "output": line,
        "visibility": visibility,
        "tests": tests,
        "extra_data": {
            "student_id": result["student"], "assignment": result["assignment"], "status": status,
            "reason": result.get("reason"), "max_score": result["max_score"], "repairs": result.get("repairs", []),
            "late_penalty": sum((result.get("late_penalties") or {}).values()),
            "timestamp": result.get("timestamp"), "cell_seconds": result.get("cell_seconds"),
            "submission_sha256": result.get("submission_sha256"), "sandbox": result.get("sandbox"),
            "policy": result.get("policy", []), "integrity": result.get("integrity", {}),
            "graded_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        },
    }


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    except OSError:  # full disk: leave no half-written .tmp behind (the previous file, if any, is intact)
        try:
            tmp.unlink()
        except OSError:
            pass
        raise


LOG_TAIL = 4000


def write_result(out_dir: Path, result: dict) -> Path:
    path = Path(out_dir) / "results" / f"{result['student']}.json"
    _atomic_write(path, json.dumps(results_json(result), indent=1))
    log_path = Path(out_dir) / "logs" / f"{result['student']}.log"
    if result["status"] == "error":
        _atomic_write(log_path, result.get("log") or result.get("reason") or "")
    elif log_path.exists():
        log_path.unlink()
    return path


def _log_tail(out_dir: Path, student: str) -> str:
    try:
        return (Path(out_dir) / "logs" / f"{student}.log").read_text(errors="replace")[-LOG_TAIL:]
    except OSError:
        return ""


def load_results(out_dir: Path) -> dict:
    """``{student_id: results.json dict}`` of every student graded so far."""
    found = {}
    folder = Path(out_dir) / "results"
    if folder.exists():
        for p in sorted(folder.glob("*.json")):
            try:
                found[p.stem] = json.loads(p.read_text())
            except (OSError, json.JSONDecodeError):
                continue
    return found


def write_tables(out_dir: Path, assignment: str, test_names: list, run_info: dict) -> tuple[Path, Path]:
    results = load_results(out_dir)
    csv_path = Path(out_dir) / "grades.csv"
    tmp = csv_path.with_name("grades.csv.tmp")
    tmp.parent.mkdir(parents=True, exist_ok=True)
    with open(tmp, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["student_id", "assignment", "score", "max_score", "status", *test_names])
        for sid, r in sorted(results.items()):
            per = {t["name"]: t["score"] for t in r["tests"]}
            x = r["extra_data"]
            w.writerow([sid, assignment, f"{r['score']:g}", f"{x['max_score']:g}", x["status"],
                        *(f"{per[n]:g}" if n in per else "" for n in test_names)])
    os.replace(tmp, csv_path)
    counts = {}
    students = {}
    for sid, r in sorted(results.items()):
        x = r["extra_data"]
        counts[x["status"]] = counts.get(x["status"], 0) + 1
        students[sid] = {"status": x["status"], "reason": x.get("reason"), "score": r["score"],
                         "max_score": x["max_score"], "seconds": r.get("execution_time"),
                         "cell_seconds": x.get("cell_seconds"), "repairs": x.get("repairs", []),
                         "sandbox": x.get("sandbox"), "flags": sorted({f["rule"] for f in x.get("policy") or []}),
                         "graded_at": x.get("graded_at")}
        if x["status"] == "error":
            students[sid]["log_tail"] = _log_tail(out_dir, sid)
    summary = {"assignment": assignment, "tests": test_names, "counts": counts, **run_info, "students": students}
    summary_path = Path(out_dir) / "summary.json"
    _atomic_write(summary_path, json.dumps(summary, indent=1))
    return csv_path, summary_path
