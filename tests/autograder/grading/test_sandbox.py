"""The kernel sandbox and the grader-side execution checks, on a real kernel."""

from __future__ import annotations

import os

import nbformat
import pytest
from nbconvert.preprocessors import ExecutePreprocessor

from autograder.grading import execute, kernel, sandbox

pytestmark = pytest.mark.xdist_group("sandbox")


def test_settings_come_from_one_place(monkeypatch):
    monkeypatch.setenv("AUTOGRADER_SANDBOX_MEMORY_MB", "1234")
    monkeypatch.setenv("AUTOGRADER_SANDBOX", "off")
    s = sandbox.settings()
    assert s.memory_mb == 1234 and s.mode == "off"
    monkeypatch.setenv("AUTOGRADER_SANDBOX_MEMORY_MB", "lots")
    with pytest.raises(ValueError, match="whole number"):
        sandbox.settings()


def test_command_hides_everything_but_what_the_kernel_needs(tmp_path):
    work, ipc = tmp_path / "w", tmp_path / "ipc"
    cmd = sandbox.build_command(["python", "-m", "ipykernel_launcher"], str(work), str(ipc), env={"SECRET_TOKEN": "x",
                                                                                                   "COURSE_DATASET": "digits"})
    joined = " ".join(cmd)
    assert "--die-with-parent" in cmd and "--new-session" in cmd and "--clearenv" in cmd
    assert ["--bind", str(work), str(work)] == cmd[cmd.index(str(work)) - 1: cmd.index(str(work)) + 2]
    assert "SECRET_TOKEN" not in joined and "COURSE_DATASET" in joined
    assert "--ro-bind / /" not in joined  # empty root: nothing is visible unless bound


def test_unsandboxed_runs_say_so(monkeypatch):
    monkeypatch.setenv("AUTOGRADER_SANDBOX", "off")
    sandbox.probe.cache_clear()
    try:
        assert sandbox.description().startswith("UNSANDBOXED")
        assert sandbox.wrap(["k"], "/tmp", "/tmp") == ["k"]
        monkeypatch.setenv("AUTOGRADER_SANDBOX", "require")
        monkeypatch.setenv("AUTOGRADER_SANDBOX_BWRAP", "no-such-bwrap")
        sandbox.probe.cache_clear()
        with pytest.raises(sandbox.SandboxUnavailable, match="not found"):
            sandbox.wrap(["k"], "/tmp", "/tmp")
    finally:
        sandbox.probe.cache_clear()


class _Exec(execute.IntegrityExecuteMixin, ExecutePreprocessor):
    pass


def _run(tmp_path, sources, test_index):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nb.cells[test_index].metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True,
                                                 "grade_id": "test_x", "points": 1, "schema_version": 3}
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    ep = _Exec(timeout=60, kernel_name="python3", allow_errors=True,
               kernel_manager_class=kernel.grading_kernel_manager_class(tmp_path / "ipc"))
    ep.preprocess(nb, {"metadata": {"path": str(work)}})
    return nb


@pytest.mark.slow
def test_sandboxed_kernel_sees_only_its_folder(tmp_path):
    ok, why = sandbox.probe()
    if not ok:
        pytest.skip(f"bubblewrap unavailable here: {why}")
    secret = tmp_path / "secret.txt"
    secret.write_text("TOKEN-abc")
    nb = _run(tmp_path, [
        "import os, socket, resource\n"
        f"print('secret visible:', os.path.exists({str(secret)!r}))\n"
        "print('home:', os.path.expanduser('~'))\n"
        "print('as limit:', resource.getrlimit(resource.RLIMIT_AS)[0])\n"
        "try:\n    socket.create_connection(('127.0.0.1', 22), timeout=2)\n    print('net: yes')\n"
        "except OSError:\n    print('net: no')\n",
        "print('x')",
    ], 1)
    text = "".join(o.get("text", "") for o in nb.cells[0].outputs)
    assert "secret visible: False" in text and "net: no" in text and "home: /tmp" in text
    assert f"as limit: {sandbox.settings().memory_mb * 1024 * 1024}" in text


@pytest.mark.slow
def test_hidden_errors_still_fail_the_check_and_outputs_are_capped(tmp_path):
    nb = _run(tmp_path, [
        "ip = get_ipython()\nip.showtraceback = lambda *a, **k: None\n",
        "for i in range(200000):\n    print('spam', i)\n",
        "raise AssertionError('wrong answer')",
    ], 2)
    test = nb.cells[2]
    assert test.outputs and test.outputs[0]["output_type"] == "error"  # no traceback was shown, reply said error
    assert test.outputs[0]["ename"] == "AssertionError"
    spam = sum(len(o.get("text", "")) for o in nb.cells[1].outputs)
    assert spam <= execute.MAX_CELL_OUTPUT + 200
    assert "truncated by the grader" in nb.cells[1].outputs[-1]["text"]


def test_a_recycled_pid_is_neither_waited_on_nor_killed(tmp_path):
    """Grading processes and kernels are identified by pid AND start time (pid_max is often 32768)."""
    import subprocess
    import sys

    from autograder.grading import procs, task

    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    try:
        real = procs.Proc(sleeper.pid, procs.start_time(sleeper.pid))
        assert real.start > 0 and procs.alive(real)
        recycled = procs.Proc(sleeper.pid, real.start - 1)  # same pid, another process's start time
        assert not procs.alive(recycled) and procs.wait(recycled, 0.1)
        (tmp_path / "kernel.pid").write_text(f"{recycled.pid} {recycled.start}")
        task._kill_kernel(tmp_path)
        assert sleeper.poll() is None, "killed a process whose pid merely matched"
        (tmp_path / "kernel.pid").write_text(f"{real.pid} {real.start}")
        task._kill_kernel(tmp_path)
        assert sleeper.wait(10) == -9
    finally:
        sleeper.kill()
        sleeper.wait()
