"""Similarity report for TAs: which submissions share unusually much code?

    python -m autograder similarity ASSIGNMENT [--against DIR]

Writes ``grades/<assignment>/similarity.html`` and ``similarity.json``. TA-only: nothing here
goes into a student's feedback or results.

Pipeline
--------
1. Extract the *student-authored* code of each ``submitted/<student>/<assignment>/*.ipynb``:
   the answer cells (``metadata.nbgrader.solution``), keyed by their ``grade_id``, and the code
   cells the student added (cell ids the release notebook does not have). Test cells, locked
   cells and the release's demo cells are not the student's work and are left out.
2. Normalize each cell with Python's ``tokenize`` and ``ast``: comments, docstrings and layout
   are dropped, string and number literals are written canonically (``1e-2`` = ``0.01``), and
   every name the student binds (parameters, local variables, helper functions) is renamed to
   ``v0, v1, ...`` in order of first use, restarting at each top-level statement, so renaming
   variables or reordering functions changes nothing. Attribute names (``.sqrt``), library
   names (``torch``) and the graded functions' names stay.
3. Fingerprint with ``copydetect`` (k-gram hashes + winnowing, as in MOSS), dropping every
   fingerprint that also occurs in the release notebook's code (the starter code is
   boilerplate). One fingerprint set per student per graded function, and one for the whole
   notebook.
4. Drop the fingerprints that many students share (more than max(5, 10%) of the class: the idioms
   every correct solution contains, like MOSS's ``-m`` option), weigh the others by rarity,
   ``w = log(1 + n / df)`` (df: how many of the n students have it), and score each pair by the
   weighted share of fingerprints they have in common,
   ``s = W(A ∩ B) / 2 * (1/W(A) + 1/W(B))`` (the mean of the two directional similarities, as
   copydetect reports them), for all pairs at once with a sparse product.
5. Judge each score against the class's own distribution: short functions look alike in every
   correct solution, so a raw percentage proves nothing. The robust z-score
   ``z = (s - median) / max(1.4826 * MAD, MIN_SCALE)`` over all pairs (per function and for
   the whole notebook) says how unusual a pair is; a pair is flagged when its whole-notebook
   ``z >= threshold``. Against a known solution (``--against``) a student's score is the share
   of the student's fingerprints found in that file, judged against the class's scores for it.
6. For flagged pairs, ``copydetect.compare_files`` finds the shared regions, mapped back to the
   students' original code and highlighted side by side (``copydetect.utils.highlight_overlap``).
"""

from __future__ import annotations

import ast
import copy
import functools
import html
import io
import json
import keyword
import math
import time
import tokenize
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import nbformat
import numpy as np

from ..course import CourseError

#: k-gram length (characters of normalized code) and winnowing window (copydetect's noise
#: threshold k and window = guarantee - noise + 1). Normalized code is dense (``v0=v1-v2*v3``),
#: so 18 characters is about one short statement. Window 1 keeps every k-gram: answer cells are
#: short, so winnowing would save little, and copydetect's pure-Python winnowing costs more
#: than it saves.
K = 18
WINDOW = 1
#: a fingerprint that more than max(COMMON_MIN, COMMON_SHARE * class size) students have is
#: common code (the idiom everyone writes), not evidence: it is ignored, as MOSS's ``-m`` does.
COMMON_MIN = 5
COMMON_SHARE = 0.1
#: robust z-score above which a pair is flagged. Pair scores have a long right tail (students
#: with the same habits), far from a normal distribution, and a class of n students has n²/2
#: pairs, so the usual 3.5 would flag honest pairs. With the median near 0 and the spread at
#: its floor, 16 means about 0.8 of the (rarity-weighted) distinctive code in common. On the
#: synthetic classes of the tests and benchmark, independent pairs reach z 9.4 (44 students),
#: 12.6 (200) and 14.9 (500), planted copies 19 to 20: a false accusation costs more than a
#: missed copy.
THRESHOLD = 16.0
#: floor of the robust spread, so a class whose pairs are all alike (MAD ~ 0) does not turn a
#: few shared lines into a huge z.
MIN_SCALE = 0.05
#: name of the per-function key for the code cells a student added.
ADDED = "(added cells)"
NOTEBOOK = "notebook"
#: flagged findings shown side by side at most (the JSON lists all of them).
MAX_DETAILS = 50
#: unflagged top pairs shown for context (how close the class came to the threshold).
CONTEXT_ROWS = 5


class SimilarityError(CourseError):
    """A problem with the course folder or the arguments; the message says how to fix it."""


