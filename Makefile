# Regularization + Optimization course: one entry point for every role.
#   make demo   build the release, check the course, grade sample submissions
#   make test   the whole test suite (what CI runs)
#   make lab    JupyterLab on workspace/, the student's own copy of release/ (students)
#   make publish  every course gate, then release/ (instructors; ARGS="--exchange" or ARGS="--bundle dist")
#
# TORCH_SPEC picks the torch build installed before everything else. The
# default is the CPU build this course's CI uses; on a CUDA machine use e.g.
#   make demo TORCH_SPEC=torch
PYTHON     ?= python3.11
VENV       ?= .venv
TORCH_SPEC ?= torch==2.13.0
WORKERS    ?= 2
PY         := $(VENV)/bin/python
STAMP      := $(VENV)/.installed

export COURSE_DATASET ?= digits
# nbgrader runs `alembic` from PATH: put the venv first
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: env release check publish demo test test-fast test-browser lab bench clean help

help:
	@sed -n '2,9p' Makefile

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found; install Python 3.11 or run make PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet -e ".[dev]"
	$(PY) -m ipykernel install --prefix $(VENV) --name python3 --display-name "Python 3 (ipykernel)" >/dev/null
	touch $(STAMP)

env: $(STAMP)

release: env
	$(PY) -m autograder release

check: env
	$(PY) -m autograder release --check

demo: env
	$(PY) -m autograder demo --workers $(WORKERS)

test: env
	$(PY) -m pytest -n $(WORKERS) --dist loadgroup --durations=15

test-fast: env
	$(PY) -m pytest -n $(WORKERS) --dist loadgroup -m "not slow and not browser"

test-browser: env
	$(PY) -m pytest tests/browser -m browser -rA

publish: env
	$(PY) -m autograder publish --workers $(WORKERS) $(ARGS)

# Students work in workspace/ (git-ignored), never in release/, which the
# instructor's commands regenerate; nbgrader's instructor tools are disabled.
lab: env
	$(PY) -m course_utils.workspace --release release --workspace workspace
	JUPYTER_CONFIG_PATH=$(CURDIR)/tools/student_jupyter$${JUPYTER_CONFIG_PATH:+:$$JUPYTER_CONFIG_PATH} \
	COURSE_HEADLESS=0 $(VENV)/bin/jupyter lab --notebook-dir=workspace

bench: env
	for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf submitted autograded feedback grades gradebook.db artifacts dist
