"""Collect an LMS download into nbgrader's ``submitted/<student>/<assignment>/``.

Inputs: a Canvas-style zip (``name_[late_]<studentid>_<submissionid>_<file>.ipynb``,
also ``lastname_firstname_<id>_...``) or a folder of ``<student>/<notebook>.ipynb``
(or ``<student>/<assignment>/<notebook>.ipynb``). File names are parsed with a
subclass of nbgrader's ``FileNameCollectorPlugin`` (the zip_collect plugin).

Safety: zip members are never extracted by their own names; each accepted
notebook is written to a path built from a validated student id, inside the
course folder, so zip-slip names cannot escape. Zip bombs are refused by a limit
on the total uncompressed size and on each member's compression ratio, checked
on the declared sizes and again on the bytes actually read. Every decision is
reported in one line.

Which notebook is the submission: a student's download may hold the assignment
plus a scratch notebook, an old copy, or a resubmission. Each candidate is
judged by content first (how many of the assignment's nbgrader grade ids it
carries), then by name (the release notebook's file name), then by time; a
tie is never broken silently. Notebooks not chosen are kept aside in
``collected/<assignment>/<student>/`` and listed; when the choice is not clear
(two equally good notebooks submitted at the same time, or nothing that looks
like the assignment) the student is marked ``needs_review``.

``collected/<assignment>.json`` records, per student, what was chosen and why,
the name the LMS gave, its late flag and the submission time, so ``grade`` and
the reports can show them.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import json
import re
import stat
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

from nbgrader.plugins.zipcollect import FileNameCollectorPlugin
from traitlets import Unicode

from .course import CourseError, read_ledger

STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
MAX_NOTEBOOK_BYTES = 50 * 1024 * 1024
CHUNK = 1 << 20


class CanvasCollectorPlugin(FileNameCollectorPlugin):
    """Canvas names: ``name_[late_]<id>_<submission id>_<file>`` (name may hold underscores)."""

    named_regexp = Unicode(
        r"^(?P<name>.+?)_(?:(?P<late>late|LATE)_)?(?P<student_id>\d+)_(?:(?P<submission>\d+)_)?(?P<file_id>[^/]+)$"
    ).tag(config=True)

    def collect(self, submitted_file):
        info = super().collect(PurePosixPath(submitted_file).name)
        if info is None:
            return None
        m = re.match(self.named_regexp, PurePosixPath(submitted_file).name)
        info["late"] = bool(m and m.group("late"))
        info["name"] = m.group("name") if m else None
        return info


@dataclass
class Candidate:
    student: str
    data: bytes
    when: datetime | None
    origin: str
    late: bool = False
    name: str | None = None      # the student's name as the LMS wrote it in the file name
    content: float = 0.0         # share of the assignment's grade ids the notebook carries
    named: bool = False          # its file name is the release notebook's

    def judge(self, assignment: "AssignmentFiles") -> None:
        self.content = assignment.content_match(self.data)
        self.named = assignment.name_match(self.origin)


class CollectError(CourseError):
    """The course folder or the assignment is wrong; the message says how to fix it."""


@dataclass
class AssignmentFiles:
    """What the assignment's notebooks look like: their file names and nbgrader grade ids."""

    name: str
    notebooks: set
    grade_ids: set

    @classmethod
    def find(cls, root: Path, assignment: str) -> "AssignmentFiles":
        if not (root / "nbgrader_config.py").exists():
            raise CollectError(f"{root} is not a course folder (no nbgrader_config.py); run from the course folder "
                               "or pass --course-dir")
        for folder in (root / "release" / assignment, root / "source" / assignment):
            nbs = sorted(folder.glob("*.ipynb")) if folder.is_dir() else []
            if nbs:
                ids = set()
                for nb in nbs:
                    ids |= _grade_ids(nb.read_bytes())
                return cls(assignment, {nb.name for nb in nbs}, ids)
        known = sorted({p.name for sub in ("source", "release") if (root / sub).is_dir()
                        for p in (root / sub).iterdir() if p.is_dir() and any(p.glob("*.ipynb"))})
        close = difflib.get_close_matches(assignment, known, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else (f"; the course has: {', '.join(known)}" if known else "")
        raise CollectError(f"no assignment {assignment!r} in {root}: neither release/{assignment}/ nor "
                           f"source/{assignment}/ holds a notebook{hint}")

    def content_match(self, data: bytes) -> float:
        if not self.grade_ids:
            return 0.0
        return len(_grade_ids(data) & self.grade_ids) / len(self.grade_ids)

    def name_match(self, origin: str) -> bool:
        base = PurePosixPath(origin.replace("\\", "/")).name.lower()
        stems = {PurePosixPath(n).stem.lower() for n in self.notebooks} | {self.name.lower()}
        # LMS names: <name>_<id>_<sub>_<file>.ipynb, resubmissions <file>-1.ipynb
        stem = re.sub(r"(-\d+)?\.ipynb$", "", base)
        return any(stem == s or stem.endswith("_" + s) for s in stems)


def _grade_ids(data: bytes) -> set:
    try:
        nb = json.loads(data)
        cells = nb.get("cells", []) if isinstance(nb, dict) else []
        if not cells and isinstance(nb, dict):  # nbformat 3
            cells = [c for ws in nb.get("worksheets", []) for c in ws.get("cells", [])]
        return {c["metadata"]["nbgrader"]["grade_id"] for c in cells
                if isinstance(c, dict) and isinstance(c.get("metadata", {}).get("nbgrader"), dict)
                and c["metadata"]["nbgrader"].get("grade_id")}
    except (ValueError, TypeError, KeyError, AttributeError):
        return set()


@dataclass
class CollectReport:
    lines: list = field(default_factory=list)
    collected: dict = field(default_factory=dict)   # student -> destination path
    needs_review: dict = field(default_factory=dict)  # student -> why a TA should look
    fatal: bool = False

    def add(self, kind: str, what: str, why: str) -> None:
        self.lines.append(f"{kind:<10} {what}: {why}")

    @property
    def ok(self) -> bool:
        return not self.fatal

    def summary(self) -> str:
        skipped = sum(1 for line in self.lines if not line.startswith(("collected", "replaced")))
        text = f"{len(self.collected)} submission(s) collected, {skipped} item(s) skipped or reported"
        if self.needs_review:
            text += (f"; {len(self.needs_review)} need review (grade marks them needs_review): "
                     + ", ".join(sorted(self.needs_review)))
        return text


def load_ledger(course_root, assignment: str) -> dict:
    """``collected/<assignment>.json``: per student, what collect chose and why, the LMS name, late flag and time."""
    return read_ledger(course_root, assignment)


def load_roster(path) -> set:
    ids = set()
    with open(path, newline="") as fh:
        for row in csv.reader(fh):
            if row and row[0].strip() and not row[0].strip().lower() in {"id", "student_id", "student", "sis id"}:
                ids.add(row[0].strip())
    return ids


def _zip_when(info: zipfile.ZipInfo) -> datetime | None:
    try:
        return datetime(*info.date_time).astimezone(timezone.utc)  # zip times are local times
    except (ValueError, OverflowError):
        return None


def _unsafe(name: str) -> str | None:
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return "absolute path"
    parts = re.split(r"[\\/]+", name)
    if ".." in parts:
        return "path escapes the folder (zip-slip)"
    return None


def _from_zip(path: Path, plugin, report, max_total: int, max_ratio: float) -> list:
    cands = []
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        report.add("error", str(path), f"not a readable zip file ({e})")
        report.fatal = True
        return cands
    with zf:
        infos = zf.infolist()
        declared = sum(i.file_size for i in infos)
        if declared > max_total:
            report.add("refused", path.name, f"zip bomb suspected: {declared / 1e6:.0f} MB uncompressed "
                       f"exceeds the {max_total / 1e6:.0f} MB limit (raise --max-total-mb if genuine)")
            report.fatal = True
            return cands
        total = 0
        for info in infos:
            name = info.filename
            if info.is_dir():
                continue
            why = _unsafe(name)
            if why:
                report.add("unsafe", name, f"{why}; skipped")
                continue
            if stat.S_ISLNK(info.external_attr >> 16):
                report.add("unsafe", name, "symbolic link; skipped")
                continue
            base = PurePosixPath(name.replace("\\", "/")).name
            if base.startswith(".") or "__MACOSX" in name:
                continue
            if not base.lower().endswith(".ipynb"):
                report.add("ignored", name, "not a notebook")
                continue
            if info.file_size > MAX_NOTEBOOK_BYTES:
                report.add("refused", name, f"{info.file_size / 1e6:.0f} MB is too large for a notebook")
                continue
            if info.compress_size and info.file_size / info.compress_size > max_ratio and info.file_size > CHUNK:
                report.add("refused", name, f"zip bomb suspected (compression ratio "
                           f"{info.file_size / info.compress_size:.0f}:1 > {max_ratio:g}:1)")
                continue
            data = bytearray()
            try:
                with zf.open(info) as fh:
                    while chunk := fh.read(CHUNK):
                        data += chunk
                        if len(data) > MAX_NOTEBOOK_BYTES or total + len(data) > max_total:
                            break
            except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError) as e:
                report.add("error", name, f"could not be read ({e}); skipped")
                continue
            if len(data) > MAX_NOTEBOOK_BYTES or total + len(data) > max_total:
                report.add("refused", name, "zip bomb suspected: more data than its header declares; stopped reading")
                report.fatal = True
                break
            total += len(data)
            info_name = plugin.collect(base)
            parts = PurePosixPath(name.replace("\\", "/")).parts
            if info_name is not None:
                sid, late, who = info_name["student_id"], info_name["late"], info_name.get("name")
            elif len(parts) >= 2:
                sid, late, who = parts[0], False, None
            else:
                report.add("ignored", name, "file name has no student id (expected name_<id>_<submission>_file.ipynb)")
                continue
            cands.append(Candidate(sid, bytes(data), _zip_when(info), name, late, who))
    return cands


