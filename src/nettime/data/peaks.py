"""Peaks and examples: narrowPeak I/O, pooling, the greedy merge, example windows, labels.

The merge and window rules follow the original NetTIME preprocessing exactly:

- pool the conserved and relaxed peaks of every condition and drop peaks of length >= 1000;
- walk each chromosome's peaks sorted by (start, end), keeping a current merged interval: a peak
  contained in it is dropped; a peak that overlaps it by fewer than ``min_overlap`` bases starts a
  new interval; otherwise the peak extends it when the union is at most ``max_union`` bases long,
  and starts a new interval when it is longer;
- keep merged intervals on the split's chromosomes that touch no blacklisted base;
- the example window is ``[mid - L/2, mid + L/2)`` with ``mid = start + (end - start) // 2``;
  windows that leave the chromosome or hold a base other than A, C, G, T are dropped.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from nettime.data.genome import Genome, read_blacklist, split_regions, unknown_chromosome_message
from nettime.files import DataError, atomic_output, narrowpeak_rows, read_chrom_sizes

if TYPE_CHECKING:
    import pybedtools

BED_COLUMNS = ["chrom", "start", "end"]



def interval_frame(chroms: Sequence[str], starts: Sequence[int],
                   ends: Sequence[int]) -> pd.DataFrame:
    """Intervals as a frame: columns chrom (str), start, end (int64), in the order given."""
    return pd.DataFrame({"chrom": pd.Series(chroms, dtype=str),
                         "start": np.asarray(starts, dtype=np.int64),
                         "end": np.asarray(ends, dtype=np.int64)})


def read_narrowpeak(path: str | os.PathLike[str],
                    chrom_sizes: Mapping[str, int] | None = None) -> pd.DataFrame:
    """Read a narrowPeak file (gzipped or not), checking every line.

    ``track``/``browser`` lines, ``#`` comments and blank lines are skipped. Each peak line must
    have 10 tab-separated fields with integer start < end (0 <= start); with ``chrom_sizes``,
    the chromosome must be known and the end within it.

    Returns
    -------
    pandas.DataFrame
        Columns chrom (str), start, end (int64), in file order.

    Raises
    ------
    DataError
        Naming the file, line and field of the first bad line.
    """
    chroms: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for where, fields, start, end in narrowpeak_rows(path):
        chrom = fields[0]
        if chrom_sizes is not None:
            if chrom not in chrom_sizes:
                raise DataError(f"{where}: field 'chrom': "
                                f"{unknown_chromosome_message(chrom, chrom_sizes)}")
            if end > chrom_sizes[chrom]:
                raise DataError(f"{where}: field 'end' ({end}) is past the end of {chrom} "
                                f"({chrom_sizes[chrom]} bp)")
        chroms.append(chrom)
        starts.append(start)
        ends.append(end)
    return interval_frame(chroms, starts, ends)


def pool_peaks(paths: Iterable[str | os.PathLike[str]], chrom_sizes: Mapping[str, int],
               max_peak_length: int = 1000) -> pd.DataFrame:
    """Pool the peaks of several files, dropping peaks of length >= ``max_peak_length``.

    Returns
    -------
    pandas.DataFrame
        Columns chrom, start, end, sorted by (chrom, start, end).
    """
    frames = [read_narrowpeak(path, chrom_sizes) for path in paths]
    pooled = (pd.concat(frames, ignore_index=True) if frames
              else interval_frame([], [], []))
    pooled = pooled[(pooled["end"] - pooled["start"]) < max_peak_length]
    return sort_intervals(pooled)


def sort_intervals(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(BED_COLUMNS, kind="stable").reset_index(drop=True)


def merge_peaks(peaks: pd.DataFrame, min_overlap: int = 200,
                max_union: int = 600) -> pd.DataFrame:
    """The original greedy merge (see the module docstring); the input need not be sorted.

    Parameters
    ----------
    peaks
        Columns chrom, start, end.
    min_overlap
        A peak overlapping the current interval by fewer bases starts a new interval.
    max_union
        The longest interval a merge may produce.

    Returns
    -------
    pandas.DataFrame
        Columns chrom, start, end, sorted.
    """
    peaks = sort_intervals(peaks[BED_COLUMNS])
    out_chrom: list[str] = []
    out_start: list[int] = []
    out_end: list[int] = []
    for chrom, group in peaks.groupby("chrom", sort=True):
        cur_start = cur_end = -1
        first = True
        for start, end in zip(group["start"].tolist(), group["end"].tolist(), strict=True):
            if not first:
                if start >= cur_start and end <= cur_end:
                    continue  # contained in the current interval
                overlap = min(end, cur_end) - max(start, cur_start)
                union = max(end, cur_end) - min(start, cur_start)
                if overlap >= min_overlap and union <= max_union:
                    cur_start, cur_end = min(start, cur_start), max(end, cur_end)
                    continue
                out_chrom.append(chrom)
                out_start.append(cur_start)
                out_end.append(cur_end)
            cur_start, cur_end, first = start, end, False
        if not first:
            out_chrom.append(chrom)
            out_start.append(cur_start)
            out_end.append(cur_end)
    return interval_frame(out_chrom, out_start, out_end)


def _bedtool(frame: pd.DataFrame) -> pybedtools.BedTool:
    # Imported here: importing pybedtools costs a fraction of a second, and most jobs that use
    # this module (and Snakemake, through the figure registry) never call bedtools.
    import pybedtools

    text = "".join(f"{c}\t{s}\t{e}\n" for c, s, e in
                   zip(frame["chrom"], frame["start"], frame["end"], strict=True))
    return pybedtools.BedTool(text, from_string=True)


def _frame(bedtool: pybedtools.BedTool) -> pd.DataFrame:
    rows = [(f.chrom, f.start, f.end) for f in bedtool]
    frame = pd.DataFrame(rows, columns=BED_COLUMNS)
    return frame.astype({"chrom": str, "start": np.int64, "end": np.int64})


def filter_regions(intervals: pd.DataFrame, regions: pd.DataFrame) -> pd.DataFrame:
    """Keep the intervals that lie fully inside one region (``bedtools intersect -u -f 1``).

    ``regions`` is a split's blacklist-filtered regions (:func:`nettime.genome.split_regions`).
    """
    if len(intervals) == 0 or len(regions) == 0:
        return sort_intervals(intervals.iloc[:0])
    import pybedtools

    try:
        kept = _frame(_bedtool(intervals).intersect(_bedtool(regions), u=True, f=1.0))
    finally:
        pybedtools.cleanup()
    return sort_intervals(kept)


def example_windows(intervals: pd.DataFrame, chrom_sizes: Mapping[str, int],
                    length: int = 1000) -> pd.DataFrame:
    """Windows ``[mid - length//2, mid - length//2 + length)`` centred on each interval.

    Windows that start before 0 or end past the chromosome are dropped.
    """
    mid = intervals["start"].to_numpy() + (intervals["end"].to_numpy()
                                           - intervals["start"].to_numpy()) // 2
    start = mid - length // 2
    end = start + length
    size = intervals["chrom"].map(chrom_sizes).to_numpy()
    keep = (start >= 0) & (end <= size)
    return pd.DataFrame({"chrom": intervals["chrom"].to_numpy()[keep], "start": start[keep],
                         "end": end[keep]}).reset_index(drop=True)


def drop_non_acgt(windows: pd.DataFrame, genome: Genome, block: int = 4096) -> pd.DataFrame:
    """Drop windows that hold any base other than A, C, G, T (read in blocks of windows)."""
    keep = np.zeros(len(windows), dtype=bool)
    starts = windows["start"].to_numpy(np.int64)
    lengths = (windows["end"] - windows["start"]).to_numpy(np.int64)
    for chrom, rows in windows.groupby("chrom", sort=False).indices.items():
        rows = rows[np.argsort(starts[rows], kind="stable")]
        for length in np.unique(lengths[rows]):
            same = rows[lengths[rows] == length]
            for i in range(0, len(same), block):
                part = same[i:i + block]
                keep[part] = genome.windows(chrom, starts[part], int(length)).max(axis=1) < 4
    return windows[keep].reset_index(drop=True)


def build_examples(peak_files: Iterable[str | os.PathLike[str]], genome: Genome,
                   chrom_sizes: Mapping[str, int], chromosomes: Iterable[str],
                   blacklist: pd.DataFrame | None = None, min_overlap: int = 200,
                   max_union: int = 600, max_peak_length: int = 1000,
                   length: int = 1000) -> pd.DataFrame:
    """Peak files -> example windows of one split (pool, merge, filter, centre, drop non-ACGT).

    Returns
    -------
    pandas.DataFrame
        Columns chrom, start, end of the examples, sorted.
    """
    chromosomes = list(chromosomes)
    regions = split_regions(chrom_sizes, chromosomes, blacklist)
    pooled = pool_peaks(peak_files, chrom_sizes, max_peak_length)
    pooled = pooled[pooled["chrom"].isin(chromosomes)]
    merged = merge_peaks(pooled, min_overlap, max_union)
    merged = filter_regions(merged, regions)
    windows = example_windows(merged, chrom_sizes, length)
    return sort_intervals(drop_non_acgt(windows, genome))


def write_bed(frame: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write chrom, start, end as BED (tab-separated, no header), atomically."""
    with atomic_output(path, suffix=".bed") as tmp:
        frame[BED_COLUMNS].to_csv(tmp, sep="\t", header=False, index=False)


def build_examples_file(peak_files: Iterable[str | os.PathLike[str]],
                        fasta: str | os.PathLike[str], chrom_sizes: str | os.PathLike[str],
                        blacklist: str | os.PathLike[str], chromosomes: Iterable[str],
                        options: Mapping[str, int], out: str | os.PathLike[str]) -> pd.DataFrame:
    """``results/examples/{split}.bed``: :func:`build_examples` from the acquired files.

    ``options`` is the ``peaks:`` section of the configuration (``min_overlap``,
    ``max_union``, ``max_peak_length``, ``window``). Returns the examples written.
    """
    sizes = read_chrom_sizes(chrom_sizes)
    with Genome(fasta) as genome:
        examples = build_examples(peak_files, genome, sizes, chromosomes,
                                  read_blacklist(blacklist, sizes),
                                  min_overlap=options["min_overlap"],
                                  max_union=options["max_union"],
                                  max_peak_length=options["max_peak_length"],
                                  length=options["window"])
    write_bed(examples, out)
    return examples


def read_bed(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read the first three columns of a BED file (e.g. ``results/examples/{split}.bed``)."""
    frame = pd.read_csv(path, sep="\t", header=None, usecols=[0, 1, 2], names=BED_COLUMNS,
                        dtype={"chrom": str, "start": np.int64, "end": np.int64},
                        comment="#")
    return frame


def union_intervals(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Union of intervals as sorted, disjoint, non-touching intervals."""
    if len(starts) == 0:
        return starts, ends
    order = np.argsort(starts, kind="stable")
    starts, ends = starts[order], ends[order]
    reach = np.maximum.accumulate(ends)
    new = np.ones(len(starts), dtype=bool)
    new[1:] = starts[1:] > reach[:-1]
    group = np.cumsum(new) - 1
    out_start = starts[new]
    out_end = np.zeros(len(out_start), dtype=np.int64)
    np.maximum.at(out_end, group, ends)
    return out_start, out_end


def overlaps(win_start: np.ndarray, length: int, iv_start: np.ndarray,
             iv_end: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (window, interval) that overlap, for sorted disjoint intervals.

    Returns
    -------
    rows, intervals, lo, hi
        int64 (p,) each: window row, interval index, and the overlap ``[lo, hi)`` in window
        coordinates (0 <= lo < hi <= length).
    """
    win_end = win_start + length
    first = np.searchsorted(iv_end, win_start, side="right")
    last = np.searchsorted(iv_start, win_end, side="left")
    counts = np.maximum(last - first, 0)
    rows = np.repeat(np.arange(len(win_start)), counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    index = np.repeat(first, counts) + offsets
    lo = np.maximum(iv_start[index] - win_start[rows], 0)
    hi = np.minimum(iv_end[index] - win_start[rows], length)
    return rows, index, lo, hi


def base_labels(windows: pd.DataFrame, peaks: pd.DataFrame, length: int) -> np.ndarray:
    """Base-level labels: 1 where a base lies inside any peak, else 0.

    Parameters
    ----------
    windows
        Columns chrom, start (and end); every window has ``length`` bases.
    peaks
        Columns chrom, start, end (any order, may overlap).

    Returns
    -------
    numpy.ndarray
        uint8 (n_windows, length) in {0, 1}.
    """
    labels = np.zeros((len(windows), length), dtype=np.uint8)
    by_chrom = {c: g for c, g in peaks.groupby("chrom", sort=False)}
    for chrom, rows in windows.groupby("chrom", sort=False).indices.items():
        if chrom not in by_chrom:
            continue
        group = by_chrom[chrom]
        iv_start, iv_end = union_intervals(group["start"].to_numpy(np.int64),
                                  group["end"].to_numpy(np.int64))
        starts = windows["start"].to_numpy(np.int64)[rows]
        # A difference array per window: +1 where an overlap begins, -1 where it ends.
        diff = np.zeros((len(rows), length + 1), dtype=np.int8)
        pair_rows, _, lo, hi = overlaps(starts, length, iv_start, iv_end)
        np.add.at(diff, (pair_rows, lo), 1)
        np.add.at(diff, (pair_rows, hi), -1)
        labels[rows] = np.cumsum(diff[:, :length], axis=1, dtype=np.int16) > 0
    return labels
