"""Peak RSS and time per Mb of the genome-wide path of the ENCODE-DREAM benchmark (Fig 3d).

On a simulated data set (default: the `large` scale, 60 Mb, with the tiny panel's conditions;
made here with `nettime simulate` when the folder is missing), each stage runs in a fresh
process (peak RSS is per process), first over the smallest test chromosome alone, then over
every test chromosome, so that the two rows show whether memory grows with the span:

- tiles: windows of 1000 bp tiling the chromosomes, with their sequence (nettime.data.tiles);
- signal: one cell type's DNase over the tiles (from its in-peak runs, made once beforehand),
  z-scored with recorded statistics as with `normalisation: train`;
- predict: a NetTIME Seq+DNase network at the demo's width (untrained: the cost does not
  depend on the weights) over every tile, one condition at a time, reduced to 50-bp block
  maxima (nettime.evaluation.genome_wide.predict_maxima);
- evaluate: the protocol's B/A/U bins and auPRC/auROC from the simulated peaks
  (nettime.evaluation.dream).

    python benchmarks/dream_genome.py [--root /tmp/dream_simlarge] [--conditions 2]

Prints the CPU (lscpu's model name), then one row per stage and span: seconds, seconds per Mb
of tiled chromosome, peak RSS (MB) and the size of what the stage wrote.
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

HERE = Path(__file__).resolve().parent
CONFIG = "config/tiny/config.yaml"
TEST = ["chr1", "chr8", "chr21"]
CONDITIONS = ["JUND.K562", "CTCF.K562", "JUN.K562", "JUNB.K562"]
CELL = "K562"
WINDOW, GRID, BIN = 1000, 50, 200


def cpu_model() -> str:
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown CPU"
    for line in text.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


def size_mb(path: Path) -> float:
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files) / 1e6


def child(args: argparse.Namespace) -> dict:
    """One stage in this (fresh) process."""
    import h5py

    root, work = Path(args.root), Path(args.work)
    chromosomes = args.chromosomes.split(",")
    conditions = CONDITIONS[:args.conditions]
    tiles = work / "data"
    if args.stage == "inpeak":
        from nettime.data.signals import build_inpeak

        build_inpeak(root / f"features/{CELL}.DNase.bigWig",
                     root / f"features/{CELL}.DNase.narrowPeak.gz", root / "genome/chrom.sizes",
                     work / "inpeak.h5")
        out = work / "inpeak.h5"
    elif args.stage == "tiles":
        from nettime.data.tiles import build_tiles

        build_tiles(root / "genome/genome.fa", root / "genome/chrom.sizes", chromosomes, WINDOW,
                    GRID, tiles / "examples.h5", progress=False)
        out = tiles / "examples.h5"
    elif args.stage == "signal":
        from nettime.data.tiles import build_tile_signal

        reference = work / "reference.h5"  # the statistics a training split would record
        with h5py.File(reference, "w") as h5:
            h5.attrs["mean"], h5.attrs["std"] = 0.05, 0.5
        out = tiles / f"signals/{CELL}.DNase.h5"
        build_tile_signal(Path(args.inpeak), tiles, out, "train", reference=reference,
                          progress=False)
    elif args.stage == "predict":
        import torch

        from nettime.evaluation.genome_wide import predict_maxima
        from nettime.models.network import ModelConfig, build_model, save_model

        config = ModelConfig(n_features=5, embedding_dim=8, tf_table_size=8, cell_table_size=4,
                             tf_vocab=tuple(c.split(".")[0] for c in CONDITIONS),
                             cell_vocab=(CELL,))
        model = work / "model.pt"
        save_model(build_model(config, seed=0), model,
                   {"feature_set": {"name": "Seq+DNase", "assays": ["DNase"], "motifs": False}})
        torch.set_num_threads(args.threads)
        out = work / "maxima.h5"
        predict_maxima(model, tiles, out, conditions, "bench",
                       {"training": {"device": "cpu", "threads": args.threads,
                                     "predict_batch_size": 64}}, threads=args.threads,
                       progress=False)
    else:
        from nettime.evaluation.dream import write_dream_table

        out = work / "dream.tsv"
        peaks = {c: (root / f"peaks/{c}.conserved.narrowPeak.gz",
                     root / f"peaks/{c}.relaxed.narrowPeak.gz") for c in conditions}
        write_dream_table(work / "maxima.h5", "bench", conditions, root / "genome/chrom.sizes",
                          BIN, GRID, out, peaks=peaks, blacklist=root / "genome/blacklist.bed")
    return {"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "written_mb": size_mb(out)}


def run(stage: str, args: argparse.Namespace, work: Path, chromosomes: list[str],
        inpeak: Path) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(HERE.parent / "src"), env.get("PYTHONPATH", "")])
    started = time.perf_counter()
    out = subprocess.run([sys.executable, __file__, "--stage", stage, "--root", args.root,
                          "--work", str(work), "--chromosomes", ",".join(chromosomes),
                          "--conditions", str(args.conditions), "--threads", str(args.threads),
                          "--inpeak", str(inpeak)],
                         env=env, check=True, capture_output=True, text=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["seconds"] = time.perf_counter() - started
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default="/tmp/dream_simlarge",
                        help="a simulated data set (made at the large scale when missing)")
    parser.add_argument("--work", default=str(HERE / "out/dream"))
    parser.add_argument("--conditions", type=int, default=2, choices=range(1, 5))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--stage")
    parser.add_argument("--chromosomes")
    parser.add_argument("--inpeak")
    args = parser.parse_args()
    if args.stage:
        print(json.dumps(child(args)))
        return
    root = Path(args.root)
    if not (root / "genome/chrom.sizes").exists():
        print(f"simulating the large scale into {root} ...", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, "-m", "nettime.cli", "simulate", "--config", CONFIG,
                        "--scale", "large", "--outdir", str(root), "--quiet"],
                       check=True, cwd=HERE.parent)
    sizes = dict(line.split()[:2] for line in (root / "genome/chrom.sizes").read_text()
                 .splitlines())
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    inpeak = work / "inpeak.h5"
    made = run("inpeak", args, work, TEST, inpeak)
    print(f"CPU: {cpu_model()}; {args.threads} thread(s); genome {root} "
          f"({sum(int(s) for s in sizes.values()) / 1e6:.1f} Mb); {args.conditions} "
          f"condition(s); in-peak DNase made in {made['seconds']:.1f} s", flush=True)
    print("span\tMb\tstage\tseconds\ts_per_Mb\tpeak_rss_MB\twritten_MB", flush=True)
    smallest = min(TEST, key=lambda c: int(sizes[c]))
    for chromosomes in ([smallest], TEST):
        mb = sum(int(sizes[c]) for c in chromosomes) / 1e6
        span = "+".join(chromosomes)
        for stage in ("tiles", "signal", "predict", "evaluate"):
            result = run(stage, args, work / span, chromosomes, inpeak)
            print(f"{span}\t{mb:.2f}\t{stage}\t{result['seconds']:.1f}\t"
                  f"{result['seconds'] / mb:.1f}\t{result['peak_rss_mb']:.0f}\t"
                  f"{result['written_mb']:.2f}", flush=True)


if __name__ == "__main__":
    main()