# --------------------------------------------------------------------------- extraction

@dataclass
class ReleaseInfo:
    """What the release notebooks tell us: answer cells (grade_id order), known cell ids,
    the starter code (boilerplate) and the names of the graded functions."""
    answer_ids: list[str]
    cell_ids: set[str]
    code_sources: set[str]
    boilerplate: list[str]
    protected: set[str]


def _nb_meta(cell) -> dict:
    return (cell.get("metadata") or {}).get("nbgrader") or {}


def read_release(root: Path, assignment: str) -> ReleaseInfo:
    folder = root / "release" / assignment
    notebooks = sorted(folder.glob("*.ipynb"))
    if not notebooks:
        raise SimilarityError(f"no release notebook in {folder}: the starter code is needed to tell it apart from the "
                              f"students' own code; run `python -m autograder release {assignment}` first")
    answer_ids, cell_ids, sources, boiler, protected = [], set(), set(), [], set()
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.get("id"):
                cell_ids.add(cell["id"])
            if cell.cell_type != "code":
                continue
            sources.add(cell.source.strip())
            boiler.append(cell.source)
            meta = _nb_meta(cell)
            if meta.get("solution") and meta.get("grade_id") and meta["grade_id"] not in answer_ids:
                answer_ids.append(meta["grade_id"])
                try:
                    protected |= {n.name for n in ast.parse(_mask_magics(cell.source)).body
                                  if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
                except SyntaxError:
                    pass
    return ReleaseInfo(answer_ids, cell_ids, sources, boiler, protected)


def student_cells(nb, release: ReleaseInfo) -> list[tuple[str, str]]:
    """``(key, source)`` of the student-authored code cells, in notebook order: answer cells keyed
    by grade_id, added cells (id unknown to the release, no nbgrader role) keyed ``ADDED``."""
    out = []
    for cell in nb.cells:
        if cell.get("cell_type") != "code" or not cell.get("source", "").strip():
            continue
        meta = _nb_meta(cell)
        if meta.get("solution"):
            out.append((meta.get("grade_id") or ADDED, cell.source))
        elif not meta and cell.get("id") not in release.cell_ids and cell.source.strip() not in release.code_sources:
            out.append((ADDED, cell.source))
    return out


# --------------------------------------------------------------------------- normalization

def _mask_magics(src: str) -> str:
    """IPython ``%magic`` / ``!shell`` lines become comments (same length: positions stay)."""
    lines = src.splitlines(keepends=True)
    for i, line in enumerate(lines):
        stripped = line.lstrip()
        if stripped[:1] in ("%", "!"):
            j = len(line) - len(stripped)
            lines[i] = line[:j] + "#" + line[j + 1:]
    return "".join(lines)


def _bound_names(node: ast.AST) -> set[str]:
    """Names a statement binds (parameters, assignment/loop/with targets, defs), not imports."""
    names = set()
    for n in ast.walk(node):
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(n.name)
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            a = n.args
            for arg in (*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg):
                if arg is not None:
                    names.add(arg.arg)
        elif isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del)):
            names.add(n.id)
        elif isinstance(n, ast.ExceptHandler) and n.name:
            names.add(n.name)
    return names


def module_names(sources: list[str], protected: set[str]) -> set[str]:
    """Names a student binds at module level over all their cells (helpers, globals)."""
    names = set()
    for src in sources:
        try:
            tree = ast.parse(_mask_magics(src))
        except SyntaxError:
            continue
        for stmt in tree.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(stmt.name)
            elif not isinstance(stmt, (ast.Import, ast.ImportFrom)):
                names |= {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
                          and n.col_offset >= 0}
    return names - protected


@dataclass
class Normalized:
    """Normalized code and, for each of its characters, the span of the raw code it came from."""
    text: str = ""
    start: list[int] = field(default_factory=list)
    end: list[int] = field(default_factory=list)
    note: str = ""

    def add(self, piece: str, a: int, b: int) -> None:
        self.text += piece
        self.start.extend([a] * len(piece))
        self.end.extend([b] * len(piece))

    def extend(self, other: "Normalized", shift: int) -> None:
        self.text += other.text
        self.start.extend(x + shift for x in other.start)
        self.end.extend(x + shift for x in other.end)


@functools.lru_cache(maxsize=4096)
def _canonical_literal(tok: str, kind: str) -> str:
    try:
        value = ast.literal_eval(tok)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return "S" if kind == "string" else tok
    return repr(value)