def _from_folder(path: Path, report) -> list:
    cands = []
    for f in sorted(path.rglob("*")):
        rel = f.relative_to(path)
        if f.is_dir() or any(p.startswith(".") for p in rel.parts) or "__MACOSX" in rel.parts:
            continue
        if f.is_symlink():
            report.add("unsafe", str(rel), "symbolic link; skipped")
            continue
        if f.suffix.lower() != ".ipynb":
            report.add("ignored", str(rel), "not a notebook")
            continue
        if len(rel.parts) < 2:
            report.add("ignored", str(rel), "not inside a <student>/ folder")
            continue
        if f.stat().st_size > MAX_NOTEBOOK_BYTES:
            report.add("refused", str(rel), "too large for a notebook")
            continue
        when = datetime.fromtimestamp(f.stat().st_mtime, tz=timezone.utc)
        cands.append(Candidate(rel.parts[0], f.read_bytes(), when, str(rel)))
    return cands


def collect(course_root, assignment: str, path, roster=None, max_total_mb: float = 1024.0,
            max_ratio: float = 200.0, dry_run: bool = False) -> CollectReport:
    root = Path(course_root).resolve()
    path = Path(path)
    report = CollectReport()
    if not STUDENT_ID.match(assignment):
        report.add("error", assignment, "invalid assignment name")
        report.fatal = True
        return report
    try:
        files = AssignmentFiles.find(root, assignment)
    except CollectError as e:
        report.add("error", assignment, str(e))
        report.fatal = True
        return report
    if not path.exists():
        report.add("error", str(path), "no such file or folder")
        report.fatal = True
        return report
    plugin = CanvasCollectorPlugin()
    if path.is_dir():
        cands = _from_folder(path, report)
    else:
        cands = _from_zip(path, plugin, report, int(max_total_mb * 1e6), max_ratio)
    known = load_roster(roster) if roster else None

    by_student: dict[str, list] = {}
    for c in cands:
        if not STUDENT_ID.match(c.student):
            report.add("ignored", c.origin, f"student id {c.student!r} is not a valid folder name")
            continue
        if known is not None and c.student not in known:
            report.add("unknown", c.origin, f"student {c.student} is not on the roster; skipped")
            continue
        by_student.setdefault(c.student, []).append(c)

    base = (root / "submitted").resolve()
    ledger_path = root / "collected" / f"{assignment}.json"
    try:
        ledger = json.loads(ledger_path.read_text()) if ledger_path.exists() else {}
    except (OSError, ValueError):
        ledger = {}
    for sid, group in sorted(by_student.items()):
        for c in group:
            c.judge(files)
        chosen, how, review = choose(group)
        others = [c for c in group if c is not chosen]
        dest = (base / sid / assignment).resolve()
        if not dest.is_relative_to(base):
            report.add("unsafe", sid, "destination outside submitted/; skipped")
            continue
        target = dest / f"{assignment}.ipynb"
        existed = target.exists()
        aside = []
        if others:
            keep = (root / "collected" / assignment / sid).resolve()
            for c in others:
                fname = _aside_name(c)
                aside.append(f"collected/{assignment}/{sid}/{fname}")
                if not dry_run and keep.is_relative_to(root):
                    keep.mkdir(parents=True, exist_ok=True)
                    (keep / fname).write_bytes(c.data)
            report.add("aside", sid, f"{len(others)} other notebook(s) kept aside, not graded: "
                       + ", ".join(c.origin for c in others) + f" -> collected/{assignment}/{sid}/")
        if not dry_run:
            dest.mkdir(parents=True, exist_ok=True)
            target.write_bytes(chosen.data)
            ts = dest / "timestamp.txt"
            if chosen.when is not None:
                ts.write_text(chosen.when.strftime("%Y-%m-%d %H:%M:%S.%f %Z"))
            elif ts.exists():
                ts.unlink()
        note = f"-> submitted/{sid}/{assignment}/{assignment}.ipynb ({how}"
        if chosen.when is not None:
            note += f"; submitted {chosen.when:%Y-%m-%d %H:%M} UTC{', marked late by the LMS' if chosen.late else ''}"
        note += ")"
        report.add("replaced" if existed else "collected", chosen.origin, note)
        if review:
            report.add("review", sid, review)
            report.needs_review[sid] = review
        report.collected[sid] = target
        ledger[sid] = {"origin": chosen.origin, "chosen_by": how, "needs_review": review,
                       "lms_name": chosen.name, "lms_late": chosen.late,
                       "submitted_at": chosen.when.isoformat() if chosen.when else None,
                       "set_aside": aside}
    if not dry_run and report.collected:
        ledger_path.parent.mkdir(parents=True, exist_ok=True)
        ledger_path.write_text(json.dumps(ledger, indent=1, sort_keys=True) + "\n")
    return report


