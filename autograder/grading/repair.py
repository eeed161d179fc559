"""Repair mangled submissions before nbgrader sees them.

nbgrader aborts or misgrades on notebooks that students (or their tools) have
mangled: invalid JSON, nbformat 3, cells edited outside Jupyter, stripped
nbgrader metadata, duplicated grade ids (nbgrader #1083), deleted or re-typed
test cells. :func:`repair_notebook` fixes what can be fixed, using the
assignment's master cells from the gradebook, and says what it did; what cannot
be fixed raises :class:`UnreadableNotebook` with a student-facing reason.

Master cells (from :func:`autograder.grading.gradebook.master_cells`) are dicts, in
notebook order: ``name, kind ('test'|'answer'|'locked'|'task'), cell_type,
locked, source, checksum, points``.
"""

from __future__ import annotations

import difflib
import json
import re
import uuid

import nbformat

from ..notebook import DELIMITERS, Delimiters

MISSING_NOTE = "# This cell was missing from your submission; the grader put it back.\n"


class UnreadableNotebook(Exception):
    """The file cannot be turned into a notebook; the message is for the student."""


def _norm(src: str, delimiters: Delimiters = DELIMITERS) -> str:
    """A cell's source for matching: hidden tests out, trailing spaces and blank edges ignored."""
    return "\n".join(line.rstrip() for line in delimiters.strip_hidden(src).strip().splitlines())


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "".join(str(v) for v in value)
    return str(value)


def _fix_cells_json(raw: dict, notes: list) -> None:
    """Coerce JSON types that editors outside Jupyter get wrong."""
    cells = raw.get("cells")
    if not isinstance(cells, list):
        raise UnreadableNotebook("the notebook has no list of cells")
    had_ids = raw.pop("_had_ids", False)
    upgraded = raw.pop("_upgraded", False)  # conversion artefacts are not the student's doing
    fixed = 0
    kept = []
    for cell in cells:
        if not isinstance(cell, dict):
            fixed += 1
            continue
        bad = False
        ctype = cell.get("cell_type")
        if ctype not in ("code", "markdown", "raw"):
            cell["cell_type"] = ctype = "code" if "outputs" in cell else "markdown"
            bad = True
        src = cell.get("source")
        if not (isinstance(src, str) or (isinstance(src, list) and all(isinstance(s, str) for s in src))):
            bad = True
        cell["source"] = _text(src)
        if not isinstance(cell.get("metadata"), dict):
            cell["metadata"] = {}
            bad = True
        nbmeta = cell["metadata"].get("nbgrader")
        if nbmeta is not None and not isinstance(nbmeta, dict):
            del cell["metadata"]["nbgrader"]
            bad = True
        if ctype == "code":
            if not isinstance(cell.get("outputs"), list):
                cell["outputs"] = []
                bad = True
            ec = cell.get("execution_count", None)
            if not (ec is None or (isinstance(ec, int) and not isinstance(ec, bool))):
                bad = True
                ec = None
            cell["execution_count"] = ec
        else:
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
        cid = cell.get("id")
        if not isinstance(cid, str) or not re.fullmatch(r"[a-zA-Z0-9-_]{1,64}", cid):
            bad = bad or cid is not None or had_ids
            cell["id"] = uuid.uuid4().hex[:8]
        fixed += bad
        kept.append(cell)
    raw["cells"] = kept
    if fixed and not upgraded:
        notes.append(f"fixed {fixed} cell(s) with invalid JSON types or missing ids (edited outside Jupyter?)")


