"""Cell-type signals: bigWig values inside the assay's narrowPeak intervals, and their z-scores.

Two steps keep the expensive part independent of the example set:

1. :func:`write_inpeak` reads one (cell type, assay) bigWig chromosome by chromosome in large
   blocks and keeps the values of the bases inside that assay's peaks (an intermediate HDF5 file
   per track that does not change when conditions are added);
2. :class:`InPeakSignal` fills example windows from that file (0 outside peaks), vectorised over
   all windows of a chromosome.

Z-score statistics (mean and standard deviation over every position of every example, zeros
included) come from :func:`window_stats`; the pipeline computes them on the training split and
applies them to every split (``normalisation: per_split`` reproduces the original, which used each
split's own statistics).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import h5py
import numpy as np
import pandas as pd
import pyBigWig
from tqdm import tqdm

from nettime.files import md5sum
from nettime.genome import DataError, unknown_chromosome_message
from nettime.peaks import overlaps, read_narrowpeak, union_intervals

READ_BLOCK = 1 << 24  # bases per bigWig read: 16 Mb, 64 MB of float32


def open_bigwig(path: str | os.PathLike[str]) -> pyBigWig.pyBigWig:
    path = str(path)
    if not os.path.exists(path):
        raise DataError(f"{path}: no such file")
    try:
        handle = pyBigWig.open(path)
    except RuntimeError:
        handle = None
    if handle is None or not handle.isBigWig():
        raise DataError(f"{path}: not a bigWig file")
    return handle


def check_bigwig_chromosomes(path: str, bw_chroms: Mapping[str, int],
                             needed: Mapping[str, int]) -> None:
    """Every needed chromosome must be in the bigWig with the genome's length."""
    for chrom, size in needed.items():
        if chrom not in bw_chroms:
            raise DataError(f"{path}: chromosome {chrom!r} is missing from the bigWig: "
                            + unknown_chromosome_message(chrom, bw_chroms, "bigWig"))
        if bw_chroms[chrom] != size:
            raise DataError(f"{path}: chromosome {chrom!r} is {bw_chroms[chrom]} bp in the "
                            f"bigWig but {size} bp in the genome (another assembly?)")


