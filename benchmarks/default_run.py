"""The default pipeline's wall time, commit against commit, side by side on one machine.

Clones the repository at each commit given (the same commit twice shows the noise), runs
`snakemake --cores N` (the default configuration, simulated data, every figure) in each clone
one after the other with this interpreter's environment, and prints per run: the wall time,
the job count, the CPU time of the whole run (Snakemake and every job), and per rule the jobs'
summed wall and CPU time (from the rules' benchmark records) and their ratio, the share of
a job's wall time spent working rather than waiting or starting up.

Snakemake samples a job's CPU time every 0.5 s for its first 15 s and every 30 s after that,
and records the last sample: a long job's CPU after its last sample (up to 30 s) is not
counted, which makes long jobs look idle. The runs here have Snakemake sample every 0.5 s
throughout (a ``sitecustomize`` module on their PYTHONPATH; nothing in the clone changes), so
a job's recorded CPU misses at most its last half second.

    python benchmarks/default_run.py HEAD~1 HEAD          # two commits
    python benchmarks/default_run.py HEAD HEAD --cores 2  # the noise of one commit

Absolute times differ 2-3x between machines of one kind: compare the runs of one invocation.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent


def cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return platform.processor() or "unknown CPU"
    fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    flags = fields.get("Flags", "")
    simd = "AVX-512" if "avx512f" in flags else ("AVX2" if "avx2" in flags else "no AVX2")
    return f"{fields.get('Model name', '?').strip()}, {os.cpu_count()} CPUs, {simd}"


def rule_table(workdir: Path) -> pd.DataFrame:
    """Per rule: jobs, summed wall and CPU seconds of the jobs with a benchmark record."""
    rows = []
    for path in (workdir / "results" / "benchmarks").rglob("*.tsv"):
        record = pd.read_csv(path, sep="\t").iloc[-1]
        rule = path.relative_to(workdir / "results" / "benchmarks").parts[0]
        rows.append({"rule": rule, "wall_s": float(record["s"]),
                     "cpu_s": float(record["cpu_time"])})
    if not rows:
        return pd.DataFrame(columns=["rule", "jobs", "wall_s", "cpu_s", "cpu/wall"])
    frame = pd.DataFrame(rows)
    table = frame.groupby("rule").agg(jobs=("wall_s", "size"), wall_s=("wall_s", "sum"),
                                      cpu_s=("cpu_s", "sum")).reset_index()
    table["cpu/wall"] = table["cpu_s"] / table["wall_s"]
    return table.sort_values("wall_s", ascending=False)


#: Loaded by every Python process of a run: once Snakemake's benchmark module is imported, its
#: sampler keeps the short interval for the whole job.
SAMPLE_EVERY_HALF_SECOND = """
import importlib.abc, importlib.machinery, sys


def _patch(module):
    timer = module.BenchmarkTimer
    init = timer.__init__

    def __init__(self, *args, **kwargs):
        init(self, *args, **kwargs)
        self._interval = float("inf")  # never past the short-interval phase

    timer.__init__ = __init__


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != "snakemake.benchmark":
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None:
            load = spec.loader.exec_module

            def exec_module(module):
                load(module)
                _patch(module)

            spec.loader.exec_module = exec_module
        return spec


sys.meta_path.insert(0, _Finder())
"""


def run_commit(commit: str, cores: int, keep: Path | None) -> dict:
    base = Path(tempfile.mkdtemp(prefix="nettime-default-", dir=keep))
    work = base / "repo"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(work)], check=True)
    subprocess.run(["git", "checkout", "-q", commit], cwd=work, check=True)
    (base / "sampling").mkdir()
    (base / "sampling" / "sitecustomize.py").write_text(SAMPLE_EVERY_HALF_SECOND)
    env = {**os.environ, "PYTHONPATH": f"{work / 'src'}{os.pathsep}{base / 'sampling'}"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    log = open(base / "snakemake.log", "w")
    run = subprocess.run([sys.executable, "-m", "snakemake", "--cores", str(cores)], cwd=work,
                         env=env, stdout=log, stderr=subprocess.STDOUT)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    text = (base / "snakemake.log").read_text()
    jobs = text.count("Finished jobid")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"commit": commit, "rc": run.returncode, "wall_s": wall, "jobs": jobs,
            "cpu_s": cpu, "rules": rule_table(work), "dir": base}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("commits", nargs="+", help="commits to run, in order")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--keep", type=Path, default=None,
                        help="folder for the clones (default: the system's temporary folder)")
    args = parser.parse_args()
    print(f"CPU: {cpu_model()}; load before: {os.getloadavg()[0]:.2f}")
    results = []
    for commit in args.commits:
        sha = subprocess.run(["git", "rev-parse", "--short", commit], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout.strip()
        print(f"\nrunning {commit} ({sha}) ...", flush=True)
        result = run_commit(commit, args.cores, args.keep)
        results.append(result)
        jobs_cpu = result["rules"]["cpu_s"].sum()
        print(f"{commit} ({sha}): exit {result['rc']}, {result['wall_s']:.0f} s wall, "
              f"{result['jobs']} jobs, {result['cpu_s']:.0f} s CPU in all "
              f"({jobs_cpu:.0f} s in benchmarked jobs), load after "
              f"{os.getloadavg()[0]:.2f}; clone in {result['dir']}")
        with pd.option_context("display.width", 120, "display.max_rows", 100):
            print(result["rules"].to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    if len(results) > 1:
        first = results[0]["wall_s"]
        print("\nwall time relative to the first run: " + ", ".join(
            f"{r['commit']} {r['wall_s'] / first:.2f}" for r in results))


if __name__ == "__main__":
    main()