def normalize(src: str, protected: set[str] = frozenset(), globals_: set[str] = frozenset()) -> Normalized:
    """Normalize one cell (see the module docstring). Code that does not parse is kept with its
    whitespace removed (no renaming), and ``note`` says so."""
    masked = _mask_magics(src)
    line_start = [0]
    for line in masked.splitlines(keepends=True):
        line_start.append(line_start[-1] + len(line))

    def pos(rc):
        return line_start[rc[0] - 1] + rc[1]

    try:
        tree = ast.parse(masked)
        tokens = list(tokenize.generate_tokens(io.StringIO(masked).readline))
    except (SyntaxError, tokenize.TokenError, ValueError, RecursionError, MemoryError) as e:
        out = Normalized(note=f"does not parse ({type(e).__name__}); compared without renaming")
        for i, ch in enumerate(src):
            if not ch.isspace():
                out.add(ch, i, i + 1)
        return out

    # statement spans (lines) -> the names renamed inside them
    spans = []
    for stmt in tree.body:
        first = min([stmt.lineno] + [d.lineno for d in getattr(stmt, "decorator_list", [])])
        local = set() if isinstance(stmt, (ast.Import, ast.ImportFrom)) else _bound_names(stmt)
        spans.append((first, stmt.end_lineno, (local - protected) | set(globals_)))

    skip = {tokenize.COMMENT, tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING, tokenize.ENDMARKER}
    # logical lines made only of strings are docstrings / bare string statements: drop them
    drop, line, significant = set(), [], []
    for i, t in enumerate(tokens):
        line.append(i)
        if t.type not in skip and t.type != tokenize.NEWLINE:
            significant.append(t)
        if t.type in (tokenize.NEWLINE, tokenize.ENDMARKER):
            if significant and all(s.type == tokenize.STRING for s in significant):
                drop.update(line)
            line, significant = [], []

    out = Normalized()
    span_i, renames, prev = -1, {}, None
    for i, t in enumerate(tokens):
        if t.type in skip or i in drop:
            continue
        while span_i + 1 < len(spans) and t.start[0] >= spans[span_i + 1][0]:
            span_i, renames = span_i + 1, {}
        names = spans[span_i][2] if 0 <= span_i < len(spans) and t.start[0] <= spans[span_i][1] else set()
        a, b = pos(t.start), pos(t.end)
        if t.type == tokenize.NEWLINE:
            if out.text and not out.text.endswith(";"):
                out.add(";", a, max(a, b))
            prev = t
            continue
        if t.type == tokenize.STRING:
            piece = _canonical_literal(t.string, "string")
        elif t.type == tokenize.NUMBER:
            piece = _canonical_literal(t.string, "number")
        elif t.type == tokenize.NAME and not keyword.iskeyword(t.string) and t.string in names \
                and not (prev is not None and prev.string == "."):
            piece = renames.setdefault(t.string, f"v{len(renames)}")
        else:
            piece = t.string
        if out.text and (out.text[-1].isalnum() or out.text[-1] == "_") and (piece[:1].isalnum() or piece[:1] == "_"):
            out.add(" ", a, a)
        out.add(piece, a, b)
        prev = t
    return out


# --------------------------------------------------------------------------- fingerprints

@dataclass
class Unit:
    """One student's code for one key (a graded function, the added cells, or the notebook)."""
    owner: str
    key: str
    raw: str
    norm: Normalized
    hashes: set = field(default_factory=set)
    _fingerprint: object = None

    def fingerprint(self, boilerplate) -> object:
        """copydetect's CodeFingerprint of the normalized code (built on demand: only flagged
        pairs need copydetect's slices for highlighting)."""
        if self._fingerprint is None:
            self._fingerprint = fingerprint(f"{self.owner}:{self.key}", self.norm.text, boilerplate)
        return self._fingerprint


def fingerprint(label: str, text: str, boilerplate=None, window: int = WINDOW, k: int = K):
    from copydetect import CodeFingerprint

    return CodeFingerprint(label, k, window, boilerplate=boilerplate if boilerplate is not None else [],
                           filter=False, fp=io.StringIO(text))


def kgram_hashes(text: str, k: int = K, window: int = WINDOW) -> set:
    """copydetect's k-gram hashes of a text, winnowed (all of them for window 1)."""
    from copydetect.utils import hashed_kgrams, winnow

    if len(text) < k:
        return set()
    selected, _ = winnow(hashed_kgrams(text, k), window, remove_duplicates=True)
    return set(selected.tolist())


def boilerplate_hashes(release: ReleaseInfo, k: int = K) -> np.ndarray:
    """Every k-gram hash of the normalized release code (window 1: all of them, as copydetect does)."""
    hashes = set()
    for src in release.boilerplate:
        hashes |= kgram_hashes(normalize(src, release.protected).text, k, window=1)
    return np.array(sorted(hashes))