def write_inpeak(bigwig: str | os.PathLike[str], peaks: str | os.PathLike[str],
                 chrom_sizes: Mapping[str, int], out: str | os.PathLike[str],
                 block: int = READ_BLOCK, progress: bool = True) -> None:
    """Keep a bigWig's values at the bases inside a narrowPeak file's peaks.

    Writes the union of the peaks of every chromosome, concatenated in genome order
    (``start``, ``end`` int64 (m,)), where each chromosome's intervals begin
    (``chroms`` bytes (k,), ``first`` int64 (k + 1,)), where each interval's values begin
    (``offset`` int64 (m,)) and the values (``value`` float32 (sum of lengths,), NaN read
    as 0), with attributes naming the sources and their md5. A few large datasets rather
    than a few per chromosome: dataset creation is a fixed cost per track.

    Raises
    ------
    DataError
        Before reading any signal: a bad peak line, or a chromosome with peaks that the bigWig
        lacks or sizes differently.
    """
    bigwig, peaks = str(bigwig), str(peaks)
    frame = read_narrowpeak(peaks, chrom_sizes)
    bw = open_bigwig(bigwig)
    try:
        groups = dict(tuple(frame.groupby("chrom", sort=False)))
        chroms = [c for c in chrom_sizes if c in groups]
        check_bigwig_chromosomes(bigwig, bw.chroms(), {c: chrom_sizes[c] for c in chroms})
        with h5py.File(out, "w") as h5:
            h5.attrs["bigwig"] = os.fspath(bigwig)
            h5.attrs["bigwig_md5"] = md5sum(bigwig)
            h5.attrs["peaks"] = os.fspath(peaks)
            h5.attrs["peaks_md5"] = md5sum(peaks)
            value = h5.create_dataset("value", shape=(0,), maxshape=(None,), dtype=np.float32,
                                      chunks=(1 << 16,), compression="lzf")
            starts, ends, firsts = [], [], [0]
            for chrom in tqdm(chroms, desc=f"in-peak {os.path.basename(bigwig)}",
                              disable=not progress):
                group = groups[chrom]
                start, end = union_intervals(group["start"].to_numpy(np.int64),
                                             group["end"].to_numpy(np.int64))
                lengths = end - start
                offset = np.cumsum(lengths) - lengths
                values = np.zeros(int(lengths.sum()), dtype=np.float32)
                # One large read per block of the chromosome that holds peak bases.
                for lo in range(int(start[0]) // block * block, int(end[-1]), block):
                    i0 = int(np.searchsorted(end, lo, side="right"))
                    i1 = int(np.searchsorted(start, lo + block, side="left"))
                    if i1 == i0:
                        continue
                    a, b = max(int(start[i0]), lo), min(int(end[i1 - 1]), lo + block)
                    read = bw.values(chrom, a, b, numpy=True)
                    first = offset[i0] + (a - start[i0])
                    # Slices per interval: the cost follows the bases kept, not the span.
                    kept = np.concatenate([read[max(s, a) - a:min(e, b) - a] for s, e in
                                           zip(start[i0:i1].tolist(), end[i0:i1].tolist(),
                                               strict=True)])
                    values[first:first + len(kept)] = kept
                np.nan_to_num(values, copy=False, nan=0.0)
                done = value.shape[0]
                value.resize((done + len(values),))
                value[done:] = values
                starts.append(start)
                ends.append(end)
                firsts.append(firsts[-1] + len(start))
            h5["chroms"] = np.array(chroms, dtype="S")
            h5["first"] = np.asarray(firsts, dtype=np.int64)
            h5["start"] = np.concatenate(starts) if starts else np.zeros(0, np.int64)
            h5["end"] = np.concatenate(ends) if ends else np.zeros(0, np.int64)
            lengths = h5["end"][:] - h5["start"][:]
            h5["offset"] = np.cumsum(lengths) - lengths
    finally:
        bw.close()


class InPeakSignal:
    """Reader of a :func:`write_inpeak` file that fills example windows.

    One chromosome's values are held in memory at a time.
    """

    def __init__(self, path: str | os.PathLike[str]):
        self.path = str(path)
        self._h5 = h5py.File(self.path, "r")
        chroms = [c.decode() for c in self._h5["chroms"][:]]
        first = self._h5["first"][:]
        self._ranges = {c: (int(first[i]), int(first[i + 1])) for i, c in enumerate(chroms)}
        self._chrom: str | None = None
        self._data: tuple[np.ndarray, ...] = ()

    def _load(self, chrom: str) -> tuple[np.ndarray, ...]:
        if chrom != self._chrom:
            if chrom in self._ranges:
                i0, i1 = self._ranges[chrom]
                start, end = self._h5["start"][i0:i1], self._h5["end"][i0:i1]
                offset = self._h5["offset"][i0:i1]
                lo, hi = int(offset[0]), int(offset[-1] + end[-1] - start[-1])
                self._data = (start, end, offset - lo, self._h5["value"][lo:hi])
            else:  # no peak on this chromosome: all zeros
                empty = np.zeros(0, dtype=np.int64)
                self._data = (empty, empty, empty, np.zeros(0, np.float32))
            self._chrom = chrom
        return self._data

    def windows(self, chrom: str, starts: np.ndarray, length: int) -> np.ndarray:
        """Signal of windows ``[start, start + length)`` of one chromosome.

        Returns
        -------
        numpy.ndarray
            float32 (n, length): the bigWig value inside peaks, 0 elsewhere.
        """
        starts = np.asarray(starts, dtype=np.int64)
        iv_start, iv_end, offset, value = self._load(chrom)
        out = np.zeros((len(starts), length), dtype=np.float32)
        rows, index, lo, hi = overlaps(starts, length, iv_start, iv_end)
        seg = hi - lo
        within = np.arange(seg.sum()) - np.repeat(np.cumsum(seg) - seg, seg)
        src = np.repeat(offset[index] + starts[rows] + lo - iv_start[index], seg) + within
        out[np.repeat(rows, seg), np.repeat(lo, seg) + within] = value[src]
        return out

    def close(self) -> None:
        self._h5.close()

    def __enter__(self) -> InPeakSignal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def chromosome_blocks(examples: pd.DataFrame, block: int) -> Iterator[tuple[str, int, int]]:
    """(chrom, first row, stop row) of consecutive same-chromosome example blocks.

    ``examples`` must be grouped by chromosome (as the sorted example BED is).
    """
    chrom = examples["chrom"].to_numpy()
    if len(chrom) == 0:
        return
    change = np.flatnonzero(chrom[1:] != chrom[:-1]) + 1
    bounds = np.concatenate([[0], change, [len(chrom)]])
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        for lo in range(int(a), int(b), block):
            yield str(chrom[a]), lo, min(lo + block, int(b))


@dataclass
class Stats:
    """Running mean and standard deviation over every value seen (float64 sums)."""

    count: int = 0
    total: float = 0.0
    total_sq: float = 0.0

    def update(self, values: np.ndarray) -> None:
        values = np.asarray(values, dtype=np.float64)
        self.count += values.size
        self.total += float(values.sum())
        self.total_sq += float(np.square(values).sum())

    @property
    def mean(self) -> float:
        return self.total / self.count if self.count else 0.0

    @property
    def std(self) -> float:
        if not self.count:
            return 1.0
        var = max(self.total_sq / self.count - self.mean ** 2, 0.0)
        return float(np.sqrt(var))


def zscore(values: np.ndarray, mean: float, std: float) -> np.ndarray:
    """``(values - mean) / std``; a constant track (std 0) is only centred."""
    return (values - mean) / (std if std > 0 else 1.0)


def window_stats(inpeak: str | os.PathLike[str], examples: pd.DataFrame, length: int,
                 block: int = 4096) -> tuple[float, float]:
    """Mean and standard deviation of a track over every base of every example window."""
    stats = Stats()
    with InPeakSignal(inpeak) as signal:
        for chrom, a, b in chromosome_blocks(examples, block):
            stats.update(signal.windows(chrom, examples["start"].to_numpy()[a:b], length))
    return stats.mean, stats.std
