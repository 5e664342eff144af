"""Peak RSS of building a data set and of iterating it, as the example count grows.

Each measurement runs in a fresh process (peak RSS is per process). Inputs are synthetic
(benchmarks/synthetic.py: 2 cell types x 4 assays, 4 conditions x 2 label sets, one motif TF).
Goal: flat, i.e. memory does not grow with the number of examples.

    python benchmarks/bench_memory.py --sizes 2000 8000 32000 [--batches 200]

Prints one row per size and writes benchmarks/out/memory.json (stage times and storage per
dataset, which benchmarks/paper_scale.py extrapolates).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(args: argparse.Namespace) -> None:
    import synthetic

    work = Path(args.dir)
    if args.child == "make":
        synthetic.make_inputs(work / "inputs", args.n)
        result = {}
    elif args.child == "build":
        import steps

        result = steps.build(work / "inputs", work / "out", synthetic.CONDITIONS,
                             synthetic.CELLS, synthetic.ASSAYS)
    else:
        from nettime.data.dataset import FeatureSet
        from nettime.data.loader import make_loader

        fs = FeatureSet("Seq+CT+TF", synthetic.ASSAYS, True)
        loader = make_loader(work / "out/train", fs, synthetic.CONDITIONS,
                             ["conserved", "relaxed"], ["TFA", "TFB"], list(synthetic.CELLS),
                             batch_size=64, shuffle=True, seed=0)
        t, n = time.perf_counter(), 0
        for i, batch in enumerate(loader):
            n += len(batch["y"])
            if i + 1 >= args.batches:
                break
        result = {"samples": n, "samples_per_s": n / (time.perf_counter() - t)}
    result["peak_rss_mb"] = _rss_mb()
    print(json.dumps(result))


def run(step: str, work: Path, n: int, batches: int) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(HERE.parent / "src"), env.get("PYTHONPATH", "")])
    out = subprocess.run([sys.executable, __file__, "--child", step, "--dir", str(work),
                          "--n", str(n), "--batches", str(batches)], env=env, check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 8000, 32000])
    parser.add_argument("--batches", type=int, default=200,
                        help="batches of 64 samples read when iterating")
    parser.add_argument("--child", choices=["make", "build", "iterate"])
    parser.add_argument("--dir")
    parser.add_argument("--n", type=int, default=0)
    parser.add_argument("--out", default=str(HERE / "out/memory.json"))
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    rows = []
    print(f"{'target':>8} {'examples':>9} {'file MB':>8} {'build s':>8} {'build RSS MB':>13} "
          f"{'iterate RSS MB':>15} {'samples/s':>10}")
    for n in args.sizes:
        with tempfile.TemporaryDirectory(prefix="nettime-bench-") as tmp:
            work = Path(tmp)
            run("make", work, n, args.batches)
            built = run("build", work, n, args.batches)
            iterated = run("iterate", work, n, args.batches)
            file_mb = (work / "out/train.h5").stat().st_size / 2**20
        row = {"target": n, **built, "iterate": iterated, "file_mb": file_mb}
        rows.append(row)
        print(f"{n:>8} {built['n_examples']:>9} {file_mb:>8.1f} "
              f"{sum(built['seconds'].values()):>8.1f} {built['peak_rss_mb']:>13.0f} "
              f"{iterated['peak_rss_mb']:>15.0f} {iterated['samples_per_s']:>10.0f}", flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
