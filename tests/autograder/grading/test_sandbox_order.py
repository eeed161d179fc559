"""A course (or venv) under /tmp stays visible to the sandboxed kernel."""

import dataclasses

from autograder.grading import sandbox


def test_paths_under_tmp_are_bound_after_the_private_tmp(tmp_path):
    course = tmp_path / "course_clone" / ".venv"
    course.mkdir(parents=True)
    work, ipc = tmp_path / "work", tmp_path / "ipc"
    work.mkdir()
    ipc.mkdir()
    s = dataclasses.replace(sandbox.settings(), extra_ro_paths=(str(course),))
    argv = sandbox.build_command(["python", "-V"], str(work), str(ipc), env={}, s=s)
    tmpfs = max(i for i, a in enumerate(argv) if a == "--tmpfs" and argv[i + 1] == "/tmp")
    binds = {argv[i + 1]: i for i, a in enumerate(argv) if a in ("--ro-bind", "--bind")}
    for path in (str(course.resolve()), str(work), str(ipc)):
        assert path in binds, f"{path} is not bound into the sandbox"
        assert binds[path] > tmpfs, f"{path} is bound before the private /tmp and would be hidden by it"


def test_config_sets_the_sandbox_and_the_environment_overrides_it(monkeypatch):
    for key in ("AUTOGRADER_SANDBOX_MEMORY_MB", "AUTOGRADER_SANDBOX_TMP_MB"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AUTOGRADER_SANDBOX_TMP_MB", "64")
    sandbox.configure({"memory_mb": 2048, "tmp_mb": 512})
    try:
        s = sandbox.settings()
        assert (s.memory_mb, s.tmp_mb) == (2048, 64)
    finally:
        monkeypatch.delenv("AUTOGRADER_SANDBOX_MEMORY_MB", raising=False)
