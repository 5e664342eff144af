"""TF motif features: FIMO (memelite) scores of a TF's motif along each example, per strand.

As in the original, FIMO runs with p < 1e-2 and every base a hit covers gets the hit's score,
here ``1 - p`` (the highest over the hits that cover it), on the channel of the hit's strand;
bases under no hit get 0. The channels are z-scored later with training-split statistics.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from nettime.data.genome import Genome, one_hot
from nettime.data.signals import Stats, chromosome_blocks

P_THRESHOLD = 1e-2


def load_ppm(spec: str, base_dir: str | None = None) -> np.ndarray:
    """The probability matrix of a motif spec (JASPAR ID or MEME path): float64 (w, 4) ACGT."""
    from nettime.motifs.matrices import load_motif

    return np.asarray(load_motif(spec, base_dir=base_dir).ppm, dtype=np.float64)


def hits_to_channels(hits: pd.DataFrame, n: int, length: int) -> np.ndarray:
    """Per-base strand channels from FIMO hits on ``n`` sequences of ``length`` bases.

    Parameters
    ----------
    hits
        memelite FIMO hits with columns sequence_name (int row), start, end, strand, p-value.

    Returns
    -------
    numpy.ndarray
        float32 (n, length, 2): max(1 - p) over covering hits, forward then reverse strand.
    """
    out = np.zeros((n, length, 2), dtype=np.float32)
    if len(hits) == 0:
        return out
    rows = hits["sequence_name"].to_numpy(np.int64)
    start = hits["start"].to_numpy(np.int64)
    end = hits["end"].to_numpy(np.int64)
    strand = (hits["strand"].to_numpy() == "-").astype(np.int64)
    score = 1.0 - hits["p-value"].to_numpy(np.float64)
    width = end - start
    within = np.arange(width.sum()) - np.repeat(np.cumsum(width) - width, width)
    np.maximum.at(out, (np.repeat(rows, width), np.repeat(start, width) + within,
                        np.repeat(strand, width)), np.repeat(score, width).astype(np.float32))
    return out


def motif_channels(codes: np.ndarray, ppm: np.ndarray,
                   threshold: float = P_THRESHOLD) -> np.ndarray:
    """FIMO strand channels of one motif over sequences.

    Parameters
    ----------
    codes
        uint8 (n, L) sequence codes.
    ppm
        float (w, 4) letter probabilities, columns A, C, G, T.

    Returns
    -------
    numpy.ndarray
        float32 (n, L, 2).
    """
    n, length = codes.shape
    if n == 0:
        return np.zeros((0, length, 2), dtype=np.float32)
    x = np.ascontiguousarray(one_hot(codes).transpose(0, 2, 1))  # (n, 4, L)
    # Imported here so that numba's start-up is paid only where motifs are scanned.
    from memelite import fimo

    hits = fimo({"motif": np.ascontiguousarray(np.asarray(ppm, dtype=np.float64).T)}, x,
                threshold=threshold, reverse_complement=True)[0]
    return hits_to_channels(hits, n, length)


def iter_motif_blocks(genome: Genome, examples: pd.DataFrame, length: int, ppm: np.ndarray,
                      block: int = 2048, threshold: float = P_THRESHOLD,
                      progress: Callable[[int], object] | None = None):
    """Yield (first row, stop row, float32 (m, L, 2) raw channels) over the examples."""
    for chrom, a, b in chromosome_blocks(examples, block):
        codes = genome.windows(chrom, examples["start"].to_numpy()[a:b], length)
        yield a, b, motif_channels(codes, ppm, threshold)
        if progress is not None:
            progress(b - a)


def motif_stats(genome: Genome, examples: pd.DataFrame, length: int, ppm: np.ndarray,
                block: int = 2048) -> list[tuple[float, float]]:
    """Mean and standard deviation of each strand channel over every base of the examples."""
    stats = [Stats(), Stats()]
    for _, _, channels in iter_motif_blocks(genome, examples, length, ppm, block):
        for strand in range(2):
            stats[strand].update(channels[..., strand])
    return [(s.mean, s.std) for s in stats]


def motif_source(spec: str) -> str:
    """A short description of a motif spec for provenance."""
    return spec if spec.endswith(".meme") else f"JASPAR {spec}"