def build_units(owner: str, cells: list[tuple[str, str]], release: ReleaseInfo, boiler, notes: list[str],
                k: int = K, window: int = WINDOW) -> dict[str, Unit]:
    """Per-key units and the whole-notebook unit of one student (or one reference file)."""
    globals_ = module_names([s for _, s in cells], release.protected)
    by_key: dict[str, list[tuple[str, Normalized]]] = {}
    for key, src in cells:
        n = normalize(src, release.protected, globals_)
        if n.note:
            notes.append(f"{owner}: a cell of {key} {n.note}")
        by_key.setdefault(key, []).append((src, n))
    units, whole_raw, whole = {}, "", Normalized()
    for key, parts in by_key.items():
        raw, norm = "", Normalized()
        for src, n in parts:
            header = f"# ---- {key} ----\n"
            whole_raw += header
            norm.extend(n, len(raw) + len(header))
            whole.extend(n, len(whole_raw))
            raw += header + src.rstrip() + "\n\n"
            whole_raw += src.rstrip() + "\n\n"
            for acc in (norm, whole):
                if acc.text and not acc.text.endswith(";"):
                    acc.add(";", acc.end[-1] if acc.end else 0, acc.end[-1] if acc.end else 0)
        units[key] = Unit(owner, key, raw, norm)
    boiler_set = set(boiler.tolist())
    for u in units.values():
        u.hashes = kgram_hashes(u.norm.text, k, window) - boiler_set
    # the notebook: every fingerprint of its cells (k-grams across two cells say nothing)
    units[NOTEBOOK] = Unit(owner, NOTEBOOK, whole_raw, whole, set().union(*(u.hashes for u in units.values())))
    return units


# --------------------------------------------------------------------------- scoring

def robust_z(values: np.ndarray, min_scale: float = MIN_SCALE) -> tuple[float, float, float]:
    """``(median, scale, mad)`` with ``scale = max(1.4826 * MAD, min_scale)``."""
    if values.size == 0:
        return 0.0, min_scale, 0.0
    med = float(np.median(values))
    mad = float(np.median(np.abs(values - med)))
    return med, max(1.4826 * mad, min_scale), mad


def class_weights(hash_sets: list[set]) -> dict:
    """Weight of each fingerprint: ``log(1 + n / df)`` with df the number of the n students who
    have it (tf-idf's inverse document frequency): a fingerprint two students share is stronger
    evidence than one a tenth of the class shares."""
    df = Counter(h for s in hash_sets for h in s)
    n = max(1, sum(1 for s in hash_sets if s))
    return {h: math.log1p(n / c) for h, c in df.items()}


def pair_scores(hash_sets: list[set], weights: dict | None = None) -> np.ndarray:
    """``S[i, j]`` = mean of W(A∩B)/W(A) and W(A∩B)/W(B), W the summed weights of a set of
    fingerprints (their count when ``weights`` is None), all pairs at once (a weighted sparse
    incidence matrix times the binary one); NaN where a set is empty."""
    from scipy import sparse

    col: dict = {}
    rows, cols, vals = [], [], []
    for i, hs in enumerate(hash_sets):
        for h in hs:
            rows.append(i)
            cols.append(col.setdefault(h, len(col)))
            vals.append(1.0 if weights is None else weights[h])
    n = len(hash_sets)
    shape = (n, max(1, len(col)))
    mw = sparse.csr_matrix((np.array(vals, dtype=np.float64), (rows, cols)), shape=shape)
    mb = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=shape)
    inter = (mw @ mb.T).toarray()
    sizes = np.asarray(mw.sum(axis=1)).ravel()
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = np.where(sizes > 0, 1.0 / sizes, np.nan)
        s = 0.5 * inter * (inv[:, None] + inv[None, :])
    return s


@dataclass
class SimilarityResult:
    """What ``similarity()`` found; ``to_json()`` is what similarity.json holds."""
    assignment: str
    students: list[str]
    keys: list[str]
    threshold: float
    stats: dict
    findings: list[dict]
    notes: list[str]
    references: list[str]
    html_path: Path | None = None
    json_path: Path | None = None
    seconds: float = 0.0
    pairs: int = 0

    @property
    def flagged(self) -> list[dict]:
        return [f for f in self.findings if f["flagged"]]

    def to_json(self) -> dict:
        return {"assignment": self.assignment, "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "students": self.students, "keys": self.keys, "threshold": self.threshold, "min_scale": MIN_SCALE,
                "k": K, "window": WINDOW, "common_min": COMMON_MIN, "common_share": COMMON_SHARE, "stats": self.stats, "references": self.references,
                "pairs_compared": self.pairs, "seconds": round(self.seconds, 3), "notes": self.notes,
                "findings": [{k: v for k, v in f.items() if not k.startswith("_")} for f in self.findings]}


