"""Genome-wide tiles: windows of a data set's length over whole chromosomes, and the data set
over them (the folder layout of :mod:`nettime.data.dataset`), so that a model's own predictor
can score every base of a chromosome (the ENCODE-DREAM protocol,
:mod:`nettime.evaluation.dream`).

Tiling of a chromosome of ``size`` bases by windows of ``length`` bases on a grid of ``grid``
bases (the protocol's step, 50 bp; ``length`` a multiple of it):

- windows start at 0, ``stride``, 2 ``stride``, ... where ``stride`` is the largest multiple of
  ``grid`` at most ``length / 2`` (half-window overlap), while they fit in the chromosome; one
  more window ends at the last grid point, ``floor(size / grid) * grid``, when the regular
  ones stop short of it. Every window lies wholly inside the chromosome, and the bases past
  the last grid point (fewer than ``grid``) are in no window: no bin wholly inside the
  chromosome reaches them.
- every base up to the last grid point is *owned* by exactly one window: each grid block goes
  to the window whose centre is nearest the block's centre (the earlier window on a tie). A
  base is thus predicted at least ``(length - stride) / 2`` bases from its window's edges
  (250 bp for 1000-bp windows), except near the chromosome's ends. :func:`tile_spans` gives
  the owned spans; the reduction of predictions to grid-block maxima
  (:mod:`nettime.evaluation.genome_wide`) uses them.

Windows are kept whatever bases they hold (an N is coded 4 and one-hot encodes to zeros),
unlike the peak-centred examples. The tile coordinates are arithmetic, so they are made block
by block: memory holds one block of windows whatever the chromosome length.

The tracks of the tiles are z-scored with the statistics recorded in the training split's file
of the same track (``normalisation: train``), or with the tiles' own (``per_split``), as every
split's are (:mod:`nettime.data.writer`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import h5py
import numpy as np
from tqdm import tqdm

from nettime.data.genome import Genome
from nettime.data.motif_features import load_ppm, motif_channels, motif_source
from nettime.data.signals import InPeakSignal, Stats
from nettime.data.writer import NORMALISATIONS, TrackWriter, write_motifs, write_signal
from nettime.files import DataError, PathLike, read_chrom_sizes
from nettime.motifs.matrices import NO_MOTIF

#: Windows made, read and written at a time.
TILE_BLOCK = 2048
#: The ``split`` attribute of a tiled data set's examples file.
TILED_SPLIT = "tiles"


def tile_stride(length: int, grid: int) -> int:
    """Distance between consecutive regular windows: the largest multiple of ``grid`` at
    most ``length / 2``."""
    check_tiling(length, grid)
    return (length // 2) // grid * grid


def check_tiling(length: int, grid: int) -> None:
    """Raise ValueError unless ``length`` is a multiple of ``grid`` and at least twice it."""
    if grid < 1 or length % grid or length < 2 * grid:
        raise ValueError(f"windows of {length} bp cannot tile a {grid}-bp grid: the window "
                         "must be a multiple of the grid and at least twice it")


def tile_count(size: int, length: int, grid: int) -> int:
    """Number of windows over a chromosome of ``size`` bases (0 when shorter than a window)."""
    if size < length:
        return 0
    stride = tile_stride(length, grid)
    regular = (size - length) // stride + 1
    last = (size - length) // grid * grid
    return regular + int(last > (regular - 1) * stride)


def tile_spans(size: int, length: int, grid: int, first: int = 0, stop: int | None = None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Windows ``first:stop`` of a chromosome and the bases each one owns.

    Returns
    -------
    starts, lo, hi : int64 (m,)
        Window starts, and the owned span ``[lo, hi)`` of each (chromosome coordinates, on the
        grid, inside the window); the spans of consecutive windows meet, the first starts at
        0 and the last ends at ``floor(size / grid) * grid``.
    """
    n = tile_count(size, length, grid)
    stop = n if stop is None else min(stop, n)
    stride = tile_stride(length, grid)
    regular = (size - length) // stride + 1 if n else 0
    last = (size - length) // grid * grid

    def start_of(k: np.ndarray) -> np.ndarray:
        return np.where(k < regular, k * stride, last)

    def boundary(k: np.ndarray) -> np.ndarray:
        # Between windows k and k + 1: the first grid block whose centre g + grid / 2 lies
        # past the middle of theirs, (s_k + s_k+1 + length) / 2 (a tie stays with window k).
        return ((start_of(k) + start_of(k + 1) + length - grid) // (2 * grid) + 1) * grid

    k = np.arange(first, max(first, stop), dtype=np.int64)
    lo = np.where(k == 0, 0, boundary(k - 1))
    hi = np.where(k == n - 1, size // grid * grid, boundary(k))
    return start_of(k).astype(np.int64), lo.astype(np.int64), hi.astype(np.int64)


@dataclass(frozen=True)
class Tiling:
    """The tiles of a tiled data set, in the order of its examples.

    Attributes
    ----------
    chromosomes
        Tiled chromosomes, in order.
    sizes
        Their sizes (bp).
    length, grid
        Window length and grid (bp).
    """

    chromosomes: tuple[str, ...]
    sizes: tuple[int, ...]
    length: int
    grid: int

    @property
    def counts(self) -> list[int]:
        """Windows per chromosome."""
        return [tile_count(s, self.length, self.grid) for s in self.sizes]

    @property
    def offsets(self) -> list[int]:
        """First example row of each chromosome, then the total."""
        return [0, *np.cumsum(self.counts).tolist()]

    @property
    def n_examples(self) -> int:
        return self.offsets[-1]

    def blocks(self, block: int = TILE_BLOCK
               ) -> Iterator[tuple[str, int, int, np.ndarray, np.ndarray, np.ndarray]]:
        """(chrom, first row, stop row, starts, lo, hi) of consecutive same-chromosome blocks
        of windows (:func:`tile_spans`), in example order."""
        for chrom, size, offset, count in zip(self.chromosomes, self.sizes, self.offsets[:-1],
                                              self.counts, strict=True):
            for a in range(0, count, block):
                b = min(a + block, count)
                starts, lo, hi = tile_spans(size, self.length, self.grid, a, b)
                yield chrom, offset + a, offset + b, starts, lo, hi


def make_tiling(chrom_sizes: Mapping[str, int], chromosomes: Sequence[str], length: int,
                grid: int) -> Tiling:
    """The tiling of ``chromosomes``.

    Raises
    ------
    DataError
        For a chromosome missing from ``chrom_sizes`` or shorter than a window.
    """
    check_tiling(length, grid)
    sizes = []
    for chrom in chromosomes:
        if chrom not in chrom_sizes:
            raise DataError(f"chromosome {chrom!r} is not in the genome (chromosomes: "
                            f"{', '.join(list(chrom_sizes)[:6])}, ...)")
        if chrom_sizes[chrom] < length:
            raise DataError(f"chromosome {chrom!r} ({chrom_sizes[chrom]} bp) is shorter than "
                            f"a {length}-bp window")
        sizes.append(int(chrom_sizes[chrom]))
    return Tiling(tuple(chromosomes), tuple(sizes), int(length), int(grid))


def read_tiling(examples: PathLike) -> Tiling:
    """The tiling recorded in a tiled data set's ``examples.h5`` (or its folder)."""
    path = os.fspath(examples)
    if os.path.isdir(path):
        path = os.path.join(path, "examples.h5")
    with h5py.File(path, "r") as h5:
        if "tile_grid" not in h5.attrs:
            raise DataError(f"{path}: not a tiled data set (no tile_grid attribute)")
        return Tiling(tuple(c.decode() if isinstance(c, bytes) else str(c)
                            for c in h5.attrs["tile_chromosomes"]),
                      tuple(int(s) for s in h5.attrs["tile_sizes"]),
                      int(h5.attrs["length"]), int(h5.attrs["tile_grid"]))


def build_tiles(fasta: PathLike, chrom_sizes: PathLike, chromosomes: Sequence[str], length: int,
                grid: int, out: PathLike, progress: bool = True) -> Tiling:
    """``examples.h5`` of a tiled data set: the windows of :func:`make_tiling` and their
    sequence (written atomically, block by block), with the tiling as attributes
    (``tile_chromosomes``, ``tile_sizes``, ``tile_grid``, ``tile_stride``)."""
    tiling = make_tiling(read_chrom_sizes(chrom_sizes), chromosomes, length, grid)
    n = tiling.n_examples
    attrs = {"length": length, "split": TILED_SPLIT, "tile_grid": grid,
             "tile_stride": tile_stride(length, grid),
             "tile_chromosomes": np.array(tiling.chromosomes, dtype="S"),
             "tile_sizes": np.array(tiling.sizes, dtype=np.int64), "source": os.fspath(fasta)}
    bar = tqdm(total=n, desc="tiles", unit="window", file=sys.stderr, disable=not progress)
    with Genome(fasta) as genome, TrackWriter(out, {
            "chrom": ((n,), h5py.string_dtype("ascii")), "start": ((n,), np.int64),
            "end": ((n,), np.int64), "sequence": ((n, length), np.uint8)}, attrs) as writer:
        for chrom, a, b, starts, _, _ in tiling.blocks():
            if genome.sizes.get(chrom) != tiling.sizes[tiling.chromosomes.index(chrom)]:
                raise DataError(f"{fasta}: {chrom} is {genome.sizes.get(chrom)} bp, but "
                                f"{chrom_sizes} says {tiling.sizes[tiling.chromosomes.index(chrom)]}")
            writer.write("chrom", a, np.full(b - a, chrom.encode()))
            writer.write("start", a, starts)
            writer.write("end", a, starts + length)
            writer.write("sequence", a, genome.windows(chrom, starts, length))
            bar.update(b - a)
    bar.close()
    return tiling


def _normalisation(normalisation: str, reference: PathLike | None) -> None:
    if normalisation not in NORMALISATIONS:
        raise ValueError(f"unknown normalisation {normalisation!r}; use "
                         f"{', '.join(NORMALISATIONS)}")
    if normalisation == "train" and reference is None:
        raise ValueError("normalisation 'train' needs the training split's file of the track "
                         "(its recorded statistics)")


def build_tile_signal(inpeak: PathLike, tiles: PathLike, out: PathLike, normalisation: str,
                      reference: PathLike | None = None, progress: bool = True) -> None:
    """``signals/{cell}.{assay}.h5`` of a tiled data set from the track's in-peak values
    (:class:`nettime.data.signals.InPeakSignal`), z-scored with the ``mean`` and ``std``
    recorded in ``reference`` (the training split's file of the track, ``normalisation:
    train``) or with the tiles' own (``per_split``)."""
    _normalisation(normalisation, reference)
    tiling = read_tiling(tiles)
    with InPeakSignal(inpeak) as signal:
        def blocks() -> Iterator[tuple[int, np.ndarray]]:
            bar = tqdm(total=tiling.n_examples, desc=f"tiles {os.path.basename(os.fspath(out))}",
                       unit="window", file=sys.stderr, disable=not progress)
            for chrom, a, b, starts, _, _ in tiling.blocks():
                yield a, signal.windows(chrom, starts, tiling.length)
                bar.update(b - a)
            bar.close()

        if normalisation == "train":
            with h5py.File(reference, "r") as h5:
                mean, std = float(h5.attrs["mean"]), float(h5.attrs["std"])
        else:
            stats = Stats()
            for _, values in blocks():
                stats.update(values)
            mean, std = stats.mean, stats.std
        with h5py.File(inpeak, "r") as h5:
            provenance = {"source": str(h5.attrs["bigwig"]), "md5": str(h5.attrs["bigwig_md5"]),
                          "peaks": str(h5.attrs["peaks"]), "peaks_md5": str(h5.attrs["peaks_md5"]),
                          "normalisation": normalisation}
        write_signal(out, tiling.n_examples, tiling.length, blocks(), mean, std, provenance)


def build_tile_motifs(fasta: PathLike, tiles: PathLike, out: PathLike, motif: str,
                      motif_dir: str | None, normalisation: str,
                      reference: PathLike | None = None, progress: bool = True) -> None:
    """``motifs/{TF}.h5`` of a tiled data set: the FIMO channels of the TF's motif
    (:mod:`nettime.data.motif_features`), z-scored per strand with the statistics recorded in
    ``reference`` (the training split's file, ``normalisation: train``) or the tiles' own.
    ``motif`` :data:`NO_MOTIF` gives channels of zeros, as for every split."""
    _normalisation(normalisation, reference)
    tiling = read_tiling(tiles)
    n, length = tiling.n_examples, tiling.length
    if motif == NO_MOTIF:
        zeros = ((a, np.zeros((b - a, length, 2), np.float32))
                 for _, a, b, _, _, _ in tiling.blocks())
        write_motifs(out, n, length, zeros, [(0.0, 1.0), (0.0, 1.0)],
                     {"source": "none: no known motif (channels are zeros)"})
        return
    ppm = load_ppm(motif, motif_dir or None)
    with Genome(fasta) as genome:
        def blocks() -> Iterator[tuple[int, np.ndarray]]:
            bar = tqdm(total=n, desc=f"tiles {os.path.basename(os.fspath(out))}", unit="window",
                       file=sys.stderr, disable=not progress)
            for chrom, a, b, starts, _, _ in tiling.blocks():
                yield a, motif_channels(genome.windows(chrom, starts, length), ppm)
                bar.update(b - a)
            bar.close()

        if normalisation == "train":
            with h5py.File(reference, "r") as h5:
                stats = [(float(h5.attrs["mean_fwd"]), float(h5.attrs["std_fwd"])),
                         (float(h5.attrs["mean_rev"]), float(h5.attrs["std_rev"]))]
        else:
            running = [Stats(), Stats()]
            for _, channels in blocks():
                for strand in range(2):
                    running[strand].update(channels[..., strand])
            stats = [(s.mean, s.std) for s in running]
        write_motifs(out, n, length, blocks(), stats,
                     {"source": motif_source(motif), "normalisation": normalisation})
