"""pyproject.toml and environment.yml declare the same dependencies."""

import re
import tomllib
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def _norm(req: str) -> tuple[str, str]:
    name = re.split(r"[<>=!~ ;\[]", req, maxsplit=1)[0]
    spec = req[len(name):].replace(" ", "")
    return name.lower().replace("_", "-"), spec


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    declared = dict(_norm(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"])
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    conda_pins = [d for d in env["dependencies"] if isinstance(d, str)]
    assert "python=3.11" in conda_pins
    assert "-e ." in pip_section, "environment.yml must install the course itself with `-e .`"
    env_reqs = dict(_norm(r) for r in pip_section if r != "-e .")
    missing = {k: v for k, v in declared.items() if k not in env_reqs}
    extra = {k: v for k, v in env_reqs.items() if k not in declared}
    differ = {k: (declared[k], env_reqs[k]) for k in declared.keys() & env_reqs.keys() if declared[k] != env_reqs[k]}
    assert not missing, f"in pyproject.toml but not environment.yml: {missing}"
    assert not extra, f"in environment.yml but not pyproject.toml: {extra}"
    assert not differ, f"version specs differ (pyproject, environment.yml): {differ}"


def test_torch_is_overridable_in_makefile_and_ci():
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"^TORCH_SPEC\s*\?=", makefile, re.M), "Makefile must let users override TORCH_SPEC"
    assert '"$(TORCH_SPEC)"' in makefile
    ci = (REPO / ".ci" / "run").read_text()
    readme = (REPO / "README.md").read_text()
    test_cmd = re.search(r"^\s*make test\s*$", ci, re.M)
    assert test_cmd, ".ci/run must call `make test`"
    assert "make test" in readme, "README must give the test command CI runs"
