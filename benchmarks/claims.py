"""The claims configuration under several seeds: is each verdict stable?

For each seed, clones the repository at one commit into ``--out``/seed<N> (kept, so a killed
study resumes where it stopped), runs the default configuration with the claims budgets laid
over it (``config/claims/config.yaml`` and ``config/claims/seed<N>.yaml``), and records the run's
wall and CPU time. Then prints, per claim of ``results/findings.tsv``, each seed's verdict,
``holds`` and p-value, and whether the verdict is the same under every seed (a verdict that
changes with the seed is not resolved at that budget).

    python benchmarks/claims.py --seeds 1 2 3          # every seed, one after the other
    python benchmarks/claims.py --seeds 2 --cores 2    # one more seed (others are reused)
    python benchmarks/claims.py --seeds 1 2 3 --table  # the table of the seeds that finished

Each seed runs the whole default DAG at about 7x the default's training steps for its base-like
models: about an hour on a 2-core machine. Absolute times differ 2-3x between machines of one
kind; the CPU is printed beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
from default_run import cpu_model

ROOT = Path(__file__).resolve().parent.parent


def run_seed(seed: int, commit: str, out: Path, cores: int) -> dict:
    """Run (or finish) one seed's clone; its record (commit, CPU, times, exit code)."""
    work = out / f"seed{seed}"
    if not work.exists():
        subprocess.run(["git", "clone", "-q", str(ROOT), str(work)], check=True)
        subprocess.run(["git", "checkout", "-q", commit], cwd=work, check=True)
    record_path = work / "claims_run.json"
    if record_path.exists():
        record = json.loads(record_path.read_text())
        if record["rc"] == 0:
            return record
    # A run that finishes an interrupted one times only its own part: the record says so.
    resumed = (work / "claims_run.log").exists()
    configs = ["config/config.yaml", "config/claims/config.yaml", f"config/claims/seed{seed}.yaml"]
    env = {**os.environ, "PYTHONPATH": str(work / "src")}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with open(work / "claims_run.log", "a") as log:
        subprocess.run([sys.executable, "-m", "snakemake", "--unlock", "--configfile", *configs],
                       cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT)
        run = subprocess.run([sys.executable, "-m", "snakemake", "--cores", str(cores),
                              "--rerun-incomplete", "--configfile", *configs],
                             cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=work, capture_output=True,
                         text=True, check=True).stdout.strip()
    record = {"seed": seed, "commit": sha, "cpu": cpu_model(), "cores": cores,
              "rc": run.returncode, "resumed": resumed,
              "wall_s": round(time.perf_counter() - start),
              "cpu_s": round((after.ru_utime - before.ru_utime)
                             + (after.ru_stime - before.ru_stime))}
    record_path.write_text(json.dumps(record, indent=1) + "\n")
    return record


def verdict_table(out: Path, seeds: list[int]) -> pd.DataFrame:
    """One row per claim: per finished seed its verdict, holds and p-value; and whether the
    verdicts agree across those seeds."""
    per_seed = {}
    for seed in seeds:
        path = out / f"seed{seed}" / "results" / "findings.tsv"
        if path.exists():
            per_seed[seed] = pd.read_csv(path, sep="\t", dtype=str).set_index("claim_id")
    if not per_seed:
        return pd.DataFrame()
    claims = list(next(iter(per_seed.values())).index)
    rows = []
    for claim in claims:
        row: dict[str, object] = {"claim_id": claim}
        verdicts = []
        for seed, table in per_seed.items():
            if claim not in table.index:
                row[f"seed {seed}"] = "-"
                continue
            found = table.loc[claim]
            verdicts.append(found["verdict"])
            p = found["p_value"]
            p_text = f", p={float(p):.2g}" if isinstance(p, str) and p not in ("", "nan") else ""
            row[f"seed {seed}"] = f"{found['verdict']} ({found['holds']}{p_text})"
        row["stable"] = ("yes" if len(set(verdicts)) == 1 else "no") if len(verdicts) > 1 \
            else "one seed"
        rows.append(row)
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--commit", default="HEAD")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("results/claims"))
    parser.add_argument("--table", action="store_true",
                        help="only print the table of the seeds that have finished")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.table:
        commit = subprocess.run(["git", "rev-parse", args.commit], cwd=ROOT, capture_output=True,
                                text=True, check=True).stdout.strip()
        for seed in args.seeds:
            print(f"seed {seed}: running in {args.out / f'seed{seed}'} ...", flush=True)
            record = run_seed(seed, commit, args.out, args.cores)
            part = " (the part after a restart)" if record.get("resumed") else ""
            print(f"seed {seed}: exit {record['rc']}, {record['wall_s']} s wall, "
                  f"{record['cpu_s']} s CPU{part}, commit {record['commit']}, {record['cpu']}, "
                  f"{record['cores']} cores", flush=True)
    table = verdict_table(args.out, args.seeds)
    if table.empty:
        print("no seed has finished")
        return
    print("\n| " + " | ".join(table.columns) + " |")
    print("|" + "---|" * len(table.columns))
    for row in table.itertuples(index=False):
        print("| " + " | ".join(str(v) for v in row) + " |")


if __name__ == "__main__":
    main()
