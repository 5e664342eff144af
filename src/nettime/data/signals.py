"""Cell-type signals: bigWig values inside the assay's narrowPeak intervals, and their z-scores.

Two steps keep the expensive part independent of the example set:

1. :func:`write_inpeak` reads one (cell type, assay) bigWig chromosome by chromosome in large
   blocks and keeps the values of the bases inside that assay's peaks, as runs of equal values
   (an intermediate HDF5 file per track that does not change when conditions are added);
2. :class:`InPeakSignal` fills example windows from that file (0 outside peaks), vectorised over
   all windows of a block (one ``numpy.repeat`` of the runs and the gaps between them).

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

from nettime.data.genome import unknown_chromosome_message
from nettime.data.peaks import overlaps, read_narrowpeak, union_intervals
from nettime.files import DataError, atomic_output, md5sum, read_chrom_sizes

READ_BLOCK = 1 << 24  # bases per bigWig read: 16 Mb, 64 MB of float32
WRITE_RUNS = 1 << 20  # runs held before a write: 16 MB
INPEAK_FORMAT = "runs"  # the ``format`` attribute of write_inpeak files, a param of the rule


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


def inpeak_runs(values: np.ndarray, start: np.ndarray, end: np.ndarray,
                origin: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Runs of equal non-zero values of a signal, kept only inside intervals.

    Parameters
    ----------
    values
        float32 (n,): the signal of bases ``[origin, origin + n)`` (NaN reads as 0).
    start, end
        int64 (m,): sorted, disjoint intervals, each overlapping ``[origin, origin + n)``.
    origin
        Genome position of ``values[0]``.

    Returns
    -------
    start, length, value
        int64 (r,), int32 (r,), float32 (r,): sorted, disjoint runs
        ``[start, start + length)`` inside the intervals where the signal equals ``value``
        (never 0); bases in no run are 0. A run never spans two intervals.
    """
    lo = np.clip(start, origin, origin + len(values)) - origin
    hi = np.clip(end, origin, origin + len(values)) - origin
    # Slices per interval: the cost follows the bases kept, not the span read.
    kept = np.concatenate([values[a:b] for a, b in zip(lo.tolist(), hi.tolist(), strict=True)])
    np.copyto(kept, 0, where=np.isnan(kept))
    first = np.cumsum(hi - lo) - (hi - lo)  # where each interval begins in ``kept``
    new = np.empty(len(kept), dtype=bool)
    new[0] = True
    np.not_equal(kept[1:], kept[:-1], out=new[1:])
    new[first] = True  # every interval starts a run
    index = np.flatnonzero(new)
    length = np.diff(index, append=len(kept)).astype(np.int32)
    # Runs per interval (each interval starts one), to shift every run to genome positions.
    count = np.diff(np.searchsorted(index, first), append=len(index))
    run_start = index + np.repeat(origin + lo - first, count)
    value = kept[index]
    nonzero = value != 0
    return run_start[nonzero], length[nonzero], value[nonzero]


