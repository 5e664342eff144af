"""The environment the training and prediction jobs set before torch loads."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nettime.cpu_env import (
    CPU_ENV,
    KERNELS_VARIABLE,
    PORTABLE_KERNELS,
    CpuEnvError,
    _cpu_has_avx2,
    job_env,
    set_cpu_env,
)

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = REPO / "workflow" / "scripts"
needs_avx2 = pytest.mark.skipif(not _cpu_has_avx2(), reason="portable kernels need AVX2")


def test_set_cpu_env_fills_in_only_what_the_user_left_unset(monkeypatch):
    for name in CPU_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    set_cpu_env()
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"
    assert os.environ["THP_MEM_ALLOC_ENABLE"] == CPU_ENV["THP_MEM_ALLOC_ENABLE"]


@needs_avx2
def test_portable_kernels_by_default_native_on_request(monkeypatch):
    monkeypatch.delenv(KERNELS_VARIABLE, raising=False)
    assert PORTABLE_KERNELS.items() <= job_env().items()
    assert "NPY_DISABLE_CPU_FEATURES" in job_env()
    monkeypatch.setenv(KERNELS_VARIABLE, "native")
    assert job_env() == CPU_ENV


def test_an_unknown_kernel_choice_is_refused(monkeypatch):
    monkeypatch.setenv(KERNELS_VARIABLE, "fastest")
    with pytest.raises(CpuEnvError, match=f"{KERNELS_VARIABLE}='fastest'.*portable, native"):
        job_env()


@needs_avx2
def test_a_job_computes_with_the_avx2_code_of_torch_and_numpy():
    # On an AVX-512 CPU each library would pick its AVX-512 code, whose sums round otherwise.
    code = ("from nettime.cpu_env import set_cpu_env; set_cpu_env(); import torch, numpy; "
            "from numpy._core._multiarray_umath import __cpu_features__ as on, "
            "__cpu_dispatch__ as targets; "
            "print(torch.backends.cpu.get_cpu_capability(), [t for t in targets if on[t]])")
    env = {k: v for k, v in os.environ.items()
           if k not in {**PORTABLE_KERNELS, "NPY_DISABLE_CPU_FEATURES": "", KERNELS_VARIABLE: ""}}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=env)
    capability, numpy_targets = out.stdout.split(" ", 1)
    assert capability == "AVX2"
    assert "X86_V4" not in numpy_targets and "AVX512" not in numpy_targets


def test_the_workflow_refuses_an_unknown_kernel_choice_before_any_job(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"), **{KERNELS_VARIABLE: "fastest"})
    done = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--cores", "1", "-s",
                           str(REPO / "workflow/Snakefile"), "--directory", str(tmp_path),
                           "--configfile", str(REPO / "config/config.yaml")],
                          env=env, capture_output=True, text=True)
    assert done.returncode != 0
    assert f"Invalid environment: environment variable {KERNELS_VARIABLE}='fastest'" in (
        done.stdout + done.stderr)
    assert not (tmp_path / "results").exists()


def test_importing_cpu_env_does_not_load_torch_or_numpy():
    code = "import sys, nettime.cpu_env; print(sorted({'torch', 'numpy'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


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