def _read_reference(path: Path) -> list[tuple[str, str]]:
    """``(key, source)`` cells of a known solution: a .py file is one cell; a notebook gives its
    answer cells (if it has nbgrader metadata) or all its code cells."""
    if path.suffix == ".py":
        return [(path.name, path.read_text(errors="replace"))]
    nb = nbformat.read(path, as_version=4)
    cells = [(_nb_meta(c).get("grade_id") or ADDED, c.source) for c in nb.cells
             if c.cell_type == "code" and _nb_meta(c).get("solution")]
    return cells or [(ADDED, c.source) for c in nb.cells if c.cell_type == "code"]


def similarity(root, assignment: str, against=None, threshold: float = THRESHOLD, out_dir=None,
               write: bool = True) -> SimilarityResult:
    """Compare every pair of submissions of ``assignment`` (and each with the files in ``against``);
    write similarity.html/.json into ``out_dir`` (default ``grades/<assignment>``)."""
    t0 = time.perf_counter()
    root = Path(root)
    if not (root / "nbgrader_config.py").is_file():
        raise SimilarityError(f"{root.resolve()} is not a course folder (no nbgrader_config.py); "
                              "run from the course root or pass --course-dir")
    submitted = sorted(p for p in (root / "submitted").glob(f"*/{assignment}") if p.is_dir())
    if not submitted:
        raise SimilarityError(f"no submissions of {assignment!r}: no {root / 'submitted'}/*/{assignment}/ folder; "
                              f"collect them first (`python -m autograder collect {assignment} <zip>`)")
    release = read_release(root, assignment)
    boiler = boilerplate_hashes(release)
    notes: list[str] = []

    units: dict[str, dict[str, Unit]] = {}
    for folder in submitted:
        student = folder.parent.name
        cells = []
        notebooks = sorted(folder.glob("*.ipynb"))
        if not notebooks:
            notes.append(f"{student}: no notebook in {folder}")
        for path in notebooks:
            try:
                cells += student_cells(nbformat.read(path, as_version=4), release)
            except Exception as e:  # one unreadable notebook never stops the batch
                notes.append(f"{student}: {path.name} is unreadable ({type(e).__name__}); skipped")
        if cells:
            try:
                units[student] = build_units(student, cells, release, boiler, notes)
            except Exception as e:  # never lose the batch to one odd notebook
                notes.append(f"{student}: code could not be fingerprinted ({type(e).__name__}: {e}); skipped")
        elif notebooks:
            notes.append(f"{student}: no student-authored code (blank submission?)")
    students = sorted(units)
    keys = [k for k in (*release.answer_ids, ADDED) if any(k in u for u in units.values())]
    index = {s: i for i, s in enumerate(students)}
    n = len(students)
    iu = np.triu_indices(n, 1)

    # --- student pairs: per key and whole notebook
    scores, zs, stats, common, weights = {}, {}, {}, {}, {}
    for key in (NOTEBOOK, *keys):
        sets = [units[s][key].hashes if key in units[s] else set() for s in students]
        common[key] = common_hashes(sets)
        sets = [h - common[key] for h in sets]
        weights[key] = class_weights(sets)
        s = pair_scores(sets, weights[key]) if n else np.zeros((0, 0))
        vals = s[iu]
        vals = vals[~np.isnan(vals)]
        med, scale, mad = robust_z(vals)
        scores[key], zs[key] = s, (s - med) / scale
        stats[key] = {"pairs": int(vals.size), "common_fingerprints": len(common[key]), "median": round(med, 4), "mad": round(mad, 4),
                      "scale": round(scale, 4), "score_at_threshold": round(med + threshold * scale, 4),
                      "max": round(float(vals.max()), 4) if vals.size else None}
    pairs_compared = len(iu[0]) * (1 + len(keys))

    findings = []
    zn = zs[NOTEBOOK]
    order = np.argsort(-np.nan_to_num(zn[iu], nan=-np.inf), kind="stable")
    for idx in order:
        i, j = int(iu[0][idx]), int(iu[1][idx])
        z = zn[i, j]
        if np.isnan(z):
            continue
        if z < threshold and sum(1 for f in findings if not f["flagged"] and f["kind"] == "pair") >= CONTEXT_ROWS:
            break
        findings.append(_finding("pair", students[i], students[j], scores, zs, keys, i, j, threshold))

    # --- known solutions
    references = []
    if against is not None:
        against = Path(against)
        if not against.is_dir():
            raise SimilarityError(f"--against {against}: not a folder (give a folder of known solutions, .py or .ipynb)")
        files = sorted(p for p in against.rglob("*") if p.suffix in (".py", ".ipynb") and p.is_file())
        if not files:
            raise SimilarityError(f"--against {against}: no .py or .ipynb files in it")
        for path in files:
            label = str(path.relative_to(against))
            try:
                ref = build_units(f"[{label}]", _read_reference(path), release, boiler, notes)
            except Exception as e:
                notes.append(f"reference {label}: unreadable ({type(e).__name__}: {e}); skipped")
                continue
            references.append(label)
            ref_whole = ref[NOTEBOOK].hashes
            rows = []
            for s in students:
                rows.append(_containment(units[s][NOTEBOOK].hashes - common[NOTEBOOK], ref_whole, weights[NOTEBOOK]))
            vals = np.array([v for v in rows if not np.isnan(v)])
            med, scale, mad = robust_z(vals)
            stats[f"against {label}"] = {"students": int(vals.size), "median": round(med, 4), "mad": round(mad, 4),
                                         "scale": round(scale, 4),
                                         "score_at_threshold": round(med + threshold * scale, 4)}
            for si, s in enumerate(students):
                if np.isnan(rows[si]):
                    continue
                z = (rows[si] - med) / scale
                per = {}
                for key in keys:
                    if key not in units[s] or not units[s][key].hashes:
                        continue
                    c = _containment(units[s][key].hashes - common[key], ref_whole, weights[key])
                    if not np.isnan(c):
                        per[key] = {"score": round(c, 4)}
                findings.append({"kind": "reference", "a": s, "b": f"[{label}]", "score": round(float(rows[si]), 4),
                                 "z": round(float(z), 2), "flagged": bool(z >= threshold), "per_function": per,
                                 "_units": (units[s][NOTEBOOK], ref[NOTEBOOK])})
        # keep the reference rows that matter: the flagged ones and the closest few of the rest
        ref_rows = [f for f in findings if f["kind"] == "reference"]
        keep = [f for f in ref_rows if f["flagged"]]
        keep += sorted((f for f in ref_rows if not f["flagged"]), key=lambda f: -f["z"])[:CONTEXT_ROWS]
        findings = [f for f in findings if f["kind"] == "pair"] + keep
        pairs_compared += len(students) * len(references)

    for f in findings:
        if f["kind"] == "pair":
            f["_units"] = (units[f["a"]][NOTEBOOK], units[f["b"]][NOTEBOOK])
    findings.sort(key=lambda f: (not f["flagged"], -f["z"]))
    for rank, f in enumerate(findings, 1):
        f["rank"] = rank
    for f in findings[:MAX_DETAILS]:
        if f["flagged"]:
            f["_shared"] = shared_regions(*f["_units"], boiler=boiler, common=common[NOTEBOOK])
            f["copydetect_similarity"] = f["_shared"]["similarity"]

    result = SimilarityResult(assignment, students, keys, threshold, stats, findings, notes, references,
                              seconds=time.perf_counter() - t0, pairs=pairs_compared)
    if write:
        out_dir = Path(out_dir) if out_dir else root / "grades" / assignment
        out_dir.mkdir(parents=True, exist_ok=True)
        result.json_path = out_dir / "similarity.json"
        result.html_path = out_dir / "similarity.html"
        result.seconds = time.perf_counter() - t0
        result.json_path.write_text(json.dumps(result.to_json(), indent=1))
        result.html_path.write_text(render_html(result))
    return result


