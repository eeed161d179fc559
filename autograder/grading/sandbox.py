"""Run each student kernel inside bubblewrap (bwrap), with resource limits.

Only the kernel is sandboxed: nbgrader, the scratch gradebook and the hidden
tests stay in the trusted grading process, which talks to the kernel over ZMQ
unix sockets in the task's private ``ipc`` folder.

The sandbox starts from an EMPTY root and adds back, read-only, only what a
kernel needs (fail closed: a folder nobody thought of stays invisible):

- the system (``/usr``, ``/bin``, ``/lib*``, ``/etc``), the Python installation
  (``sys.base_prefix``, the venv) and the source folder of each editable package
  in :attr:`SandboxSettings.packages` (``course_utils``);
- a private ``/tmp`` (size-limited tmpfs), a fresh ``/proc`` and minimal ``/dev``;
- read-write: the kernel's working folder (the scratch submission: no gradebook,
  no source notebook, no hidden tests) and the ``ipc`` folder.

So the course folder, ``source/``, the gradebook, other students' scratch
folders and ``$HOME`` are simply absent. Namespaces: no network, own pid, ipc
and uts namespaces; ``--die-with-parent`` and ``--new-session``. A tiny
pre-exec step inside the sandbox sets rlimits (address space, CPU seconds,
processes, file size, open files, no core dumps) and, when the grader runs as
root, drops to an unprivileged per-task uid (Linux exempts root from
RLIMIT_NPROC, so a fork bomb is only bounded for a non-root uid).

Every limit is a documented trait of :class:`Sandbox`, set with
``c.Sandbox.<name> = ...`` in ``nbgrader_config.py``; the environment variables
``AUTOGRADER_SANDBOX`` (``auto``/``require``/``off``) and
``AUTOGRADER_SANDBOX_<NAME>`` (e.g. ``AUTOGRADER_SANDBOX_MEMORY_MB=2048``)
override it for one run. Where bwrap is
missing or cannot create namespaces (macOS, a container without user
namespaces) grading runs unsandboxed in ``auto`` mode and every output says so;
``require`` makes that a per-student error instead.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from traitlets import Enum, Int, List, TraitError, Unicode
from traitlets.config import Config, Configurable

ENV_MODE = "AUTOGRADER_SANDBOX"
ENV_PREFIX = "AUTOGRADER_SANDBOX_"
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
#: Environment variables a kernel keeps (everything else, e.g. tokens in the TA's shell, is dropped).
KEEP_ENV = ("LANG", "LANGUAGE", "TZ", "PYTHONHASHSEED", "PYTHONWARNINGS", "PYDEVD_DISABLE_FILE_VALIDATION",
            "MPLBACKEND", "NBGRADER_EXECUTION", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
            "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")
KEEP_ENV_PREFIXES = ("COURSE_", "LC_")


class SandboxUnavailable(RuntimeError):
    """``AUTOGRADER_SANDBOX=require`` but bubblewrap cannot run here."""


class Sandbox(Configurable):
    """The kernel sandbox and its limits, per kernel (``c.Sandbox.<name>`` in nbgrader_config.py).

    An ``AUTOGRADER_SANDBOX`` (mode) or ``AUTOGRADER_SANDBOX_<NAME>`` environment variable wins
    over the config, so a TA can change one run without editing the course.
    """

    mode = Enum(["auto", "require", "off"], "auto", help=(
        "auto: bubblewrap when it works here, else unsandboxed and every result says so; "
        "require: a student whose kernel cannot be sandboxed is an error; off: no sandbox")).tag(config=True)
    bwrap = Unicode("bwrap", help="the bubblewrap executable (name on PATH or a path)").tag(config=True)
    memory_mb = Int(4096, help="address space per kernel in MB (RLIMIT_AS; torch alone maps ~1.5 GB)").tag(config=True)
    cpu_seconds = Int(1200, help="CPU seconds per kernel (RLIMIT_CPU); the notebook budget is the wall-clock limit"
                      ).tag(config=True)
    max_processes = Int(256, help="processes and threads of the kernel's uid (RLIMIT_NPROC; torch and ZMQ start "
                        "~20)").tag(config=True)
    max_file_mb = Int(128, help="largest file the kernel may write, MB (RLIMIT_FSIZE)").tag(config=True)
    max_open_files = Int(1024, help="open files (RLIMIT_NOFILE)").tag(config=True)
    tmp_mb = Int(256, help="size of the kernel's private /tmp, MB").tag(config=True)
    uid_base = Int(61000, help="grader running as root: kernels run as uid_base + (task hash % 4000)"
                   ).tag(config=True)
    packages = List(Unicode(), ["course_utils"], help="importable packages whose source folders are bound "
                    "read-only (an editable install lives outside the venv)").tag(config=True)
    extra_ro_paths = List(Unicode(), [], help="more folders the kernel may read").tag(config=True)


@dataclass(frozen=True)
class SandboxSettings:
    """The resolved settings of one run: :class:`Sandbox`'s traits, then the environment's overrides."""

    mode: str
    bwrap: str
    memory_mb: int
    cpu_seconds: int
    max_processes: int
    max_file_mb: int
    max_open_files: int
    tmp_mb: int
    uid_base: int
    packages: tuple
    extra_ro_paths: tuple

    def describe(self) -> str:
        return (f"bubblewrap: no network, private /tmp, own pid namespace, read-only system; limits: memory "
                f"{self.memory_mb} MB, cpu {self.cpu_seconds} s, {self.max_processes} processes, files "
                f"{self.max_file_mb} MB")


def _env_key(name: str) -> str:
    return ENV_MODE if name == "mode" else ENV_PREFIX + name.upper()


def configure(values: dict | None) -> None:
    """Apply ``c.Sandbox.*`` values from an nbgrader config (and export them to child processes).

    An ``AUTOGRADER_SANDBOX*`` environment variable that is already set wins over the config.
    """
    values = dict(values or {})
    known = set(Sandbox.class_trait_names(config=True))
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"unknown sandbox setting c.Sandbox.{unknown[0]}; known: {', '.join(sorted(known))}")
    try:
        checked = Sandbox(config=Config({"Sandbox": values}))  # traitlets checks each value's type
    except TraitError as e:
        raise ValueError(f"c.Sandbox: {e}") from None
    for key in values:
        value = getattr(checked, key)
        os.environ.setdefault(_env_key(key), ",".join(map(str, value)) if isinstance(value, (list, tuple))
                              else str(value))
    probe.cache_clear()


def settings() -> SandboxSettings:
    """:class:`Sandbox`'s defaults, overridden by ``AUTOGRADER_SANDBOX*`` environment variables."""
    defaults = Sandbox()
    kw = {}
    for name in Sandbox.class_trait_names(config=True):
        value = getattr(defaults, name)
        raw = os.environ.get(_env_key(name))
        if raw is not None:
            if isinstance(value, int):
                try:
                    value = int(raw)
                except ValueError:
                    raise ValueError(f"{_env_key(name)}={raw!r}: expected a whole number") from None
            elif isinstance(value, (list, tuple)):
                value = [p for p in raw.split(",") if p]
            else:
                value = raw
        kw[name] = tuple(value) if isinstance(value, list) else value
    s = SandboxSettings(**kw)
    if s.mode not in ("auto", "require", "off"):
        raise ValueError(f"{ENV_MODE}={s.mode!r}: use auto, require or off")
    return s


