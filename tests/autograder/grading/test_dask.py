"""The same tasks on a real Dask cluster: a local scheduler with two worker processes."""

from __future__ import annotations

import json

import pytest

from autograder.grading.batch import grade
from tests.autograder import toycourse as T
from tests.helpers.nbgrader_course import solution_submission

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("autograder")]


def test_grade_on_dask_cluster(tmp_path):
    distributed = pytest.importorskip("distributed")
    c = T.make_course(tmp_path / "course")
    c.submit(T.A, "good", solution_submission(c.source_nb(T.A)))
    c.submit(T.A, "buggy", T.with_answer(c, "add", "def add(a, b):\n    return a - b\n"))
    T.write_raw(c, "badjson", b"not json")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster:
        summary = grade(c.root, T.A, scheduler=cluster.scheduler_address, cell_timeout=120, progress=False)
        with distributed.Client(cluster.scheduler_address) as client:
            ran_on = client.run(lambda: "ok")
    assert len(ran_on) == 2
    got = {s: (v["status"], v["score"]) for s, v in summary["students"].items()}
    assert got == {"good": ("graded", 6.0), "buggy": ("graded", 4.0), "badjson": ("unreadable_notebook", 0.0)}
    assert summary["scheduler"].startswith("tcp://")
    r = json.loads((c.root / "grades" / T.A / "results" / "buggy.json").read_text())
    assert r["tests"][0]["output"] == f"AssertionError: {T.HINT}"
    assert c.result(T.A, "good").total == 6.0  # merged by the coordinator