def _containment(student: set, ref: set, weights: dict) -> float:
    """Weighted share of a student's fingerprints found in a known solution."""
    total = sum(weights[h] for h in student)
    return sum(weights[h] for h in student & ref) / total if total else float("nan")


def _finding(kind, a, b, scores, zs, keys, i, j, threshold) -> dict:
    per = {}
    for key in keys:
        s = scores[key][i, j]
        if not np.isnan(s):
            per[key] = {"score": round(float(s), 4), "z": round(float(zs[key][i, j]), 2)}
    z = float(zs[NOTEBOOK][i, j])
    return {"kind": kind, "a": a, "b": b, "score": round(float(scores[NOTEBOOK][i, j]), 4), "z": round(z, 2),
            "flagged": bool(z >= threshold), "per_function": per}


def _without(fp, common: set):
    """A shallow copy of a CodeFingerprint without the common hashes."""
    out = copy.copy(fp)
    out.hashes = fp.hashes - common
    out.hash_idx = {h: i for h, i in fp.hash_idx.items() if h not in common}
    return out


def common_hashes(sets: list[set]) -> set:
    """Fingerprints held by more than max(COMMON_MIN, COMMON_SHARE * n) of the n students."""
    df = Counter(h for s in sets for h in s)
    n = sum(1 for s in sets if s)
    cut = max(COMMON_MIN, COMMON_SHARE * n)
    return {h for h, c in df.items() if c > cut}


