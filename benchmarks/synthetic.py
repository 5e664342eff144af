"""Synthetic inputs for the data-set benchmarks, in the layout of resources/{source}/.

Used when no simulated data set of the wanted size exists: a random genome, ChIP-seq peaks of a
few conditions (about one example per ``spacing`` bases) and, per (cell type, assay), a bigWig at
50-bp resolution with a narrowPeak file covering about 10% of the genome.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pyBigWig

CELLS = ("c1", "c2")
ASSAYS = ("DNase", "H3K4me1", "H3K4me3", "H3K27ac")
CONDITIONS = ("TFA.c1", "TFB.c1", "TFA.c2", "TFB.c2")


def _peaks(rng: np.random.Generator, sizes: dict[str, int], n: int, lo: int, hi: int):
    rows = []
    for chrom, size in sizes.items():
        k = max(1, n * size // sum(sizes.values()))
        length = rng.integers(lo, hi, k)
        start = np.sort(rng.integers(0, size - hi, k))
        rows += [(chrom, int(s), int(s + w)) for s, w in zip(start, length, strict=True)]
    return rows


def _write_peaks(path: Path, rows) -> None:
    with gzip.open(path, "wt", compresslevel=1) as handle:
        handle.writelines(f"{c}\t{s}\t{e}\tp\t0\t.\t5\t-1\t3\t{(e - s) // 2}\n"
                          for c, s, e in rows)


def make_inputs(root: Path, n_examples: int, chrom_size: int = 8_000_000,
                spacing: int = 4000, seed: int = 0) -> dict:
    """Write inputs for about ``n_examples`` examples under ``root``; returns their paths.

    The genome grows by adding chromosomes of ``chrom_size`` bases (as real genomes have
    bounded chromosomes), so memory measured against example count is not confounded with
    chromosome length.
    """
    rng = np.random.default_rng(seed)
    total = max(20_000, n_examples * spacing)
    n_chroms = -(-total // chrom_size)
    size = min(chrom_size, total) // 100 * 100  # whole FASTA lines
    sizes = {f"chr{i + 1}": size for i in range(n_chroms)}
    for sub in ("genome", "peaks", "features"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    letters = np.frombuffer(b"ACGT", dtype=np.uint8)
    with open(root / "genome/genome.fa", "wb") as handle:
        for chrom, n in sizes.items():
            handle.write(f">{chrom}\n".encode())
            lines = letters[rng.integers(0, 4, n)].reshape(-1, 100)
            newline = np.full((len(lines), 1), ord("\n"), np.uint8)
            handle.write(np.concatenate([lines, newline], axis=1).tobytes())
    (root / "genome/chrom.sizes").write_text("".join(f"{c}\t{s}\n" for c, s in sizes.items()))
    (root / "genome/blacklist.bed").write_text("chr1\t1000\t3000\n")
    total = sum(sizes.values())
    for condition in CONDITIONS:
        rows = _peaks(rng, sizes, total // spacing // 8, 150, 600)
        _write_peaks(root / f"peaks/{condition}.conserved.narrowPeak.gz", rows)
        _write_peaks(root / f"peaks/{condition}.relaxed.narrowPeak.gz",
                     sorted(rows + _peaks(rng, sizes, total // spacing // 8, 150, 900)))
    for cell in CELLS:
        for assay in ASSAYS:
            _write_peaks(root / f"features/{cell}.{assay}.narrowPeak.gz",
                         _peaks(rng, sizes, total // 10_000, 200, 1800))
            bw = pyBigWig.open(str(root / f"features/{cell}.{assay}.bigWig"), "w")
            bw.addHeader(list(sizes.items()))
            for chrom, n in sizes.items():
                values = rng.gamma(1.5, 2.0, n // 50).astype(np.float64)
                bw.addEntries(chrom, 0, values=values, span=50, step=50)
            bw.close()
    return {"root": root, "sizes": sizes, "cells": CELLS, "assays": ASSAYS,
            "conditions": CONDITIONS}
