#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image.
# It installs Python 3.11 (the course's version) in /opt/regopt-venv, torch (CPU
# build), and the course's packages from the bundled sources with their
# dependencies (nbgrader, nbclient, ...), then registers the python3 kernel.
set -euo pipefail
SRC="${AUTOGRADER_SOURCE:-/autograder/source}"
VENV=/opt/regopt-venv

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# bubblewrap: the autograder sandboxes student kernels with it where the container allows namespaces
apt-get install -y -qq python3 python3-pip python3-venv curl ca-certificates bubblewrap >/dev/null

if command -v python3.11 >/dev/null 2>&1; then
    python3.11 -m venv "$VENV"
else
    # The base image's python3 may be older than 3.11: fetch a standalone 3.11 with uv.
    python3 -m pip install --quiet uv || python3 -m pip install --quiet --break-system-packages uv
    python3 -m uv venv --python 3.11 --seed "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet "@TORCH_SPEC@" --index-url https://download.pytorch.org/whl/cpu
"$VENV/bin/python" -m pip install --quiet "$SRC/course"
"$VENV/bin/python" -m ipykernel install --prefix "$VENV" --name python3 --display-name "Python 3 (ipykernel)"
"$VENV/bin/python" -c "import torch, nbgrader, autograder, course_utils; print('torch', torch.__version__, 'nbgrader', nbgrader.__version__)"
