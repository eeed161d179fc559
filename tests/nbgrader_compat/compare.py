"""Grade nbgrader-compatibility scenarios both ways and print the per-cell differences.

    .venv/bin/python tests/nbgrader_compat/compare.py                    # every scenario
    .venv/bin/python tests/nbgrader_compat/compare.py manual_cells late_plugin
    .venv/bin/python tests/nbgrader_compat/compare.py --list
    .venv/bin/python tests/nbgrader_compat/compare.py timeouts --keep /tmp/compat   # keep the courses

Each scenario is built once, copied, graded by ``nbgrader autograde`` and by ``python -m autograder grade``
(see harness.py); the table lists every gradebook field that differs (nbgrader's value, then the
project's), then whether the project's grades.csv/results agree with its own gradebook. Exit status 1
when any scenario has an undocumented difference.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.nbgrader_compat.harness import consistency, run_scenario, table  # noqa: E402
from tests.nbgrader_compat.scenarios import SCENARIOS  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("scenarios", nargs="*", help="scenario names (default: all)")
    p.add_argument("--list", action="store_true", help="list the scenarios and exit")
    p.add_argument("--keep", metavar="DIR", help="build the courses under DIR/<scenario> and keep them")
    args = p.parse_args(argv)
    if args.list:
        for s in SCENARIOS.values():
            print(f"{s.name:26s} {s.doc}\n{'':26s} nbgrader: {s.origin}")
        return 0
    unknown = [n for n in args.scenarios if n not in SCENARIOS]
    if unknown:
        p.error(f"unknown scenario(s) {', '.join(unknown)}; --list shows them")
    failed = 0
    for name in args.scenarios or list(SCENARIOS):
        if args.keep:
            root = Path(args.keep) / name
            if root.exists():
                p.error(f"{root} exists; remove it or choose another --keep folder")
            out = run_scenario(SCENARIOS[name], root)
        else:
            with tempfile.TemporaryDirectory(prefix=f"compat-{name}-") as tmp:
                out = run_scenario(SCENARIOS[name], Path(tmp))
                text, problems = table(out), consistency(Path(tmp) / "project")
        if args.keep:
            text, problems = table(out), consistency(root / "project")
        print(text, flush=True)
        print()
        failed += bool(out.undocumented() or out.unused_deliberate() or problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
