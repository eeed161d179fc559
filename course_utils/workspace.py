"""A student's own copy of the release, which regenerating ``release/`` never touches.

    python -m course_utils.workspace [--release release] [--workspace workspace]

``release/`` belongs to the instructor: ``make release``, ``make demo`` and
``make publish`` regenerate it from ``source/``. A student who edited a notebook
there would lose the work. ``make lab`` therefore runs this first and opens
JupyterLab on ``workspace/`` (git-ignored), where:

- an assignment the student does not have yet is copied from ``release/``;
- a notebook the student edited is never overwritten. When the release
  changed since it was copied (a fix from the instructor), the new version is
  written beside it as ``<name>.release-<date>.ipynb`` and a note says so, so
  the student can move their answers over; a copy the student never edited is
  simply replaced by the new release (nothing of theirs is in it);
- ``.workspace.json`` records the digest of each release file as copied, which
  is how a changed release is told apart from a student's own edits.

Nothing here deletes a file or overwrites one the student changed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

MANIFEST = ".workspace.json"
IGNORED = {".ipynb_checkpoints", "__pycache__"}


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class SyncReport:
    """What :func:`sync_workspace` did, one line per decision."""

    workspace: Path
    copied: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    refreshed: list[str] = field(default_factory=list)  # unedited copies replaced by a newer release
    updates: list[tuple[str, str]] = field(default_factory=list)  # (student's file, new release copy)

    def lines(self) -> list[str]:
        out = [f"new: {p}" for p in self.copied]
        out += [f"updated to the new release (you had not edited it): {p}" for p in self.refreshed]
        out += [f"the release of {mine} changed since you copied it; your notebook is kept as it is, "
                f"the new version is {new}" for mine, new in self.updates]
        if self.kept and not self.updates:
            out.append(f"kept your {len(self.kept)} file(s) as they are")
        return out


def _release_files(release: Path):
    for path in sorted(release.rglob("*")):
        rel = path.relative_to(release)
        # dotfiles are the instructor's bookkeeping (release/.generated.json), not course material
        if path.is_file() and not IGNORED & set(rel.parts) and not any(p.startswith(".") for p in rel.parts):
            yield rel, path


def sync_workspace(release: Path, workspace: Path, now: float | None = None) -> SyncReport:
    """Bring new release files into ``workspace`` without touching the student's files."""
    release, workspace = Path(release), Path(workspace)
    if not release.is_dir():
        raise FileNotFoundError(f"no release folder at {release}: run this from the course folder "
                                "(the one with release/), or pass --release")
    workspace.mkdir(parents=True, exist_ok=True)
    manifest_path = workspace / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    except (OSError, ValueError):
        manifest = {}  # a damaged manifest only costs an extra "new version" copy
    stamp = time.strftime("%Y%m%d-%H%M", time.localtime(now))
    report = SyncReport(workspace)
    for rel, src in _release_files(release):
        key = rel.as_posix()
        dest = workspace / rel
        digest = _digest(src)
        if not dest.exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest)
            manifest[key] = digest
            report.copied.append(key)
            continue
        recorded, mine = manifest.get(key, digest), _digest(dest)
        if recorded == digest or mine == digest:
            manifest[key] = digest
            report.kept.append(key)
            continue
        if mine == recorded:  # the student never edited it: taking the new release loses nothing
            shutil.copy2(src, dest)
            manifest[key] = digest
            report.refreshed.append(key)
            continue
        report.kept.append(key)
        new = dest.with_name(f"{dest.stem}.release-{stamp}{dest.suffix}")
        if not new.exists():
            shutil.copy2(src, new)
        report.updates.append((key, new.relative_to(workspace).as_posix()))
        manifest[key] = digest  # said once per release change, not at every launch
    manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils.workspace", description=__doc__.split("\n\n")[0])
    parser.add_argument("--release", default="release", help="the instructor's release folder (default release/)")
    parser.add_argument("--workspace", default="workspace", help="your own folder (default workspace/)")
    args = parser.parse_args(argv)
    try:
        report = sync_workspace(Path(args.release), Path(args.workspace))
    except FileNotFoundError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for line in report.lines():
        print(line)
    print(f"your notebooks are in {report.workspace}/ (release/ is regenerated by the instructor; do not work there)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
