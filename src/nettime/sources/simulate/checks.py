"""Checks that a simulated data set carries what was planted in it: motif enrichment of a TF's
peaks over random genome windows. The tests and ``benchmarks/simulation.py`` use them; no rule
does."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from nettime.files import read_chrom_sizes
from nettime.motifs.matrices import Motif
from nettime.sources.simulate.common import random_windows, read_bed3, stream


def one_hot_windows(fasta: str | os.PathLike[str], windows: pd.DataFrame) -> np.ndarray:
    """float32 (n, 4, max width) one-hot sequences of BED windows, zero-padded on the right
    (N and padding are all-zero columns, which FIMO scores as neutral)."""
    import pyfaidx

    width = int((windows["end"] - windows["start"]).max()) if len(windows) else 0
    out = np.zeros((len(windows), 4, width), dtype=np.float32)
    lookup = np.full(256, 4, dtype=np.int64)
    for i, letter in enumerate(b"ACGT"):
        lookup[letter] = i
        lookup[letter + 32] = i  # lower case
    with pyfaidx.Fasta(str(fasta), as_raw=True, sequence_always_upper=True) as genome:
        for row, (chrom, start, end) in enumerate(zip(windows["chrom"], windows["start"],
                                                      windows["end"], strict=True)):
            text = np.frombuffer(genome[chrom][int(start):int(end)].encode(), dtype=np.uint8)
            codes = lookup[text]
            keep = np.flatnonzero(codes < 4)
            out[row, codes[keep], keep] = 1.0
    return out


def motif_enrichment(outdir: str | os.PathLike[str], tf: str, cell_types: Sequence[str],
                     motif: Motif, threshold: float = 1e-4, seed: int = 0
                     ) -> tuple[float, float, int]:
    """Fraction of a TF's conserved peaks with a FIMO hit of ``motif``, against random genome
    windows of the same widths (avoiding N gaps).

    Returns
    -------
    in_peaks, in_background, n_peaks
    """
    from memelite import fimo

    out = Path(outdir)
    peaks = pd.concat([pd.read_csv(out / "peaks" / f"{tf}.{cell}.conserved.narrowPeak.gz",
                                   sep="\t", header=None, usecols=[0, 1, 2],
                                   names=["chrom", "start", "end"]) for cell in cell_types],
                      ignore_index=True)
    sizes = read_chrom_sizes(out / "genome" / "chrom.sizes")
    gaps = read_bed3(out / "truth" / "gaps.bed")
    rng = stream(seed, "background", tf)
    widths = (peaks["end"] - peaks["start"]).to_numpy()
    background = random_windows(sizes, gaps, widths, len(widths), rng)
    fasta = out / "genome" / "genome.fa"
    fractions = []
    for windows in (peaks, background):
        x = one_hot_windows(fasta, windows)
        hits = fimo({tf: motif.ppm.T.astype(np.float32)}, x, threshold=threshold)[0]
        fractions.append(hits["sequence_name"].nunique() / max(len(windows), 1))
    return fractions[0], fractions[1], len(peaks)
