"""The linters the README and `make lint` name: ruff, snakefmt and `snakemake --lint` are clean."""

import os
import subprocess
import sys

import pytest
from helpers import ROOT

pytestmark = pytest.mark.slow


def run(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True,
                          text=True, env=env, timeout=600)


def test_ruff():
    result = run("ruff", "check", "src", "tests", "workflow/scripts", "benchmarks")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_snakefmt():
    result = run("snakefmt", "--check", "workflow")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_snakemake_lint():
    result = run("snakemake", "--lint")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
