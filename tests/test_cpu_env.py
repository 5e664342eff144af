"""The environment the training and prediction jobs set before torch loads."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nettime.cpu_env import CPU_ENV, set_cpu_env

SCRIPTS = Path(__file__).resolve().parents[1] / "workflow" / "scripts"


def test_set_cpu_env_fills_in_only_what_the_user_left_unset(monkeypatch):
    for name in CPU_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    set_cpu_env()
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"
    assert os.environ["THP_MEM_ALLOC_ENABLE"] == CPU_ENV["THP_MEM_ALLOC_ENABLE"]


def test_importing_cpu_env_does_not_load_torch():
    code = "import sys, nettime.cpu_env; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("module", ["nettime.models.fit", "nettime.models.prediction",
                                    "nettime.baselines.leopard", "nettime.baselines.deepbind"])
def test_model_job_modules_do_not_load_pandas_or_jsonschema(module):
    # ~0.25 CPU-s of each model job's start (benchmarks/job_startup.py); they need neither.
    code = f"import sys, {module}; print(sorted({{'pandas', 'jsonschema'}} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("script", ["train_model.py", "predict.py"])
def test_job_scripts_set_the_env_before_any_other_import(script):
    body = ast.parse((SCRIPTS / script).read_text()).body
    statements = [s for s in body if not (isinstance(s, ast.Expr)
                                          and isinstance(s.value, ast.Constant))]
    first, second = statements[:2]
    assert isinstance(first, ast.ImportFrom) and first.module == "nettime.cpu_env"
    assert isinstance(second, ast.Expr) and ast.unparse(second) == "set_cpu_env()"
