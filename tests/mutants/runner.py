"""Grade a mutant catalogue through the real nbgrader in one scratch course."""

from __future__ import annotations

import importlib

from concurrent.futures import ThreadPoolExecutor

from tests.helpers.nbgrader_course import ScratchCourse, read_source, solution_submission


def grade_catalogue(tmp_path, assignment: str, shards: int = 2):
    """Submit the solution, every mutant and every correct variant; autograde.

    Submissions are dealt round-robin into ``shards`` scratch courses whose
    ``nbgrader autograde`` runs go in parallel (one per core), since each
    notebook's kernel start and torch import dominate the cost.

    Returns ``(catalogue_module, {student_id: GradeResult})``; student ids are
    ``solution``, ``mutant_<name>`` and ``correct_<name>``.
    """
    cat = importlib.import_module(f"tests.mutants.{assignment}")
    src = read_source(assignment, reduced=True)
    submissions = [("solution", solution_submission(src))]
    submissions += [(f"mutant_{m.name}", solution_submission(src, {m.function: m.code})) for m in cat.MUTANTS]
    submissions += [(f"correct_{v.name}", solution_submission(src, {v.function: v.code})) for v in cat.CORRECT]

    def run_shard(k: int):
        course = ScratchCourse(tmp_path / f"course{k}", [assignment], reduced=True)
        course.generate(assignment)
        mine = submissions[k::shards]
        for student, nb in mine:
            course.submit(assignment, student, nb)
        course.autograde(assignment)
        return {student: course.result(assignment, student) for student, _ in mine}

    results = {}
    with ThreadPoolExecutor(max_workers=shards) as pool:
        for part in pool.map(run_shard, range(shards)):
            results.update(part)
    return cat, results


def check_catalogue(cat, results, min_mutants: int, min_correct_per_function: int):
    """Assert the catalogue's promises; return a list of human-readable failures."""
    problems = []
    names = [m.name for m in cat.MUTANTS] + [v.name for v in cat.CORRECT]
    assert len(names) == len(set(names)), "mutant/variant names must be unique"
    assert len(cat.MUTANTS) >= min_mutants, f"catalogue has {len(cat.MUTANTS)} mutants, needs {min_mutants}"
    sol = results["solution"]
    if sol.total != sol.max_total:
        problems.append(f"the instructor solution scored {sol.total}/{sol.max_total}: {sol.messages}")
    per_function = {}
    for v in cat.CORRECT:
        per_function[v.function] = per_function.get(v.function, 0) + 1
        r = results[f"correct_{v.name}"]
        if r.total != r.max_total:
            problems.append(f"correct variant {v.name!r} ({v.function}) lost points: {r.total}/{r.max_total} {r.messages}")
    functions = {m.function for m in cat.MUTANTS}
    for f in sorted(functions):
        if per_function.get(f, 0) < min_correct_per_function:
            problems.append(f"{f}: {per_function.get(f, 0)} correct variants, need {min_correct_per_function}")
    for m in cat.MUTANTS:
        r = results[f"mutant_{m.name}"]
        tests = r.tests_of(m.function)
        if not tests:
            problems.append(f"mutant {m.name!r}: no test cells named test_{m.function}*")
            continue
        lost = sum(mx - s for s, mx in tests.values())
        if lost <= 0:
            problems.append(f"mutant {m.name!r} ({m.function}) kept full marks on {sorted(tests)}")
        elif m.hint:
            msgs = [r.messages.get(t, "") for t in tests]
            if not any(m.hint.lower() in msg.lower() for msg in msgs):
                problems.append(f"mutant {m.name!r}: no failing message mentions {m.hint!r}; got {msgs}")
    return problems
