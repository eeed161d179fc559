"""Grading: one submission in, one :class:`autograder.results.StudentResult` out, many in parallel.

batch (the coordinator: plan, run on a local pool or Dask, merge) -> task (one
student, host side: repair, reduce, scan, launch) -> child (the grading process:
nbgrader autograde with execute's budget and integrity checks) -> kernel and
sandbox (how student code runs). forkserver and procs start and watch processes;
gradebook is the only writer of nbgrader's gradebook; policy is the static scan.
"""