# --- building the command -------------------------------------------------------------------------

# Runs inside the sandbox before the kernel: drop to the task uid (root only), set rlimits, exec.
_LIMITER = (
    "import os,sys,json,resource\n"
    "c=json.loads(sys.argv[1])\n"
    "if c.get('uid') is not None:\n"
    " os.setgroups([]);os.setgid(c['uid']);os.setuid(c['uid'])\n"
    "for n,v in c['rlimits']:\n"
    " r=getattr(resource,n);h=resource.getrlimit(r)[1]\n"
    " v=v if h==resource.RLIM_INFINITY else min(v,h)\n"
    " resource.setrlimit(r,(v,v))\n"
    "os.execv(sys.argv[2],sys.argv[2:])\n"
)


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _user_processes() -> int:
    """Tasks (threads included) the current uid owns: RLIMIT_NPROC counts them all."""
    uid, n = os.getuid(), 0
    try:
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    st = os.stat(f"/proc/{d}")
                    if st.st_uid == uid:
                        n += max(1, len(os.listdir(f"/proc/{d}/task")))
                except OSError:
                    continue
    except OSError:
        return 0
    return n


def task_uid(s: SandboxSettings, key: str) -> int:
    return s.uid_base + int(hashlib.sha256(key.encode()).hexdigest(), 16) % 4000


