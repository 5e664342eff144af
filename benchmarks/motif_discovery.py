"""Time of the STREME-like discovery engine (reimplemented in nettime) on planted motifs.

Random 100-bp sequences, a fraction of them holding one JASPAR JUND (MA0492.2) site on a random
strand; control sequences are the engine's order-2 shuffles. Prints, per size, the seconds, the
motifs found (all, and significant at E <= 0.05), the top motif and its TOMTOM q-value against
the planted matrix, and the CPU model and load.

    .venv/bin/python benchmarks/motif_discovery.py [--sizes 1000 10000] [--fraction 0.3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import time

from nettime.motifs.compare import compare_motifs
from nettime.motifs.discovery import streme_like
from nettime.motifs.matrices import load_jaspar, planted_sequences


def cpu_model() -> str:
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown (no lscpu)"
    return next((line.split(":", 1)[1].strip() for line in text.splitlines()
                 if line.startswith("Model name")), "unknown")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--fraction", type=float, default=0.3)
    parser.add_argument("--length", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    jund = load_jaspar("MA0492.2")
    print(f"CPU: {cpu_model()}; {os.cpu_count()} cores; load {os.getloadavg()[0]:.1f}")
    print("sequences\tseconds\tmotifs\tsignificant\ttop\ttop_E\tq_vs_planted")
    for n in args.sizes:
        seqs = planted_sequences(n, args.length, args.fraction, jund, args.seed)
        start = time.perf_counter()
        found = streme_like(seqs, seed=args.seed, progress=False)
        seconds = time.perf_counter() - start
        significant = [m for m in found if m.significant(0.05)]
        top = found[0]
        q = compare_motifs(top, jund).q_value
        print(f"{n}\t{seconds:.1f}\t{len(found)}\t{len(significant)}\t{top.consensus}\t"
              f"{top.e_value:.2g}\t{q:.2g}")
    print(f"load after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
