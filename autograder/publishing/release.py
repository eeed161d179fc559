"""Regenerate ``release/`` from ``source/`` and check that it is in sync and clean.

``generate_release`` runs nbgrader's ``generate_assignment`` with a scratch
gradebook (the course gradebook is left alone; ``grade`` builds the rows it
needs from ``source/``). ``check_release`` regenerates into a scratch folder,
compares files, cell types, sources and metadata with the committed
``release/``, and scans ``release/`` for solution and hidden-test markers and
for lines that only exist inside solution or hidden-test regions.

The full course gates (solution full marks, blank zero, execution) live in
``autograder.publishing.gates``; ``python -m autograder publish`` runs them.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

from ..course import discover_assignments, ensure_tool_path
from ..notebook import DELIMITERS, Delimiters


class ReleaseError(Exception):
    pass


class ReleaseEdited(ReleaseError):
    """A file in ``release/`` changed since the last generation wrote it; regenerating would lose that edit."""


#: ``release/.generated.json``: each release file's digest as the last generation wrote it (commit it with
#: release/). A file whose digest differs was edited by someone, e.g. a student working in release/.
MANIFEST = ".generated.json"


def _digests(folder: Path) -> dict:
    import hashlib

    return {rel: hashlib.sha256((folder / rel).read_bytes()).hexdigest() for rel in _files(folder)} \
        if folder.is_dir() else {}


def _manifest(root: Path) -> dict:
    import json

    try:
        data = json.loads((root / "release" / MANIFEST).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def record_release(root: Path, assignment: str) -> None:
    """Remember what ``release/<assignment>/`` holds now, as the generation that wrote it."""
    import json

    manifest = _manifest(root)
    manifest[assignment] = _digests(root / "release" / assignment)
    path = root / "release" / MANIFEST
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")


def guard_release(root: Path, assignment: str, force: bool = False, log=print) -> Path | None:
    """Refuse to overwrite ``release/<assignment>/`` files edited since the last generation (:class:`ReleaseEdited`).

    With ``force`` the edited files are copied to ``backups/release-<time>/<assignment>/`` first and that
    folder is returned. Without a record of the last generation (a release made before this check
    existed) there is nothing to compare with, and nothing is refused.
    """
    import time

    root = Path(root)
    known = _manifest(root).get(assignment)
    if known is None:
        return None
    folder = root / "release" / assignment
    edited = sorted(rel for rel, digest in _digests(folder).items() if known.get(rel) != digest)
    if not edited:
        return None
    if not force:
        raise ReleaseEdited(
            f"release/{assignment}/{edited[0]}" + (f" and {len(edited) - 1} other file(s)" if len(edited) > 1 else "")
            + " changed since the release was last generated: regenerating would overwrite that work. Students "
            "work in workspace/ (`make lab` copies the release there); move the work there, or pass --force to "
            "overwrite release/ (the edited files are first copied to backups/).")
    backup = root / "backups" / f"release-{time.strftime('%Y%m%d-%H%M%S')}" / assignment
    for rel in edited:
        (backup / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(folder / rel, backup / rel)
    log(f"release/{assignment}/: {len(edited)} edited file(s) backed up to {backup.relative_to(root)}/ before "
        "regenerating")
    return backup


def available(root: Path, assignments=None) -> tuple[list, list]:
    """(assignments with a source notebook, requested ones without); all of them, in syllabus order, by default."""
    wanted = list(assignments or discover_assignments(Path(root)))
    have = [a for a in wanted if (root / "source" / a / f"{a}.ipynb").exists()]
    return have, [a for a in wanted if a not in have]


def _nbgrader_generate(course_root: Path, assignment: str, db_dir: Path) -> None:
    ensure_tool_path()
    db = db_dir / f"gb-{assignment}.db"
    proc = subprocess.run(
        [sys.executable, "-m", "nbgrader", "generate_assignment", assignment, "--force",
         f"--CourseDirectory.root={course_root}", f"--CourseDirectory.db_url=sqlite:///{db}"],
        cwd=course_root, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-25:])
        raise ReleaseError(f"nbgrader generate_assignment {assignment} failed:\n{tail}")


def stage_assignment(root: Path, assignment: str, dest: Path, source_nb=None) -> Path:
    """Copy ``nbgrader_config.py`` and ``source/<assignment>/`` (or ``source_nb`` as its notebook) into
    the scratch course ``dest`` and run ``generate_assignment`` there; return ``dest/release/<assignment>``.

    The scratch course has its own gradebook (``dest/gb-<assignment>.db``); ``root`` is only read.
    """
    root, dest = Path(root).resolve(), Path(dest).resolve()
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(root / "nbgrader_config.py", dest / "nbgrader_config.py")
    src_dir = dest / "source" / assignment
    if src_dir.exists():
        shutil.rmtree(src_dir)
    shutil.copytree(root / "source" / assignment, src_dir,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    if source_nb is not None:
        nbformat.write(source_nb, str(src_dir / f"{assignment}.ipynb"))
    _nbgrader_generate(dest, assignment, dest)
    return dest / "release" / assignment


def generate_release(root, assignments=None, log=print, force: bool = False) -> list:
    """Regenerate ``release/<a>/`` for each assignment; refuses (:class:`ReleaseEdited`) to overwrite an
    edited release file unless ``force`` (then it is backed up first)."""
    root = Path(root).resolve()
    have, missing = available(root, assignments)
    for a in missing:
        log(f"skip {a}: no source/{a}/{a}.ipynb yet")
    for a in have:  # all refusals before any writing
        if not force:
            guard_release(root, a, log=log)
    with tempfile.TemporaryDirectory(prefix="autograder-release-") as tmp:
        for a in have:
            if force:
                guard_release(root, a, force=True, log=log)
            _nbgrader_generate(root, a, Path(tmp))
            record_release(root, a)
            log(f"release/{a}/ regenerated from source/{a}/")
    return have


def _files(folder: Path) -> list:
    return sorted(p.relative_to(folder).as_posix() for p in Path(folder).rglob("*")
                  if p.is_file() and ".ipynb_checkpoints" not in p.parts)


def secret_lines(source_nb, visible_text: str, delimiters: Delimiters = DELIMITERS) -> set:
    """Lines that exist only inside solution / hidden-test regions of the source."""
    secrets = set()
    for cell in source_nb.cells:
        for _, lines in delimiters.regions(cell.source):
            for line in lines:
                s = line.strip()
                if len(s) >= 20 and not s.startswith("#") and s not in visible_text:
                    secrets.add(s)
    return secrets


def check_release_dir(release_dir: Path, source_nb=None, delimiters: Delimiters = DELIMITERS) -> list:
    """Problems of a release folder: markers, outputs, and lines that exist only in hidden regions.

    The one leak check, run by ``release --check`` (``make check``) and by the ``leaks`` gate of ``publish``.
    """
    release_dir = Path(release_dir)
    problems = []
    texts = {}
    for name in _files(release_dir):
        texts[name] = (release_dir / name).read_bytes().decode("utf-8", errors="replace")
        found = [m for m in delimiters.markers if m in texts[name]]
        if found:
            problems.append(f"release file {name} holds a solution/hidden-test marker ({found[0]!r})")
        if name.endswith(".ipynb"):
            try:
                nb = nbformat.reads(texts[name], as_version=4)
            except Exception:  # noqa: BLE001 - reported as such, the other checks go on
                problems.append(f"release notebook {name} cannot be read")
                continue
            cells = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.outputs]
            if cells:
                problems.append(f"release notebook {name} has outputs in cells {cells}")
            # scan the decoded sources too: JSON escapes quotes and backslashes of the raw file
            texts[name] += "\n" + "\n".join(c.source for c in nb.cells)
    if source_nb is not None:
        visible = "\n".join(delimiters.outside(c.source) for c in source_nb.cells)
        all_text = "\n".join(texts.values())
        leaked = sorted(s for s in secret_lines(source_nb, visible, delimiters) if s in all_text)
        if leaked:
            problems.append(f"{len(leaked)} line(s) that exist only inside solution/hidden-test regions appear in "
                            f"the release, e.g. {leaked[0][:80]!r}")
    return problems


def release_differences(fresh_dir: Path, committed_dir: Path) -> list[str]:
    """How a committed release folder differs from a fresh one (empty: in sync); each line starts with "/" or ":".

    The one sync check, run by ``release --check`` (``make check``) and by the ``sync`` gate of ``publish``.
    """
    problems = []
    if _files(fresh_dir) != _files(committed_dir):
        problems.append(f": files differ: generated {_files(fresh_dir)}, committed {_files(committed_dir)}")
    for name in _files(fresh_dir):
        if not name.endswith(".ipynb") or not (committed_dir / name).exists():
            continue
        fresh = nbformat.read(str(fresh_dir / name), as_version=4)
        committed = nbformat.read(str(committed_dir / name), as_version=4)
        if len(fresh.cells) != len(committed.cells):
            problems.append(f"/{name}: {len(committed.cells)} cells committed, {len(fresh.cells)} generated")
            continue
        for i, (x, y) in enumerate(zip(fresh.cells, committed.cells)):
            if x.cell_type != y.cell_type or x.source != y.source or x.metadata != y.metadata:
                problems.append(f"/{name}: cell {i} differs from a fresh generate_assignment")
                break
    return problems


def check_release(root, assignments=None) -> list:
    """Problems found (empty list: release/ is in sync and clean)."""
    root = Path(root).resolve()
    have, missing = available(root, assignments)
    delimiters = Delimiters.for_course(root)
    problems = []
    if assignments:
        problems += [f"{a}: no source/{a}/{a}.ipynb" for a in missing]
    for a in have:
        committed_dir = root / "release" / a
        if not committed_dir.is_dir():
            problems.append(f"{a}: release/{a}/ is missing")
            continue
        with tempfile.TemporaryDirectory(prefix="autograder-check-") as tmp:
            try:
                fresh_dir = stage_assignment(root, a, Path(tmp))
            except ReleaseError as e:
                problems.append(f"{a}: {e}")
                continue
            problems += [f"{a}{p}" for p in release_differences(fresh_dir, committed_dir)]
        src = nbformat.read(str(root / "source" / a / f"{a}.ipynb"), as_version=4)
        problems += [f"{a}: {p}" for p in check_release_dir(committed_dir, src, delimiters)]
    return problems
