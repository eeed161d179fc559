"""A throwaway PostgreSQL server for the gradebook tests, and the ``db_url`` fixtures.

The server is Debian's ``postgresql`` package run by hand: ``initdb`` into a temp
folder, ``pg_ctl start`` listening on a free loopback port and on a unix socket in
that folder, fsync off (the data is thrown away). PostgreSQL refuses to run as
root, so under root (CI) it runs as the ``postgres`` system user the package
creates. One database per test (``create_database``); ``pg_ctl stop`` and the
folder removed at the end of the session (one server per xdist worker).

Without the binaries the PostgreSQL parameter skips locally with a message
saying what to install, and FAILS under ``CI=true``: CI installs the package
(``.ci/run``), so a missing server there is a broken environment, not a skip.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

MISSING = ("PostgreSQL server binaries (initdb, pg_ctl) not found under /usr/lib/postgresql/*/bin or on PATH: "
           "install them with `apt-get install postgresql` (CI's .ci/run does)")


def find_bindir() -> Path | None:
    """Newest ``/usr/lib/postgresql/<version>/bin`` with initdb and pg_ctl, else the one on PATH."""
    def version(d):
        try:
            return int(Path(d).parent.name)
        except ValueError:
            return 0

    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True):
        if (Path(d) / "initdb").exists() and (Path(d) / "pg_ctl").exists():
            return Path(d)
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(initdb).parent
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    """``initdb`` + ``pg_ctl`` in a temp folder; trust authentication on loopback and the socket only."""

    def __init__(self, bindir: Path):
        self.bindir = Path(bindir)
        self.port = _free_port()
        self.tmp = Path(tempfile.mkdtemp(prefix="regopt-pg-"))
        self.data = self.tmp / "data"
        self.sockdir = self.tmp / "sock"
        self.log = self.tmp / "server.log"
        self._user = pwd.getpwnam("postgres") if os.geteuid() == 0 else None

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        env = dict(os.environ, LC_ALL="C.UTF-8", LANG="C.UTF-8")
        kw = {}
        if self._user is not None:  # initdb/postgres refuse root: drop to the postgres system user
            uid, gid = self._user.pw_uid, self._user.pw_gid
            env["HOME"] = self._user.pw_dir

            def demote():
                os.setgroups([])
                os.setgid(gid)
                os.setuid(uid)

            kw["preexec_fn"] = demote
        proc = subprocess.run([str(self.bindir / args[0]), *args[1:]], env=env, cwd=self.tmp,
                              capture_output=True, text=True, timeout=timeout, **kw)
        if proc.returncode != 0:
            log = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
            raise RuntimeError(f"{' '.join(args[:2])} failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n"
                               f"{proc.stderr[-2000:]}\n{log}")
        return proc

    def start(self) -> "PostgresServer":
        self.sockdir.mkdir()
        self.log.touch()
        if self._user is not None:
            os.chmod(self.tmp, 0o755)
            for p in (self.sockdir, self.log):
                os.chown(p, self._user.pw_uid, self._user.pw_gid)
            self.data.mkdir(mode=0o700)
            os.chown(self.data, self._user.pw_uid, self._user.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--encoding=UTF8",
                  "--no-sync", "--no-instructions")
        opts = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.sockdir} -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", opts, "-w", "-t", "60", "start")
        return self

    def url(self, database: str = "postgres") -> str:
        """SQLAlchemy 2 URL through psycopg 3 (what a TA puts in ``c.CourseDirectory.db_url``)."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str | None = None) -> str:
        import psycopg

        name = name or f"gb_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", timeout=60)
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)


def require_postgres() -> Path:
    """The bindir, or skip (locally) / fail (under CI=true) with what to install."""
    ci = os.environ.get("CI", "").lower() in ("1", "true", "yes")
    bindir = find_bindir()
    problem = None if bindir else MISSING
    if problem is None:
        try:
            import psycopg  # noqa: F401
        except ImportError:
            problem = "psycopg (v3) is not installed: pip install 'psycopg[binary]' (a dependency in pyproject.toml)"
    if problem:
        if ci:
            pytest.fail(f"CI=true and {problem}", pytrace=False)
        pytest.skip(problem)
    return bindir


@pytest.fixture(scope="session")
def postgres_server():
    """One PostgreSQL server per test process (xdist worker), stopped at the end of the session."""
    server = PostgresServer(require_postgres()).start()
    try:
        yield server
    finally:
        server.stop()


def db_url_for(kind: str, folder: Path, request) -> str:
    """A fresh, empty gradebook URL of ``kind`` ("sqlite" or "postgresql")."""
    if kind == "sqlite":
        Path(folder).mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{Path(folder) / 'gradebook.db'}"
    return request.getfixturevalue("postgres_server").create_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A fresh gradebook: a sqlite file, then a database on the throwaway PostgreSQL server."""
    return db_url_for(request.param, tmp_path / "db", request)
