"""Suite-wide settings: headless plots and widgets, the offline dataset, one BLAS thread."""

import os
import sys
from pathlib import Path

os.environ.setdefault("COURSE_HEADLESS", "1")
os.environ.setdefault("COURSE_DATASET", "digits")
os.environ.setdefault("MPLBACKEND", "Agg")
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
# nbgrader shells out to `alembic` when it creates a gradebook: the venv's bin goes first on PATH,
# also when pytest runs without the venv activated.
_BIN = str(Path(sys.executable).parent)
if _BIN not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _BIN + os.pathsep + os.environ.get("PATH", "")

# `postgres_server` (a throwaway PostgreSQL per test process) and `db_url` (sqlite and postgresql)
from tests.helpers.postgres import db_url, postgres_server  # noqa: E402,F401


def pytest_terminal_summary(terminalreporter):
    """Say where the browser tests left their screenshots (also under xdist)."""
    ran_browser = any(
        getattr(r, "nodeid", "").startswith("tests/browser/")
        for reports in terminalreporter.stats.values() for r in reports if hasattr(r, "nodeid")
    )
    if ran_browser:
        from pathlib import Path

        artifacts = os.environ.get("BROWSER_ARTIFACTS") or str(Path(__file__).resolve().parents[1] / "artifacts" / "browser")
        terminalreporter.write_line(f"browser screenshots: {artifacts}")