def _aside_name(c: Candidate) -> str:
    base = re.sub(r"[^A-Za-z0-9._-]", "_", PurePosixPath(c.origin.replace("\\", "/")).name)[:100]
    return f"{hashlib.sha256(c.data).hexdigest()[:8]}_{base}"


#: a notebook carrying at least this share of the assignment's grade ids is the assignment
CONTENT_MATCH = 0.5


def choose(group: list) -> tuple:
    """``(candidate, how it was chosen, why a TA should review or None)`` for one student's notebooks.

    Content beats name beats time; among equals the latest wins; equals submitted
    at the same time with different contents are a tie that a TA resolves.
    """
    def when(c):
        return c.when or datetime.min.replace(tzinfo=timezone.utc)

    by_content = [c for c in group if c.content >= CONTENT_MATCH]
    by_name = [c for c in group if c.named]
    if by_content:
        pool, how = by_content, "the assignment's cells"
    elif by_name:
        pool, how = by_name, "its file name (nbgrader cells missing)"
    else:
        pool, how = group, "the only notebook" if len(group) == 1 else "the latest notebook"
    pool = sorted(pool, key=lambda c: (when(c), c.content, c.named))
    chosen = pool[-1]
    review = None
    ties = [c for c in pool[:-1] if when(c) == when(chosen) and (c.content, c.named) == (chosen.content, chosen.named)
            and c.data != chosen.data]
    if ties:
        review = (f"{len(ties) + 1} different notebooks look equally like the assignment and were submitted at the "
                  f"same time ({chosen.origin}, {', '.join(c.origin for c in ties)}); graded {chosen.origin}, "
                  "check the ones kept aside")
    elif not by_content and not by_name:
        review = (f"no submitted notebook looks like the assignment (none carries its nbgrader cells or its "
                  f"file name); graded {chosen.origin}")
    elif len(pool) > 1 and how.startswith("the assignment"):
        how += f", the latest of {len(pool)}"
    return chosen, how, review
