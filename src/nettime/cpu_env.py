"""Process-wide settings for torch and numpy on CPU, which take effect only if made before they
load.

Every job inherits them: the workflow sets them when Snakemake reads it, and the training and
prediction scripts call :func:`set_cpu_env` first thing as well (for runs outside Snakemake). A
value the user has exported already is left alone.

- ``OMP_WAIT_POLICY=PASSIVE``: idle OpenMP threads sleep instead of spinning, which keeps
  two-thread jobs fast when other jobs share the cores (6x faster under contention when
  measured; a job alone loses little since the GRU's per-step loop does not use OpenMP, see
  :mod:`nettime.models.gru`).
- ``THP_MEM_ALLOC_ENABLE=1``: torch aligns tensors of 2 MB and more to 2 MB and asks the kernel
  for transparent huge pages, so a freshly allocated activation is faulted in 2 MB at a time
  rather than 4 kB (about 10x fewer page faults per training step; no effect where the kernel
  has huge pages disabled).
- **Portable kernels** (:data:`PORTABLE_KERNELS`, on x86-64 CPUs with AVX2): torch's own
  kernels, its convolutions (oneDNN) and matrix products (MKL), and numpy's loops and matrix
  products (OpenBLAS) use their AVX2 code on every such CPU, AVX-512 ones included. Each library
  otherwise picks the widest instructions the CPU has, and sums in another order there;
  training amplifies those last-bit differences into another model, and a close verdict can
  flip. With one code path, a run gives the same numbers on any of these
  machines (at the same thread counts), so verdicts do not depend on the CPU.
  ``NETTIME_CPU_KERNELS=native`` leaves the libraries their own choice: faster on some CPUs
  with AVX-512 (``benchmarks/model_throughput.py --kernels portable native`` measures it),
  numbers then reproducible only on the same kind of CPU.
"""

from __future__ import annotations

import os
import platform
from importlib import metadata

CPU_ENV: dict[str, str] = {"OMP_WAIT_POLICY": "PASSIVE", "THP_MEM_ALLOC_ENABLE": "1"}
#: ``portable`` (the default) or ``native``: whether jobs use :data:`PORTABLE_KERNELS`.
KERNELS_VARIABLE = "NETTIME_CPU_KERNELS"
KERNEL_CHOICES = ("portable", "native")
#: The AVX2 code path of each library that jobs compute with.
PORTABLE_KERNELS: dict[str, str] = {
    "ATEN_CPU_CAPABILITY": "avx2",  # torch's own kernels
    "ONEDNN_MAX_CPU_ISA": "AVX2",  # torch's convolutions
    "MKL_CBWR": "AVX2",  # torch's matrix products (MKL's conditional numerical reproducibility)
    "OPENBLAS_CORETYPE": "Haswell",  # numpy's and scipy's matrix products
}
#: numpy's dispatch targets above AVX2, by the names of numpy >= 2.4 and of earlier releases
#: (naming one that a release lacks only makes numpy ignore it).
_NUMPY_WIDE_TARGETS = {"new": "X86_V4 AVX512_ICL AVX512_SPR",
                       "old": "AVX512F AVX512CD AVX512_KNL AVX512_KNM AVX512_SKX AVX512_CLX "
                              "AVX512_CNL AVX512_ICL AVX512_SPR"}


class CpuEnvError(ValueError):
    """An unknown :data:`KERNELS_VARIABLE` value."""


def _cpu_has_avx2() -> bool:
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    try:
        with open("/proc/cpuinfo") as handle:
            return any(line.startswith("flags") and " avx2" in line for line in handle)
    except OSError:  # not Linux: leave the libraries their own choice
        return False


def _numpy_wide_targets() -> str:
    try:
        major, minor = (int(part) for part in metadata.version("numpy").split(".")[:2])
    except (metadata.PackageNotFoundError, ValueError):
        return _NUMPY_WIDE_TARGETS["new"]
    return _NUMPY_WIDE_TARGETS["new" if (major, minor) >= (2, 4) else "old"]


def kernels() -> str:
    """The kernels jobs use: :data:`KERNELS_VARIABLE`'s value, ``portable`` when unset."""
    choice = os.environ.get(KERNELS_VARIABLE, "portable").strip().lower() or "portable"
    if choice not in KERNEL_CHOICES:
        raise CpuEnvError(f"environment variable {KERNELS_VARIABLE}={choice!r}: expected one of "
                          f"{', '.join(KERNEL_CHOICES)}")
    return choice


def job_env(choice: str | None = None) -> dict[str, str]:
    """The variables :func:`set_cpu_env` sets on this machine: :data:`CPU_ENV`, and the
    portable kernels unless ``native`` is chosen (``choice``, or else :func:`kernels`) or the
    CPU lacks AVX2."""
    env = dict(CPU_ENV)
    if (choice or kernels()) == "portable" and _cpu_has_avx2():
        env.update(PORTABLE_KERNELS, NPY_DISABLE_CPU_FEATURES=_numpy_wide_targets())
    return env


def set_cpu_env() -> None:
    """Set :func:`job_env` in ``os.environ`` where unset; call before importing torch or
    numpy."""
    for name, value in job_env().items():
        os.environ.setdefault(name, value)