def _ro_paths(s: SandboxSettings) -> list[str]:
    paths = [sys.base_prefix, sys.prefix, sys.exec_prefix, os.path.dirname(os.path.realpath(sys.executable))]
    for name in s.packages:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec is not None and spec.submodule_search_locations:
            paths.extend(spec.submodule_search_locations)
        elif spec is not None and spec.origin:
            paths.append(os.path.dirname(spec.origin))
    paths.extend(s.extra_ro_paths)
    out = []
    for p in sorted({os.path.realpath(p) for p in paths if p and os.path.isdir(p)}, key=len):
        if not any(p == q or p.startswith(q.rstrip("/") + "/") for q in out + list(SYSTEM_DIRS)):
            out.append(p)
    return out


def _parents(path: str, made: set, args: list) -> None:
    """Create the ancestors of ``path`` world-traversable (bwrap would copy 0700 from /root)."""
    parts = Path(path).parts
    for i in range(2, len(parts)):
        anc = str(Path(*parts[:i]))
        if anc not in made:
            made.add(anc)
            args += ["--perms", "0755", "--dir", anc]


def build_command(cmd: list[str], workdir: str, ipc_dir: str, env: dict | None = None,
                  s: SandboxSettings | None = None) -> list[str]:
    """The bwrap argv that runs ``cmd`` sandboxed (no availability check; see :func:`wrap`)."""
    s = s or settings()
    env = dict(os.environ if env is None else env)
    workdir, ipc_dir = os.path.abspath(workdir), os.path.abspath(ipc_dir)
    root = _is_root()
    bwrap = shutil.which(s.bwrap) or s.bwrap
    if root:
        # Privileged bwrap without a user namespace, so the kernel can drop to a real unprivileged uid.
        args = [bwrap, "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
                "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:
        args = [bwrap, "--unshare-all"]
    args += ["--die-with-parent", "--new-session"]
    made: set = set()
    for d in SYSTEM_DIRS:
        if os.path.islink(d):
            args += ["--symlink", os.readlink(d), d]
        elif os.path.isdir(d):
            args += ["--ro-bind", d, d]
    # The private /tmp comes before the binds: a course or venv that lives under /tmp (a CI clone)
    # must be bound on top of it, not hidden by it.
    args += ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--size", str(s.tmp_mb * 1024 * 1024),
             "--tmpfs", "/tmp"]
    made.add("/tmp")
    for p in _ro_paths(s):
        _parents(p, made, args)
        args += ["--ro-bind", p, p]
        made.add(p)
    for p in (workdir, ipc_dir):
        _parents(p, made, args)
        args += ["--bind", p, p]
        made.add(p)
    args += ["--chdir", workdir, "--clearenv"]
    keep = {k: v for k, v in env.items() if k in KEEP_ENV or k.startswith(KEEP_ENV_PREFIXES)}
    keep.update({"HOME": "/tmp", "TMPDIR": "/tmp", "MPLCONFIGDIR": "/tmp/.matplotlib", "PYTHONNOUSERSITE": "1",
                 "PATH": os.pathsep.join([os.path.dirname(sys.executable), "/usr/local/bin", "/usr/bin", "/bin"])})
    keep.setdefault("LANG", "C.UTF-8")
    for k, v in sorted(keep.items()):
        args += ["--setenv", k, v]
    nproc = s.max_processes if root else _user_processes() + s.max_processes
    limits = {"uid": task_uid(s, ipc_dir) if root else None,
              "rlimits": [["RLIMIT_AS", s.memory_mb * 1024 * 1024], ["RLIMIT_CPU", s.cpu_seconds],
                          ["RLIMIT_NPROC", nproc], ["RLIMIT_FSIZE", s.max_file_mb * 1024 * 1024],
                          ["RLIMIT_NOFILE", s.max_open_files], ["RLIMIT_CORE", 0]]}
    py = os.path.realpath(sys.executable)
    return args + ["--", py, "-I", "-S", "-c", _LIMITER, json.dumps(limits), *cmd]


