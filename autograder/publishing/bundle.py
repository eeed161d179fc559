"""Student bundles: one zip per assignment for an LMS upload or Colab.

    python -m autograder bundle [ASSIGNMENT ...] [--out dist]

A bundle holds the release notebook, the ``course_utils`` package as plain
source (the notebook's setup cell finds it next to the notebook folder, so no
install of the course itself is needed), ``requirements.txt`` and
``environment.yml`` for the third-party packages, and a short README.

Before a bundle is written it is scanned for every solution and hidden-test
line of the instructor notebook; a hit refuses the bundle.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import nbformat

from ..notebook import DELIMITERS, Delimiters

STUDENT_REQUIREMENTS = [
    "torch>=2.2",
    "numpy>=1.26",
    "matplotlib>=3.8",
    "scikit-learn>=1.4",
    "ipywidgets>=8.1,<9",
    "jupyterlab_widgets>=3.0,<4",
    "ipyevents>=2.0.2,<3",
    "ipykernel>=6.29",
    "tqdm>=4.66",
]

STUDENT_README = """\
# {assignment}: Regularization + Optimization

## Jupyter on your machine
```bash
python -m venv .venv && . .venv/bin/activate   # Python 3.11
pip install -r requirements.txt jupyterlab
jupyter lab {assignment}/{assignment}.ipynb
```
(conda: `conda env create -f environment.yml && conda activate regopt-student`.)

## Colab
Upload this zip to the Colab file browser, then in a first cell run
```
!unzip -o -q {zipname} && pip install -q -r requirements.txt
%cd {assignment}
```
and open `{assignment}/{assignment}.ipynb` (File > Upload notebook) or keep
working in the uploaded copy. The notebook's setup cell finds `course_utils`
in the folder above the notebook.

## Submitting
Keep the file name `{assignment}.ipynb`. Run the whole notebook
(Kernel > Restart & Run All) before you submit, and do not delete or edit the
locked test cells: they are restored from the instructor's copy when grading.
"""

# lines too generic to prove a leak (they also occur in stubs and helpers)
_MIN_FRAGMENT = 16
_COMPUTES = re.compile(r"[=+\-*/@\[]")


class BundleLeak(RuntimeError):
    pass


def _lines(text: str) -> list[str]:
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")]


def solution_fragments(source_nb, delimiters: Delimiters = DELIMITERS) -> set[str]:
    """Distinctive pieces of every solution and hidden-test region.

    Two kinds: a single line that computes something (has an operator, and is
    long enough not to be an idiom), and every pair of consecutive lines. A
    piece that also stands outside the regions (an import in the setup cell, a
    formula spelled out in a TODO comment) is public and proves nothing.
    """
    public = "\n".join("\n".join(_lines(delimiters.outside(cell.source))) for cell in source_nb.cells)
    fragments = set()
    for cell in source_nb.cells:
        for kind, lines in delimiters.regions(cell.source):
            body = _lines("\n".join(lines))
            # single lines only from solutions: hidden tests are mostly generic checks
            for line in (body if kind == "solution" else []):
                if len(line) >= _MIN_FRAGMENT and _COMPUTES.search(line) and line not in public:
                    fragments.add(line)
            for a, b in zip(body, body[1:]):
                pair = f"{a}\n{b}"
                if len(pair) >= 2 * _MIN_FRAGMENT and pair not in public:
                    fragments.add(pair)
    return fragments


def find_leaks(files: dict[str, bytes], fragments: set[str], delimiters: Delimiters = DELIMITERS) -> list[str]:
    """``"<file>: <fragment>"`` for every fragment found in any file."""
    hits = []
    for name, data in files.items():
        raw = data.decode("utf-8", errors="replace")
        if delimiters.opens(raw):
            hits.append(f"{name}: solution/hidden-test marker")
        if name.endswith(".ipynb"):
            import json
            try:
                raw = "\n".join("".join(c.get("source", "")) for c in json.loads(raw).get("cells", []))
            except ValueError:
                pass
        text = "\n".join(_lines(raw))
        for frag in fragments:
            if frag in text:
                hits.append(f"{name}: {frag.splitlines()[0][:60]}")
    return hits


def bundle_files(course_root: Path, assignment: str) -> dict[str, bytes]:
    course_root = Path(course_root)
    release = course_root / "release" / assignment
    if not (release / f"{assignment}.ipynb").is_file():
        raise FileNotFoundError(
            f"release/{assignment}/{assignment}.ipynb not found: run `python -m autograder release {assignment}` first")
    zipname = f"regopt-{assignment}.zip"
    files: dict[str, bytes] = {}
    for path in sorted(release.rglob("*")):
        if path.is_file() and ".ipynb_checkpoints" not in path.parts:
            files[f"{assignment}/{path.relative_to(release).as_posix()}"] = path.read_bytes()
    for path in sorted((course_root / "course_utils").rglob("*.py")):
        files[f"course_utils/{path.relative_to(course_root / 'course_utils').as_posix()}"] = path.read_bytes()
    files["requirements.txt"] = ("\n".join(STUDENT_REQUIREMENTS) + "\n").encode()
    env = ["name: regopt-student", "channels:", "  - conda-forge", "dependencies:", "  - python=3.11", "  - pip",
           "  - pip:"] + [f"      - {r}" for r in STUDENT_REQUIREMENTS + ["jupyterlab>=4.0,<5"]]
    files["environment.yml"] = ("\n".join(env) + "\n").encode()
    files["README.md"] = STUDENT_README.format(assignment=assignment, zipname=zipname).encode()
    return files


def build_bundle(course_root: Path, assignment: str, out_dir: Path) -> Path:
    """Write ``out_dir/regopt-<assignment>.zip``; raise ``BundleLeak`` if it would carry a solution."""
    course_root = Path(course_root)
    files = bundle_files(course_root, assignment)
    src = course_root / "source" / assignment / f"{assignment}.ipynb"
    if src.is_file():
        delimiters = Delimiters.for_course(course_root)
        leaks = find_leaks(files, solution_fragments(nbformat.read(str(src), as_version=4), delimiters), delimiters)
        if leaks:
            raise BundleLeak(
                f"refusing to bundle {assignment}: solution or hidden-test text found in "
                + "; ".join(leaks[:5]) + " — regenerate the release (`python -m autograder release`) "
                "and keep solutions out of course_utils/")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"regopt-{assignment}.zip"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))  # reproducible zips
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    target.write_bytes(buf.getvalue())
    return target


def check_bundle(zip_path: Path, source_nb) -> list[str]:
    """Leaks in an existing bundle (for tests and for checking a zip before upload)."""
    with zipfile.ZipFile(zip_path) as zf:
        files = {n: zf.read(n) for n in zf.namelist() if not n.endswith("/")}
    return find_leaks(files, solution_fragments(source_nb))