def write_inpeak(bigwig: str | os.PathLike[str], peaks: str | os.PathLike[str],
                 chrom_sizes: Mapping[str, int], out: str | os.PathLike[str],
                 block: int = READ_BLOCK, progress: bool = True) -> None:
    """Keep a bigWig's values at the bases inside a narrowPeak file's peaks, as runs.

    The signal inside the union of the peaks is stored sparsely as runs of equal non-zero
    values (bigWig signals are piecewise constant; every base in no run is 0), concatenated in
    genome order: ``start`` int64 (r,), ``length`` int32 (r,) (a run never crosses a read
    block, so it is shorter than ``block``) and ``value`` float32 (r,), with ``chroms``
    bytes (k,) and ``first`` int64 (k + 1,) saying where each chromosome's runs begin, and
    attributes naming the sources and their md5 (``format`` is ``"runs"``). NaN reads as 0.
    A few genome-wide datasets rather than a few per chromosome (dataset creation is a fixed
    cost per track), uncompressed (compression cost more time than the rest of the writing and
    reading; a run takes 16 bytes where every base took 4, so runs longer than 4 bases already
    save space). Memory holds one read block and the runs of the chromosomes read since the last write (written
    once there are ``WRITE_RUNS``).

    Raises
    ------
    DataError
        Before reading any signal: a bad peak line, or a chromosome with peaks that the bigWig
        lacks or sizes differently.
    """
    if not 0 < block < 1 << 31:
        raise ValueError(f"read block of {block} bases: must be in 1..2^31 - 1 (int32 runs)")
    bigwig, peaks = str(bigwig), str(peaks)
    frame = read_narrowpeak(peaks, chrom_sizes)
    bw = open_bigwig(bigwig)
    try:
        # Peaks grouped by chromosome (numpy rather than a pandas groupby: a fixed cost per track).
        code, names = pd.factorize(frame["chrom"])
        order = np.argsort(code, kind="stable")
        bounds = np.searchsorted(code[order], np.arange(len(names) + 1))
        rows = {str(c): order[bounds[i]:bounds[i + 1]] for i, c in enumerate(names)}
        chroms = [c for c in chrom_sizes if c in rows]
        check_bigwig_chromosomes(bigwig, bw.chroms(), {c: chrom_sizes[c] for c in chroms})
        peak_start, peak_end = frame["start"].to_numpy(np.int64), frame["end"].to_numpy(np.int64)
        with atomic_output(out, suffix=".h5") as tmp, h5py.File(tmp, "w") as h5:
            h5.attrs["format"] = INPEAK_FORMAT
            h5.attrs["bigwig"] = os.fspath(bigwig)
            h5.attrs["bigwig_md5"] = md5sum(bigwig)
            h5.attrs["peaks"] = os.fspath(peaks)
            h5.attrs["peaks_md5"] = md5sum(peaks)
            columns = [h5.create_dataset(name, shape=(0,), maxshape=(None,), dtype=dtype,
                                         chunks=(1 << 14,))
                       for name, dtype in (("start", np.int64), ("length", np.int32),
                                           ("value", np.float32))]
            firsts, total = [0], 0
            pending: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
            for chrom in tqdm(chroms, desc=f"in-peak {os.path.basename(bigwig)}",
                              disable=not progress):
                start, end = union_intervals(peak_start[rows[chrom]], peak_end[rows[chrom]])
                # One large read per block of the chromosome that holds peak bases.
                for lo in range(int(start[0]) // block * block, int(end[-1]), block):
                    i0 = int(np.searchsorted(end, lo, side="right"))
                    i1 = int(np.searchsorted(start, lo + block, side="left"))
                    if i1 == i0:
                        continue
                    a, b = max(int(start[i0]), lo), min(int(end[i1 - 1]), lo + block)
                    pending.append(inpeak_runs(bw.values(chrom, a, b, numpy=True),
                                               start[i0:i1], end[i0:i1], a))
                    total += len(pending[-1][0])
                firsts.append(total)
                if total - columns[0].shape[0] >= WRITE_RUNS:
                    _append(columns, pending)
            _append(columns, pending)
            h5["chroms"] = np.array(chroms, dtype="S")
            h5["first"] = np.asarray(firsts, dtype=np.int64)
    finally:
        bw.close()


def _append(columns: list[h5py.Dataset], pending: list[tuple[np.ndarray, ...]]) -> None:
    """Append runs to the columns (few large writes: each costs a fixed time), emptying
    ``pending``."""
    if pending:
        for column, parts in zip(columns, zip(*pending, strict=True), strict=True):
            done = column.shape[0]
            values = np.concatenate(parts)
            column.resize((done + len(values),))
            column[done:] = values
    pending.clear()


class InPeakSignal:
    """Reader of a :func:`write_inpeak` file that fills example windows.

    One chromosome's runs are held in memory at a time.
    """

    def __init__(self, path: str | os.PathLike[str]):
        self.path = str(path)
        self._h5 = h5py.File(self.path, "r")
        if self._h5.attrs.get("format") != INPEAK_FORMAT:
            self._h5.close()
            raise DataError(f"{self.path}: not an in-peak signal file of the current format "
                            f"({INPEAK_FORMAT}); rebuild it")
        chroms = [c.decode() for c in self._h5["chroms"][:]]
        first = self._h5["first"][:]
        self._ranges = {c: (int(first[i]), int(first[i + 1])) for i, c in enumerate(chroms)}
        self._chrom: str | None = None
        self._runs: tuple[np.ndarray, ...] = ()

    def _load(self, chrom: str) -> tuple[np.ndarray, ...]:
        if chrom != self._chrom:
            i0, i1 = self._ranges.get(chrom, (0, 0))  # no peak on this chromosome: all zeros
            start = self._h5["start"][i0:i1]
            self._runs = (start, start + self._h5["length"][i0:i1], self._h5["value"][i0:i1])
            self._chrom = chrom
        return self._runs

    def windows(self, chrom: str, starts: np.ndarray, length: int) -> np.ndarray:
        """Signal of windows ``[start, start + length)`` of one chromosome.

        Parameters
        ----------
        starts
            int (n,): window starts, in any order.

        Returns
        -------
        numpy.ndarray
            float32 (n, length): the bigWig value inside peaks, 0 elsewhere.
        """
        starts = np.asarray(starts, dtype=np.int64)
        run_start, run_end, run_value = self._load(chrom)
        rows, index, lo, hi = overlaps(starts, length, run_start, run_end)
        # Pieces of the flattened output in order (rows ascending, runs ascending within a
        # row): a gap of zeros before each run piece, then one after the last.
        piece_start = rows * length + lo
        piece_end = rows * length + hi
        sizes = np.empty(2 * len(rows) + 1, dtype=np.int64)
        sizes[1::2] = hi - lo
        sizes[0:-1:2] = piece_start
        sizes[2:-1:2] -= piece_end[:-1]
        sizes[-1] = len(starts) * length - (piece_end[-1] if len(rows) else 0)
        values = np.zeros(len(sizes), dtype=np.float32)
        values[1::2] = run_value[index]
        return np.repeat(values, sizes).reshape(len(starts), length)

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


def build_inpeak(bigwig: str | os.PathLike[str], peaks: str | os.PathLike[str],
                 chrom_sizes: str | os.PathLike[str], out: str | os.PathLike[str]) -> None:
    """``results/features/signals/{cell}.{assay}.h5``: :func:`write_inpeak` with the genome's
    chromosome sizes read from ``chrom_sizes``."""
    write_inpeak(bigwig, peaks, read_chrom_sizes(chrom_sizes), out)
