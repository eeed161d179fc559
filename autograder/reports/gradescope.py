"""Gradescope: build ``autograder.zip``, and grade one submission inside Gradescope.

    python -m autograder gradescope ASSIGNMENT [--out autograder.zip] [--test-visibility after_due_date] ...

The zip holds ``setup.sh`` (run once as root when Gradescope builds the image:
Python 3.11, torch CPU, this course's packages and their dependencies incl.
nbgrader), ``run_autograder`` and ``course/``: the packages' sources, the
course's ``nbgrader_config.py`` and the assignment's SOURCE notebook. The source
notebook carries the hidden tests (nbgrader needs them to build the gradebook at
grade time); it lives only in the zip, which only instructors can download.

At grade time ``run_autograder`` calls ``python -m autograder.reports.gradescope run``:
it lays out a scratch course (``generate_assignment`` fills its gradebook), puts
the submitted notebook in ``submitted/<id>/<assignment>/`` and runs the SAME
``python -m autograder grade ASSIGNMENT --student <id>`` as a TA's batch; then it
writes ``results/results.json`` in Gradescope's format. Failing checks are
reported by message only (never hidden test source); by default per-test results
are ``after_due_date`` and only the total is visible before the due date. With
``--test-visibility visible``, tests whose cells hold hidden tests still keep
their messages back until the due date (in a separate zero-point entry). Whatever
happens, results.json is written (score 0 and a clear message on a crash).

Paths default to Gradescope's (``/autograder/...``) and can be moved for tests
with ``AUTOGRADER_ROOT`` or per path: ``AUTOGRADER_SOURCE``,
``AUTOGRADER_SUBMISSION``, ``AUTOGRADER_RESULTS``, ``AUTOGRADER_METADATA``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import zipfile
from datetime import datetime, timezone
from pathlib import Path

from ..course import CourseError
from ..results import Status

VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")
STUDENT_ID = "gradescope"
TEMPLATE = Path(__file__).with_name("gradescope_template")
CONFIG_NAME = "gradescope_config.json"
# Within Gradescope's default 10 minute limit, leaving time to write results.json.
DEFAULT_BUDGET = 480.0

STATUS_TEXT = {
    Status.TIMED_OUT: "Your notebook ran over the time limit, so the checks that did not finish score 0.",
    Status.KERNEL_DIED: "The Python kernel running your notebook died (out of memory, or a crash); "
                   "the checks that did not finish score 0.",
    Status.UNREADABLE: "Your file could not be read as a Jupyter notebook.",
    Status.MISSING: "No notebook was found in your submission.",
    Status.ERROR: "The autograder failed on your submission; the course staff has been told and will look at it.",
}


# =========================================================================== build

def _copy_package(pkg_dir: Path, dest: Path) -> None:
    shutil.copytree(pkg_dir, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints"))


def _repo_root() -> Path:
    """The course repository this package was installed from (pyproject.toml lives there)."""
    return Path(__file__).resolve().parents[2]


def _torch_spec() -> str:
    try:
        import torch

        return f"torch=={torch.__version__.split('+')[0]}"
    except Exception:
        return "torch"


def build_zip(root: Path, assignment: str, out: Path, *, test_visibility: str = "after_due_date",
              visibility: str = "visible", stdout_visibility: str = "hidden", late_penalty: bool = False,
              notebook_budget: float = DEFAULT_BUDGET, torch_spec: str | None = None) -> Path:
    """Write the Gradescope autograder zip for ``assignment`` of the course at ``root``."""
    root, out = Path(root).resolve(), Path(out).resolve()
    for name, value in (("test visibility", test_visibility), ("visibility", visibility),
                        ("stdout visibility", stdout_visibility)):
        if value not in VISIBILITIES:
            raise CourseError(f"{name} {value!r} is not one of {', '.join(VISIBILITIES)}")
    src_nb = root / "source" / assignment / f"{assignment}.ipynb"
    if not src_nb.is_file():
        known = sorted(p.parent.name for p in (root / "source").glob("*/*.ipynb"))
        raise CourseError(f"no source notebook {src_nb}; known assignments: {', '.join(known) or 'none'}")
    repo = _repo_root()
    with tempfile.TemporaryDirectory(prefix="gradescope-zip-") as tmp:
        stage = Path(tmp)
        course = stage / "course"
        course.mkdir()
        import course_utils

        import autograder

        _copy_package(Path(autograder.__file__).parent, course / "autograder")
        _copy_package(Path(course_utils.__file__).parent, course / "course_utils")
        for name in ("pyproject.toml", "README.md"):
            if (repo / name).is_file():
                shutil.copy(repo / name, course / name)
        shutil.copy(root / "nbgrader_config.py", course / "nbgrader_config.py")
        (course / "source" / assignment).mkdir(parents=True)
        shutil.copy(src_nb, course / "source" / assignment / src_nb.name)
        cfg = {"assignment": assignment, "test_visibility": test_visibility, "visibility": visibility,
               "stdout_visibility": stdout_visibility, "late_penalty": bool(late_penalty),
               "notebook_budget": float(notebook_budget),
               "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        (stage / CONFIG_NAME).write_text(json.dumps(cfg, indent=1))
        setup = (TEMPLATE / "setup.sh").read_text().replace("@TORCH_SPEC@", torch_spec or _torch_spec())
        (stage / "setup.sh").write_text(setup)
        shutil.copy(TEMPLATE / "run_autograder", stage / "run_autograder")
        out.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(stage.rglob("*")):
                if path.is_dir():
                    continue
                rel = path.relative_to(stage).as_posix()
                info = zipfile.ZipInfo(rel, date_time=(2020, 1, 1, 0, 0, 0))
                executable = rel in ("setup.sh", "run_autograder")
                info.external_attr = ((0o755 if executable else 0o644) | 0o100000) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, path.read_bytes())
    return out


# =========================================================================== run (inside Gradescope)

class Paths:
    def __init__(self, env=os.environ):
        base = Path(env.get("AUTOGRADER_ROOT", "/autograder"))
        self.source = Path(env.get("AUTOGRADER_SOURCE", base / "source"))
        self.submission = Path(env.get("AUTOGRADER_SUBMISSION", base / "submission"))
        self.results = Path(env.get("AUTOGRADER_RESULTS", base / "results"))
        self.metadata = Path(env.get("AUTOGRADER_METADATA", base / "submission_metadata.json"))
        self.work = env.get("AUTOGRADER_WORK")


def write_results(paths: Paths, data: dict) -> Path:
    paths.results.mkdir(parents=True, exist_ok=True)
    dest = paths.results / "results.json"
    tmp = dest.with_name("results.json.tmp")
    tmp.write_text(json.dumps(data, indent=1))
    os.replace(tmp, dest)
    return dest


def crash_results(message: str, cfg: dict | None = None, elapsed: float = 0.0) -> dict:
    cfg = cfg or {}
    return {"score": 0.0, "execution_time": round(elapsed, 3),
            "output": message, "visibility": "visible",
            "stdout_visibility": cfg.get("stdout_visibility", "hidden"), "tests": []}


def find_notebook(submission: Path, assignment: str) -> Path:
    """The submitted notebook: ``<assignment>.ipynb`` anywhere, else the only notebook."""
    nbs = sorted(p for p in submission.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts
                 and "__MACOSX" not in p.parts)
    named = [p for p in nbs if p.name == f"{assignment}.ipynb"]
    if named:
        return min(named, key=lambda p: len(p.parts))
    if len(nbs) == 1:
        return nbs[0]
    if not nbs:
        raise UserError(f"No notebook found in your submission. Upload your {assignment}.ipynb file.")
    names = ", ".join(p.name for p in nbs[:10])
    raise UserError(f"Your submission has {len(nbs)} notebooks ({names}) and none is named {assignment}.ipynb. "
                    f"Upload only {assignment}.ipynb.")


class UserError(Exception):
    """Something the student can fix; shown as the top-level output."""


def _parse_time(value):
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def _run(args, cwd: Path, timeout: float | None = None) -> subprocess.CompletedProcess:
    from ..grading.kernel import grading_env

    print("$", " ".join(map(str, args)), flush=True)
    proc = subprocess.run([sys.executable, *map(str, args)], cwd=cwd, env=grading_env(), capture_output=True, text=True,
                          timeout=timeout)
    sys.stdout.write(proc.stdout[-20000:])
    sys.stdout.write(proc.stderr[-20000:])
    sys.stdout.flush()
    return proc


def prepare_course(course_src: Path, work: Path, assignment: str, nb_path: Path, metadata: dict, cfg: dict) -> Path:
    """A scratch course with the assignment generated and the submission in submitted/."""
    root = work / "course"
    (root / "source" / assignment).mkdir(parents=True)
    shutil.copy(course_src / "nbgrader_config.py", root / "nbgrader_config.py")
    shutil.copy(course_src / "source" / assignment / f"{assignment}.ipynb", root / "source" / assignment)
    due = _parse_time(((metadata or {}).get("assignment") or {}).get("due_date"))
    created = _parse_time((metadata or {}).get("created_at"))
    if cfg.get("late_penalty") and due:
        due_utc = due.astimezone(timezone.utc).replace(tzinfo=None)
        proc = _run(["-m", "nbgrader", "db", "assignment", "add", assignment,
                     f"--duedate={due_utc.isoformat()} UTC"], root)
        if proc.returncode != 0:
            raise RuntimeError("could not set the due date in the scratch gradebook")
    proc = _run(["-m", "nbgrader", "generate_assignment", assignment, "--force"], root)
    if proc.returncode != 0:
        raise RuntimeError("nbgrader generate_assignment failed on the bundled source notebook")
    sub = root / "submitted" / STUDENT_ID / assignment
    sub.mkdir(parents=True)
    shutil.copy(nb_path, sub / f"{assignment}.ipynb")
    if cfg.get("late_penalty") and created:
        stamp = created.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f UTC")
        (sub / "timestamp.txt").write_text(stamp)
    return root


def hidden_test_names(source_nb: Path) -> set[str]:
    import nbformat

    from autograder.reports.feedback import split_hidden
    from autograder.notebook import is_test_cell

    nb = nbformat.read(str(source_nb), as_version=4)
    return {c.metadata.nbgrader.get("grade_id") for c in nb.cells if is_test_cell(c) and split_hidden(c.source)[1]}


def gradescope_results(result, cfg: dict, hidden: set[str], elapsed: float) -> dict:
    """Gradescope's results.json from one student's merged result (``autograder.results.StudentResult``)."""
    tv = cfg.get("test_visibility", "after_due_date")
    tests, held_back = [], []
    for i, t in enumerate(result.tests, 1):
        message = t.message if not t.passed else ""
        if tv == "visible" and t.name in hidden and message:
            held_back.append(f"{t.name}: {message}")
            message = "A check failed; its message is shown after the due date."
        tests.append({"name": t.name, "number": str(i), "score": round(t.score, 4),
                      "max_score": round(t.max_score, 4), "status": "passed" if t.passed else "failed",
                      "output": message, "visibility": tv})
    if held_back:
        tests.append({"name": "Messages of the failing checks", "number": str(len(tests) + 1), "score": 0.0,
                      "max_score": 0.0, "status": "failed", "output": "\n".join(held_back),
                      "visibility": "after_due_date"})
    lines = [f"Score: {result.score:g} / {result.max_score:g}"]
    if result.late_penalty:
        lines.append(f"Late penalty: -{result.late_penalty:g} ({result.raw_score:g} earned, submitted "
                     f"{result.seconds_late / 3600:.1f} h after the due date).")
    if result.status != Status.GRADED:
        text = STATUS_TEXT.get(result.status, f"Status: {result.status}.")
        if result.reason and result.status != Status.ERROR:
            text += f" ({result.reason})"
        lines.append(text)
    if tv in ("after_due_date", "after_published", "hidden"):
        lines.append({"after_due_date": "Per-test results and messages are shown after the due date.",
                      "after_published": "Per-test results and messages are shown when grades are published.",
                      "hidden": "Per-test results are not shown."}[tv])
    return {
        "score": round(result.score, 4),
        "execution_time": round(elapsed, 3),
        "output": "\n".join(lines),
        "visibility": cfg.get("visibility", "visible"),
        "stdout_visibility": cfg.get("stdout_visibility", "hidden"),
        "tests": tests,
        "extra_data": {"status": str(result.status), "reason": result.reason, "raw_score": result.raw_score,
                       "late_penalty": result.late_penalty, "max_score": result.max_score},
    }


def run(paths: Paths | None = None) -> dict:
    """Grade the submission; always writes results.json and returns it."""
    paths = paths or Paths()
    t0 = time.monotonic()
    cfg = {}
    try:
        cfg = json.loads((paths.source / CONFIG_NAME).read_text())
        assignment = cfg["assignment"]
        course_src = paths.source / "course"
        metadata = {}
        if paths.metadata.is_file():
            try:
                metadata = json.loads(paths.metadata.read_text())
            except ValueError:
                metadata = {}
        nb_path = find_notebook(paths.submission, assignment)
        work = Path(paths.work) if paths.work else Path(tempfile.mkdtemp(prefix="gradescope-"))
        work.mkdir(parents=True, exist_ok=True)
        root = prepare_course(course_src, work, assignment, nb_path, metadata, cfg)
        budget = float(cfg.get("notebook_budget", DEFAULT_BUDGET))
        proc = _run(["-m", "autograder", "grade", assignment, "--student", STUDENT_ID, "--workers", "1",
                     "--force", "--no-progress", "--timeout-notebook", str(budget)], root, timeout=budget + 120)
        if proc.returncode != 0:
            raise RuntimeError(f"`python -m autograder grade` exited with code {proc.returncode}")
        from autograder.results import load_results

        results = [r for r in load_results(root, assignment) if r.student == STUDENT_ID]
        if not results or not results[0].tests:
            raise RuntimeError("the grade run produced no result for the submission")
        data = gradescope_results(results[0], cfg, hidden_test_names(course_src / "source" / assignment /
                                                                      f"{assignment}.ipynb"),
                                  time.monotonic() - t0)
    except UserError as e:
        data = crash_results(f"Score: 0\n{e}", cfg, time.monotonic() - t0)
    except BaseException as e:  # noqa: BLE001 - whatever happens, Gradescope gets a results.json
        traceback.print_exc(file=sys.stdout)
        data = crash_results("Score: 0\nThe autograder could not grade this submission "
                             f"({type(e).__name__}). Your submission was received; please tell the course staff.",
                             cfg, time.monotonic() - t0)
    write_results(paths, data)
    print(f"results.json: score {data['score']}", flush=True)
    return data


# =========================================================================== CLI

if __name__ == "__main__":  # ``run`` inside Gradescope (run_autograder); anything else is the CLI command
    if sys.argv[1:2] == ["run"]:
        run()
        sys.exit(0)
    from autograder.cli import main

    sys.exit(main(["gradescope", *sys.argv[1:]]))