def shared_regions(ua: Unit, ub: Unit, boiler=None, common: set = frozenset()) -> dict:
    """copydetect's comparison of two units (common fingerprints left out), with the shared
    regions mapped back to the raw code and highlighted (HTML-escaped)."""
    from copydetect import compare_files
    from copydetect.utils import highlight_overlap

    boiler = np.array([]) if boiler is None else boiler
    overlap, sims, (sa, sb) = compare_files(_without(ua.fingerprint(boiler), common),
                                            _without(ub.fingerprint(boiler), common))
    out = {"token_overlap": int(overlap), "similarity": [round(float(x), 4) for x in sims]}
    for side, unit, sl in (("a", ua, sa), ("b", ub, sb)):
        raw_slices = _to_raw(unit.norm, unit.raw, sl)
        if raw_slices.shape[1]:
            out[f"html_{side}"], _ = highlight_overlap(unit.raw, raw_slices, "<mark>", "</mark>", escape_html=True)
        else:
            out[f"html_{side}"] = html.escape(unit.raw)
    return out


def _to_raw(norm: Normalized, raw: str, slices) -> np.ndarray:
    """Normalized-code slices (2 x n) -> sorted raw-code slices: the raw tokens behind each
    normalized character, merged across whitespace but not across comments or docstrings."""
    spans = set()
    if len(slices) and len(slices[0]):
        for a, b in zip(np.asarray(slices[0], dtype=int), np.asarray(slices[1], dtype=int)):
            for c in range(int(a), min(int(b), len(norm.end))):
                if norm.start[c] < norm.end[c]:
                    spans.add((norm.start[c], norm.end[c]))
    merged = []
    for a, b in sorted(spans):
        if merged and (a <= merged[-1][1] or not raw[merged[-1][1]:a].strip()):
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return np.array(merged, dtype=int).T.reshape(2, -1)