def prepare_dirs(workdir: str, ipc_dir: str, s: SandboxSettings | None = None) -> None:
    """Grader as root: hand the two writable folders (and the connection file) to the task uid."""
    if not _is_root():
        return
    uid = task_uid(s or settings(), os.path.abspath(ipc_dir))
    for top in (workdir, ipc_dir):
        for dirpath, dirnames, filenames in os.walk(top):
            for name in [dirpath, *(os.path.join(dirpath, f) for f in filenames)]:
                try:
                    os.chown(name, uid, uid, follow_symlinks=False)
                except OSError:
                    pass


@functools.lru_cache(maxsize=None)
def probe() -> tuple[bool, str]:
    """Can bubblewrap run a sandbox with our flags here? ``(ok, reason)``, cached per process."""
    s = settings()
    if s.mode == "off":
        return False, f"sandbox switched off ({ENV_MODE}=off)"
    if sys.platform != "linux":
        return False, f"bubblewrap needs Linux (this is {sys.platform})"
    if not shutil.which(s.bwrap):
        return False, f"{s.bwrap!r} not found (install bubblewrap: apt-get install bubblewrap)"
    import tempfile

    with tempfile.TemporaryDirectory(prefix="autograder-probe-") as tmp:
        from .scratch import mark

        mark(tmp)  # removed by the next run if this process is killed here (autograder.scratch)
        work, ipc = os.path.join(tmp, "w"), os.path.join(tmp, "ipc")
        os.mkdir(work)
        os.mkdir(ipc)
        prepare_dirs(work, ipc, s)
        true = shutil.which("true") or "/bin/true"
        cmd = build_command([true], work, ipc, env={}, s=s)
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired) as e:
            return False, f"bubblewrap failed to start: {e}"
    if proc.returncode != 0:
        err = (proc.stderr or "").strip().splitlines()
        return False, f"bubblewrap cannot create the sandbox here: {err[-1] if err else proc.returncode}"
    return True, "ok"


def available() -> bool:
    return probe()[0]


def description() -> str:
    """One line for outputs: the sandbox in use, or why the run is unsandboxed."""
    ok, reason = probe()
    if ok:
        return settings().describe()
    return f"UNSANDBOXED: {reason}"


def wrap(cmd: list[str], workdir: str | None, ipc_dir: str, env: dict | None = None) -> list[str]:
    """Kernel argv -> sandboxed argv (or ``cmd`` unchanged when unsandboxed in ``auto`` mode)."""
    s = settings()
    ok, reason = probe()
    if not ok:
        if s.mode == "require":
            raise SandboxUnavailable(f"{ENV_MODE}=require but {reason}")
        return list(cmd)
    workdir = workdir or os.getcwd()
    prepare_dirs(workdir, ipc_dir, s)
    return build_command(list(cmd), workdir, ipc_dir, env=env, s=s)


def sandboxed_env(env: dict) -> dict:
    """Environment of the bwrap process itself (the kernel's is set with --clearenv/--setenv)."""
    out = dict(env)
    out.pop("JPY_PARENT_PID", None)  # the parent's pid means nothing in a new pid namespace
    return out
