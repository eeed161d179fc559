"""Turn corpus definitions (attacks.py) into submitted notebooks."""

from __future__ import annotations

import copy

import nbformat

from tests.helpers.nbgrader_course import answer_cells, nb_meta, strip_solution_markers


def _fill(text: str, ctx: dict) -> str:
    for key, value in ctx.items():
        text = text.replace(f"@@{key}@@", str(value))
    return text


def _mutate(nb, how: str):
    cells = []
    for cell in nb.cells:
        meta = nb_meta(cell)
        is_test = bool(meta.get("grade")) and not meta.get("solution")
        if how == "delete_tests" and is_test:
            continue
        if how == "duplicate_tests" and is_test:
            cells.append(cell)
            dup = copy.deepcopy(cell)
            dup.source = "pass"
            dup["id"] = cell["id"] + "d"
            cells.append(dup)
            continue
        if how == "retype_tests" and is_test:
            cell = nbformat.v4.new_markdown_cell(cell.source, metadata=cell.metadata)
        if how == "blank_tests" and is_test:
            cell.source = "print('All tests passed')"
        if how == "strip_metadata":
            cell.metadata.pop("nbgrader", None)
            if is_test:
                cell.source = "pass"
        cells.append(cell)
    nb.cells = cells
    return nb


def build(entry: dict, release_nb, source_nb, ctx: dict):
    """The submitted notebook for one corpus entry."""
    nb = copy.deepcopy(release_nb)
    solutions = {gid: strip_solution_markers(c.source) for gid, c in answer_cells(source_nb).items()}
    fill = list(entry.get("keep_correct", ()))
    if entry.get("solution"):
        fill = list(solutions)
    answers = answer_cells(nb)
    for gid in fill:
        answers[gid].source = solutions[gid]
    for gid, src in entry.get("replace", {}).items():
        answers[gid].source = _fill(src, ctx)
    for after, src in entry.get("add", ()):
        new = nbformat.v4.new_code_cell(_fill(src, ctx))
        ids = [nb_meta(c).get("grade_id") for c in nb.cells]
        pos = ids.index(after) + 1 if after else ids.index("setup") + 1
        nb.cells.insert(pos, new)
    if entry.get("mutate"):
        nb = _mutate(nb, entry["mutate"])
    return nb