# --------------------------------------------------------------------------- HTML

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;max-width:1400px;color:#1f2328}
table{border-collapse:collapse;margin:8px 0 20px 0}td,th{border:1px solid #d0d7de;padding:3px 7px;text-align:left;
vertical-align:top}th{background:#f6f8fa}.num{text-align:right}.flag{color:#cf222e;font-weight:600}
.hi{background:#ffebe9}.caveat{background:#fff8c5;padding:8px 12px}.side{display:flex;gap:12px}
.side>div{flex:1;min-width:0}pre{background:#f6f8fa;padding:8px;overflow-x:auto;font-size:12px;line-height:1.35}
mark{background:#ffd8b5}small{color:#57606a}
"""


def render_html(r: SimilarityResult) -> str:
    e = html.escape
    nb = r.stats[NOTEBOOK]
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{e(r.assignment)}: code similarity</title>"
             f"<style>{_CSS}</style></head><body>",
             f"<h1>{e(r.assignment)}: code similarity (TA only)</h1>",
             f"<p>{len(r.students)} submissions, {nb['pairs']} pairs of students"
             + (f", {len(r.references)} known solution(s) ({', '.join(e(x) for x in r.references)})" if r.references else "")
             + f"; <b>{len(r.flagged)}</b> flagged.</p>",
             "<div class=caveat><b>How to read this.</b> Only code the students wrote is compared: the answer "
             "cells and the cells they added, without comments, docstrings or layout, with every variable and "
             "helper renamed to <code>v0, v1, ...</code>, and without any code that is in the release notebook. "
             "Code fingerprints (copydetect's k-grams, as in MOSS) that more than "
             f"max({COMMON_MIN}, {COMMON_SHARE:.0%}) of the class share are common idioms and are ignored; a "
             "score is the share of the remaining fingerprints two students have in common, rarer ones "
             "weighing more (log(1 + n/df)). <b>Short functions look alike in every correct solution</b> (there are only so "
             "many ways to write <code>w - lr * dw</code>), so a high score alone proves nothing: each pair is "
             "judged against this class's own pairs, by its robust z-score <code>z = (score - median) / "
             f"max(1.4826 &times; MAD, {MIN_SCALE})</code>. A pair is flagged when its whole-notebook z is at "
             f"least <b>{r.threshold:g}</b>, i.e. a score of at least <b>{nb['score_at_threshold']:.2f}</b> here "
             f"(class median {nb['median']:.2f}, MAD {nb['mad']:.3f}). A flag is a reason to look at the two "
             "notebooks side by side, not evidence on its own: students who worked together legitimately, or "
             "followed the same lecture code, can be flagged too.</div>"]

    parts.append("<h2>Findings</h2><table><tr><th>#</th><th>student</th><th>with</th><th class=num>score</th>"
                 "<th class=num>z</th>" + "".join(f"<th class=num>{e(k)}</th>" for k in r.keys) + "</tr>")
    for f in r.findings:
        cls = " class=flag" if f["flagged"] else ""
        name = f"<a href='#f{f['rank']}'>{f['rank']}</a>" if "_shared" in f else str(f["rank"])
        cells = []
        for k in r.keys:
            p = f["per_function"].get(k)
            if p is None:
                cells.append("<td></td>")
            elif "z" in p:
                hot = " hi" if p["z"] >= r.threshold else ""
                cells.append(f"<td class='num{hot}' title='score {p['score']:.2f}'>{p['score']:.2f} "
                             f"<small>z {p['z']:.1f}</small></td>")
            else:
                cells.append(f"<td class=num>{p['score']:.2f}</td>")
        parts.append(f"<tr><td{cls}>{name}{' flagged' if f['flagged'] else ''}</td><td>{e(f['a'])}</td>"
                     f"<td>{e(f['b'])}</td><td class=num>{f['score']:.2f}</td><td class=num{cls}>{f['z']:.1f}</td>"
                     + "".join(cells) + "</tr>")
    parts.append("</table><p><small>Unflagged rows show how close the rest of the class came. Per-function "
                 "cells: score and z of that function alone (highlighted when z reaches the threshold); against a "
                 "known solution, the share of the student's code for that function found in the file. "
                 "Per-function z is context only: two students can write the same short function "
                 "independently.</small></p>")

    parts.append("<h2>Class distribution per function</h2><table><tr><th>code</th><th class=num>pairs</th>"
                 "<th class=num>median</th><th class=num>MAD</th><th class=num>score at threshold</th>"
                 "<th class=num>max</th></tr>")
    for key, st in r.stats.items():
        n_ = st.get("pairs", st.get("students"))
        parts.append(f"<tr><td>{e(key)}</td><td class=num>{n_}</td><td class=num>{st['median']:.2f}</td>"
                     f"<td class=num>{st['mad']:.3f}</td><td class=num>{min(st['score_at_threshold'], 9.99):.2f}</td>"
                     f"<td class=num>{'' if st.get('max') is None else format(st['max'], '.2f')}</td></tr>")
    parts.append("</table><p><small>A score at threshold above 1 means no pair can be flagged on that code: the "
                 "class writes it alike.</small></p>")

    parts.append("<h2>Flagged pairs side by side</h2>")
    shown = [f for f in r.findings if "_shared" in f]
    if not shown:
        parts.append("<p>No pair is far enough above the class's usual similarity to be flagged.</p>")
    for f in shown:
        sh = f["_shared"]
        parts.append(f"<h3 id='f{f['rank']}'>#{f['rank']}: {e(f['a'])} and {e(f['b'])} (score {f['score']:.2f}, "
                     f"z {f['z']:.1f})</h3><p><small>Highlighted: regions copydetect found in both after normalization "
                     f"({sh['token_overlap']} characters of normalized code; copydetect similarity "
                     f"{sh['similarity'][0]:.2f} / {sh['similarity'][1]:.2f}).</small></p>"
                     f"<div class=side><div><b>{e(f['a'])}</b><pre>{sh['html_a']}</pre></div>"
                     f"<div><b>{e(f['b'])}</b><pre>{sh['html_b']}</pre></div></div>")
    if r.notes:
        parts.append("<h2>Notes</h2><ul>" + "".join(f"<li>{e(n)}</li>" for n in r.notes) + "</ul>")
    parts.append(f"<p><small>k = {K} characters of normalized code, winnowing window {WINDOW}; "
                 f"{r.pairs} comparisons in {r.seconds:.1f} s. The same numbers are in similarity.json.</small></p>"
                 "</body></html>")
    return "\n".join(parts)


# --------------------------------------------------------------------------- CLI
