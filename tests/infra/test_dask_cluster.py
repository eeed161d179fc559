"""A real Dask cluster from the command line: `dask scheduler`, two `dask worker` processes, one SIGKILLed.

As root with ``ip netns`` available, each worker runs in its own network
namespace ("host"), joined to the scheduler by a veth pair on a private /30 the
test creates and removes, so every task and result crosses a real network hop;
elsewhere the workers run on this host's loopback (the test says which in its
output). The batch goes through ``python -m autograder grade --scheduler``.
While one worker holds the slow student's submission it is SIGKILLed (no nanny
to restart it): the slow student must end up graded (Dask reruns the task on
the other worker) or ``error`` and graded by the next run; no other student is
affected; the killed worker's grading process, kernel and scratch folder go
with it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import nbformat
import pytest

from tests.autograder import toycourse as T
from tests.helpers.nbgrader_course import grading_env, solution_submission
from tests.infra.test_kill import _leftover_processes, descendants, still_running

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("infra_dask")]

DASK = str(Path(sys.executable).parent / "dask")
SLOW = ("import time\n_t0 = time.monotonic()\nwhile time.monotonic() - _t0 < 25:\n    pass\n"
        "def add(a, b):\n    return a + b\n")
EXPECTED = {"good": ("graded", 6.0), "good2": ("graded", 6.0), "buggy": ("graded", 4.0),
            "blank": ("graded", 0.0), "badjson": ("unreadable_notebook", 0.0), "slow": ("graded", 6.0)}


def _sh(*cmd: str) -> None:
    subprocess.run(cmd, check=True, capture_output=True, timeout=30)


class Namespaces:
    """Two network namespaces, each a "host" 10.233.<i>.2 behind a veth to 10.233.<i>.1 on this host."""

    def __init__(self):
        tag = uuid.uuid4().hex[:6]
        self.names = [f"rgt{tag}{i}" for i in (1, 2)]
        self.made: list[str] = []

    def up(self) -> bool:
        if os.geteuid() != 0 or not shutil.which("ip"):
            return False
        try:
            for i, ns in enumerate(self.names, 1):
                host_if, ns_if = f"{ns}h", f"{ns}n"
                _sh("ip", "netns", "add", ns)
                self.made.append(ns)
                _sh("ip", "link", "add", host_if, "type", "veth", "peer", "name", ns_if)
                _sh("ip", "link", "set", ns_if, "netns", ns)
                _sh("ip", "addr", "add", f"10.233.{i}.1/30", "dev", host_if)
                _sh("ip", "link", "set", host_if, "up")
                _sh("ip", "netns", "exec", ns, "ip", "addr", "add", f"10.233.{i}.2/30", "dev", ns_if)
                _sh("ip", "netns", "exec", ns, "ip", "link", "set", ns_if, "up")
                _sh("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")  # the kernels' ZMQ sockets
        except (subprocess.CalledProcessError, OSError):
            self.down()
            return False
        return True

    def down(self) -> None:
        for ns in self.made:
            subprocess.run(["ip", "link", "del", f"{ns}h"], capture_output=True)  # removes both veth ends
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        self.made = []


@pytest.fixture
def cluster(tmp_path):
    """Scheduler on this host; two no-nanny workers (in their own namespaces when possible)."""
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    env = dict(grading_env(), TMPDIR=str(tmpdir), DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES="3")
    nets = Namespaces()
    use_netns = nets.up()
    procs = []
    sched_file = tmp_path / "scheduler.json"
    host = "0.0.0.0" if use_netns else "127.0.0.1"
    procs.append(subprocess.Popen([DASK, "scheduler", "--host", host, "--port", "0", "--no-dashboard",
                                   "--scheduler-file", str(sched_file)], env=env, cwd=tmp_path,
                                  stdout=subprocess.DEVNULL, stderr=open(tmp_path / "scheduler.log", "w"),
                                  start_new_session=True))
    try:
        end = time.monotonic() + 120
        while not sched_file.exists() and time.monotonic() < end:
            time.sleep(0.2)
        assert sched_file.exists(), (tmp_path / "scheduler.log").read_text()[-3000:]
        port = json.loads(sched_file.read_text())["address"].rsplit(":", 1)[1]
        for i, name in enumerate(("w1", "w2"), 1):
            if use_netns:
                cmd = ["ip", "netns", "exec", nets.names[i - 1], DASK, "worker", f"tcp://10.233.{i}.1:{port}",
                       "--host", f"10.233.{i}.2"]
            else:
                cmd = [DASK, "worker", f"tcp://127.0.0.1:{port}", "--host", "127.0.0.1"]
            cmd += ["--name", name, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                    "--local-directory", str(tmpdir)]
            procs.append(subprocess.Popen(cmd, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL,
                                          stderr=open(tmp_path / f"{name}.log", "w"), start_new_session=True))
        address = f"tcp://127.0.0.1:{port}"
        from distributed import Client

        with Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=180)
            info = client.scheduler_info()["workers"]
        print(f"dask cluster: scheduler {address}, workers {sorted(info)}"
              f" ({'own network namespaces' if use_netns else 'loopback, no network namespaces'})")
        yield {"address": address, "tmp": tmpdir, "env": env, "netns": use_netns, "workers": sorted(info),
               "procs": procs, "logs": tmp_path}
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(10)
        nets.down()


def _course(root: Path):
    c = T.make_course(root)
    src = c.source_nb(T.A)
    c.submit(T.A, "good", solution_submission(src))
    c.submit(T.A, "good2", solution_submission(src))
    c.submit(T.A, "buggy", T.with_answer(c, "add", "def add(a, b):\n    return a - b\n"))
    c.submit(T.A, "blank", nbformat.read(str(c.release_path(T.A)), as_version=4))
    c.submit(T.A, "slow", T.with_answer(c, "add", SLOW))
    T.write_raw(c, "badjson", b'{"cells": [')
    return c


def _grade(root, address, env):
    return subprocess.Popen([sys.executable, "-m", "autograder", "grade", T.A, "--scheduler", address,
                             "--no-progress", "--timeout-cell", "90"], cwd=root, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _statuses(root):
    folder = root / "grades" / T.A / "results"
    return {p.stem: (json.loads(p.read_text())["extra_data"]["status"], json.loads(p.read_text())["score"])
            for p in folder.glob("*.json")}


def test_sigkill_a_worker_holding_a_submission(tmp_path, cluster):
    from distributed import Client

    c = _course(tmp_path / "course")
    proc = _grade(c.root, cluster["address"], cluster["env"])
    victim = None
    with Client(cluster["address"], timeout="60s") as client:
        end = time.monotonic() + 600
        while victim is None and time.monotonic() < end:
            for worker, keys in client.processing().items():
                if any(str(k).startswith(f"grade-{T.A}-slow-") for k in keys):
                    victim = worker
            assert proc.poll() is None, proc.communicate()[0][-3000:]
            time.sleep(0.2)
        assert victim, "the slow submission never started on a worker"
        pid = client.run(os.getpid, workers=[victim])[victim]
        # wait until it runs the notebook: a kernel under this worker's fork server's grading process
        end = time.monotonic() + 300
        while not any("ipykernel" in cmd for cmd in descendants(pid).values()):
            assert time.monotonic() < end, f"no kernel under the worker: {descendants(pid)}"
            time.sleep(0.2)
        family = descendants(pid)
        assert not (c.root / "grades" / T.A / "results" / "slow.json").exists()
        os.kill(pid, signal.SIGKILL)
        # its fork server sees the worker gone and kills the grading process and kernel at once
        assert still_running(family, 10) == {}
        out, _ = proc.communicate(timeout=900)
        assert proc.returncode == 0, out[-4000:]
        survivors = list(client.scheduler_info()["workers"])
    assert victim not in survivors and len(survivors) == 1
    got = _statuses(c.root)
    others = {s: v for s, v in got.items() if s != "slow"}
    assert others == {s: v for s, v in EXPECTED.items() if s != "slow"}
    if got["slow"][0] == "error":  # left for the next run, which regrades it (and only it)
        proc = _grade(c.root, cluster["address"], cluster["env"])
        out, _ = proc.communicate(timeout=900)
        assert proc.returncode == 0 and "skipping 5 student(s)" in out, out[-3000:]
        got = _statuses(c.root)
    assert got == EXPECTED
    print(f"killed worker {victim} (pid {pid}) while it graded 'slow'; final: {got['slow']}")
    # Shut the cluster down: then nothing that ran under it (the killed worker's grading process and
    # kernel included) may still be running, and no scratch folder of the slow student may remain.
    for p in reversed(cluster["procs"]):
        if p.poll() is None:
            p.terminate()
            p.wait(60)
    markers = [str(cluster["tmp"])]
    end = time.monotonic() + 30
    while _leftover_processes(markers) and time.monotonic() < end:
        time.sleep(0.5)
    assert _leftover_processes(markers) == []
    assert [p.name for p in cluster["tmp"].glob("autograder-*")] == []
