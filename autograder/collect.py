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
"""

from __future__ import annotations

import csv
import re
import stat
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

from nbgrader.plugins.zipcollect import FileNameCollectorPlugin
from traitlets import Unicode

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


@dataclass
class CollectReport:
    lines: list = field(default_factory=list)
    collected: dict = field(default_factory=dict)   # student -> destination path
    fatal: bool = False

    def add(self, kind: str, what: str, why: str) -> None:
        self.lines.append(f"{kind:<10} {what}: {why}")

    @property
    def ok(self) -> bool:
        return not self.fatal

    def summary(self) -> str:
        skipped = sum(1 for line in self.lines if not line.startswith(("collected", "replaced")))
        return f"{len(self.collected)} submission(s) collected, {skipped} item(s) skipped or reported"


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
                sid, late = info_name["student_id"], info_name["late"]
            elif len(parts) >= 2:
                sid, late = parts[0], False
            else:
                report.add("ignored", name, "file name has no student id (expected name_<id>_<submission>_file.ipynb)")
                continue
            cands.append(Candidate(sid, bytes(data), _zip_when(info), name, late))
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
    for sid, group in sorted(by_student.items()):
        group.sort(key=lambda c: (c.when or datetime.min.replace(tzinfo=timezone.utc), c.origin))
        chosen = group[-1]
        if len(group) > 1:
            others = ", ".join(c.origin for c in group[:-1])
            report.add("duplicate", sid, f"{len(group)} submissions; kept the latest {chosen.origin}, ignored {others}")
        dest = (base / sid / assignment).resolve()
        if not dest.is_relative_to(base):
            report.add("unsafe", sid, "destination outside submitted/; skipped")
            continue
        target = dest / f"{assignment}.ipynb"
        existed = target.exists()
        if not dry_run:
            dest.mkdir(parents=True, exist_ok=True)
            target.write_bytes(chosen.data)
            ts = dest / "timestamp.txt"
            if chosen.when is not None:
                ts.write_text(chosen.when.strftime("%Y-%m-%d %H:%M:%S.%f %Z"))
            elif ts.exists():
                ts.unlink()
        note = f"-> submitted/{sid}/{assignment}/{assignment}.ipynb"
        if chosen.when is not None:
            note += f" (submitted {chosen.when:%Y-%m-%d %H:%M} UTC{', marked late by the LMS' if chosen.late else ''})"
        report.add("replaced" if existed else "collected", chosen.origin, note)
        report.collected[sid] = target
    return report
