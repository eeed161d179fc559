"""How a student kernel is launched: the one seam the sandbox plugs into.

Everything about the process that runs student code lives here: its
environment, its command line and its transport. The grader calls
:func:`grading_kernel_manager_class` and nbclient does the rest.

- Transport is IPC (unix sockets in the task's private ``ipc_dir``), so parallel
  kernels never race for TCP ports and a kernel can later run without a network
  namespace.
- :func:`wrap_kernel_command` receives the final kernel argv together with the
  only two folders the kernel needs (its working directory and ``ipc_dir``); it
  returns the argv unchanged today. A sandbox (bubblewrap) replaces it and
  reports itself through :func:`sandbox_description`.
- The kernel's pid and start time are written to ``ipc_dir/kernel.pid`` so the grader can kill a
  kernel that outlives its notebook budget (jupyter_client starts kernels in
  their own session, out of reach of a process-group kill).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager

#: Variables forced in every student kernel.
KERNEL_ENV = {
    "COURSE_HEADLESS": "1",
    "MPLBACKEND": "Agg",
    # One BLAS/OpenMP thread per kernel: N workers on N cores, no oversubscription.
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
    "VECLIB_MAXIMUM_THREADS": "1",
    "PYTHONWARNINGS": "ignore::DeprecationWarning",
    "PYDEVD_DISABLE_FILE_VALIDATION": "1",
}
#: Course settings passed through from the TA's environment when set.
PASSTHROUGH_DEFAULTS = {"COURSE_DATASET": "digits", "COURSE_DEVICE": "cpu"}


def grading_env(base: dict | None = None) -> dict:
    """The environment of everything that runs course notebooks: the grading process, the student kernel,
    the course gates and the Gradescope runner (the one place it is built).

    Course settings from ``PASSTHROUGH_DEFAULTS`` keep the TA's value when set; ``KERNEL_ENV`` is forced
    (headless, one BLAS thread per kernel); this interpreter's bin folder goes first on PATH (nbgrader
    shells out to ``alembic``).
    """
    env = dict(os.environ if base is None else base)
    for key, default in PASSTHROUGH_DEFAULTS.items():
        env.setdefault(key, default)
    env.update(KERNEL_ENV)
    bindir = os.path.dirname(sys.executable)
    if bindir not in env.get("PATH", "").split(os.pathsep):
        env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    return env


def wrap_kernel_command(cmd: list[str], workdir: str | None, ipc_dir: str, env: dict | None = None) -> list[str]:
    """Return the argv that actually runs the kernel: bubblewrap around it where possible (autograder.grading.sandbox)."""
    from . import sandbox

    return sandbox.wrap(cmd, workdir, ipc_dir, env)


def sandbox_description() -> str:
    """The sandbox in use, or a line starting with "UNSANDBOXED:" that says why not (autograder.grading.sandbox)."""
    from . import sandbox

    return sandbox.description()


def grading_kernel_manager_class(ipc_dir: str | os.PathLike):
    """A KernelManager class bound to one grading task's private ``ipc_dir``."""
    ipc = Path(ipc_dir)
    ipc.mkdir(parents=True, exist_ok=True)

    class GradingKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.transport = "ipc"
            self.ip = str(ipc / "k")
            self.connection_file = str(ipc / "kernel.json")

        async def _async_pre_start_kernel(self, **kw):
            cmd, kw = await super()._async_pre_start_kernel(**kw)
            env = kw.get("env") or dict(os.environ)
            kw["env"] = grading_env(env)
            wrapped = wrap_kernel_command(cmd, kw.get("cwd"), str(ipc), kw["env"])
            if wrapped != cmd:  # sandboxed (autograder.grading.sandbox)
                from . import sandbox

                kw["env"] = sandbox.sandboxed_env(kw["env"])
                # Signals sent to bwrap do not reach a kernel in its own session: interrupt by message.
                self.kernel_spec.interrupt_mode = "message"
            return wrapped, kw

        async def _async_launch_kernel(self, kernel_cmd, **kw):
            await super()._async_launch_kernel(kernel_cmd, **kw)
            pid = getattr(self.provisioner, "pid", None)
            if pid:
                from .procs import start_time

                (ipc / "kernel.pid").write_text(f"{pid} {start_time(pid)}")

    return GradingKernelManager