def load_notebook(data: bytes, notes: list):
    """Bytes -> nbformat v4 notebook, upgrading and normalising as needed."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise UnreadableNotebook(f"the file is not UTF-8 text ({e.reason} at byte {e.start})") from None
    try:
        raw = json.loads(text, strict=False)
    except json.JSONDecodeError as e:
        # json's messages may end in "at" ("Unterminated string starting at"): say it once
        raise UnreadableNotebook(
            f"the file is not valid notebook JSON ({e.msg.removesuffix(' at')} at line {e.lineno}, column {e.colno}); "
            "download the notebook again from Jupyter (File > Download) and resubmit it"
        ) from None
    if not isinstance(raw, dict):
        raise UnreadableNotebook("the file is JSON but not a notebook (no top-level object)")
    major = raw.get("nbformat")
    if major == 3 or (major is None and "worksheets" in raw):
        raw.setdefault("nbformat", 3)
        raw.setdefault("nbformat_minor", 0)
        try:
            nb3 = nbformat.reads(json.dumps(raw), as_version=3)
            nb = nbformat.convert(nb3, 4)
        except Exception as e:  # noqa: BLE001 (any failure means unreadable)
            raise UnreadableNotebook(f"the nbformat 3 notebook could not be upgraded: {e}") from None
        notes.append("upgraded nbformat 3 to 4")
        raw = json.loads(nbformat.writes(nb))
        raw["_upgraded"] = True
    elif major != 4:
        if "cells" in raw:
            notes.append(f"nbformat {major!r} treated as 4")
            raw["nbformat"] = 4
        else:
            raise UnreadableNotebook(f"unsupported notebook format version {major!r}")
    if not isinstance(raw.get("nbformat_minor"), int) or raw["nbformat_minor"] < 5:
        raw["nbformat_minor"] = 5  # cell ids are added below
    else:
        raw["_had_ids"] = True
    if not isinstance(raw.get("metadata"), dict):
        raw["metadata"] = {}
    _fix_cells_json(raw, notes)
    nb = nbformat.from_dict(raw)
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as e:
        raise UnreadableNotebook(f"the notebook does not follow the notebook format: {e.message}") from None
    return nb


def _meta(cell) -> dict:
    return cell.metadata.get("nbgrader") or {}


def _master_meta(m: dict) -> dict:
    meta = {"grade_id": m["name"], "locked": bool(m["locked"]), "schema_version": 3,
            "grade": m["kind"] == "test", "solution": m["kind"] == "answer", "task": m["kind"] == "task"}
    if m.get("checksum"):
        meta["checksum"] = m["checksum"]
    if m["kind"] in ("test", "task"):
        meta["points"] = m.get("points") or 0.0
    return meta


def _restored_cell(m: dict):
    src = (MISSING_NOTE + m["source"]) if m["cell_type"] == "code" else m["source"]
    cell = nbformat.v4.new_code_cell(src) if m["cell_type"] == "code" else nbformat.v4.new_markdown_cell(src)
    cell.metadata["nbgrader"] = _master_meta(m)
    if m["locked"]:
        cell.metadata["deletable"] = False
        cell.metadata["editable"] = False
    return cell


def _match_unlabelled(cell, masters: list, taken: set, delimiters: Delimiters = DELIMITERS):
    """Master cell an unlabelled cell was copied from, or None."""
    src = _norm(cell.source, delimiters)
    if not src:
        return None
    for m in masters:
        if m["name"] in taken:
            continue
        if m["kind"] in ("test", "locked") and _norm(m["source"], delimiters) == src:
            return m
    for m in masters:
        if m["name"] in taken or m["kind"] != "answer":
            continue
        if re.search(rf"^\s*def\s+{re.escape(m['name'])}\s*\(", cell.source, re.M):
            return m
    best, best_ratio = None, 0.0
    for m in masters:
        if m["name"] in taken or m["kind"] not in ("test", "locked"):
            continue
        ratio = difflib.SequenceMatcher(None, _norm(m["source"], delimiters), src).ratio()
        if ratio > best_ratio:
            best, best_ratio = m, ratio
    return best if best_ratio >= 0.9 else None


def repair_cells(nb, masters: list, notes: list, delimiters: Delimiters = DELIMITERS):
    """Match cells to the master cells, restore metadata and missing cells, drop duplicates."""
    by_name = {m["name"]: m for m in masters}
    # 1. label every cell that belongs to a master cell
    labels = []
    stripped = unknown = 0
    for cell in nb.cells:
        gid = _meta(cell).get("grade_id")
        if gid in by_name:
            labels.append(gid)
            continue
        if gid:
            unknown += 1
            cell.metadata.pop("nbgrader", None)
        labels.append(None)
    taken = {g for g in labels if g}
    for i, cell in enumerate(nb.cells):
        if labels[i] is None and cell.cell_type in ("code", "markdown", "raw"):
            m = _match_unlabelled(cell, masters, taken, delimiters)
            if m is not None and (m["cell_type"] == "code" or cell.cell_type != "code"):
                labels[i] = m["name"]
                taken.add(m["name"])
                stripped += 1
    if stripped:
        notes.append(f"restored nbgrader metadata of {stripped} cell(s) matched by their source")
    if unknown:
        notes.append(f"ignored {unknown} cell(s) with grade ids the assignment does not have")
    # 2. duplicates: keep the last copy (the code that ran last), drop locked copies
    last = {}
    for i, g in enumerate(labels):
        if g:
            last[g] = i
    keep_cells, keep_labels, dropped = [], [], []
    for i, (cell, g) in enumerate(zip(nb.cells, labels)):
        if g and last[g] != i:
            if by_name[g]["kind"] == "answer":
                cell.metadata.pop("nbgrader", None)  # the student's own code: keep it, ungraded
                keep_cells.append(cell)
                keep_labels.append(None)
            else:
                dropped.append(g)
            continue
        keep_cells.append(cell)
        keep_labels.append(g)
    if dropped:
        notes.append(f"removed duplicated cell(s): {', '.join(sorted(set(dropped)))}")
    # 3. restore type and metadata of matched cells
    retyped = []
    for cell_i, (cell, g) in enumerate(zip(keep_cells, keep_labels)):
        if not g:
            continue
        m = by_name[g]
        if cell.cell_type != m["cell_type"]:
            retyped.append(g)
            new = _restored_cell(m) if m["locked"] else (
                nbformat.v4.new_code_cell(cell.source) if m["cell_type"] == "code"
                else nbformat.v4.new_markdown_cell(cell.source))
            if m["locked"]:
                new.source = m["source"]
            new.metadata["nbgrader"] = _master_meta(m)
            keep_cells[cell_i] = new
            continue
        meta = _meta(cell)
        want = _master_meta(m)
        if any(meta.get(k) != v for k, v in want.items() if k != "checksum"):
            merged = dict(meta)
            merged.update(want)
            cell.metadata["nbgrader"] = merged
    if retyped:
        notes.append(f"restored the cell type of {', '.join(retyped)}")
    # 4. put back missing code cells (tests, answers as stubs, locked setup cells)
    present = {g for g in keep_labels if g}
    restored = []
    for idx, m in enumerate(masters):
        if m["name"] in present or m["cell_type"] != "code":
            continue
        pos = 0
        for prev in reversed(masters[:idx]):
            if prev["name"] in present:
                pos = keep_labels.index(prev["name"]) + 1
                break
        keep_cells.insert(pos, _restored_cell(m))
        keep_labels.insert(pos, m["name"])
        present.add(m["name"])
        restored.append(m["name"])
    if restored:
        notes.append(f"restored missing cell(s) from the gradebook: {', '.join(restored)}")
    nb.cells = keep_cells
    return nb


def repair_notebook(data: bytes, masters: list, delimiters: Delimiters = DELIMITERS):
    """Return ``(notebook_json_bytes, notes)``; raise :class:`UnreadableNotebook`."""
    notes: list[str] = []
    nb = load_notebook(data, notes)
    if masters:
        nb = repair_cells(nb, masters, notes, delimiters)
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as e:
        raise UnreadableNotebook(f"the notebook could not be repaired: {e.message}") from None
    return nbformat.writes(nb).encode("utf-8"), notes
