#!/usr/bin/env bash
# Set up everything the pipeline and its tests need on a fresh Debian machine:
# bedtools (apt, when missing), a Python virtual environment in .venv, torch (the local CPU
# build where one exists, else PyPI), and this package with snakemake, the dev tools and the
# SLURM executor plugin (for `snakemake --profile slurm`).
# Safe to rerun: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}

if ! command -v bedtools >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "setup: installing bedtools from apt"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bedtools >/dev/null
    else
        echo "setup: bedtools is missing; install it (apt-get install bedtools, or conda install -c bioconda bedtools)" >&2
        exit 1
    fi
fi

if [ ! -x "$VENV/bin/python" ]; then
    echo "setup: creating $VENV"
    "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check -q)

stamp="$VENV/.nettime-installed"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    # Prefer a CPU build of torch that is already on this machine (no download of CUDA
    # packages); the package's own requirement stays a range so CUDA builds work elsewhere.
    if ! "$VENV/bin/python" -c "import torch" >/dev/null 2>&1; then
        "${PIP[@]}" install torch==2.13.0 2>/dev/null \
            || "${PIP[@]}" install "torch>=2.2,<3"
    fi
    echo "setup: installing nettime and its dependencies into $VENV"
    "${PIP[@]}" install -e ".[dev,slurm]"
    touch "$stamp"
fi
echo "setup: ready ($("$VENV/bin/python" --version), $(bedtools --version))"
