"""Per-base calls on a split (HDF5) by the chosen threshold and the CRF, and the called sites (BED).

Everything streams over blocks of examples, one condition at a time.

Called sites. A site is a run of consecutive called bases of one example, placed on the genome
through the example's coordinates. Example windows may overlap, so overlapping or touching runs
of one condition are merged (the union of the calls of both windows). The BED has four columns:
chrom, start, end (0-based, half-open) and the condition; rows are sorted by chrom, start.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from nettime.calls.crf import LinearChainCRF, crf_calls, load_crf
from nettime.calls.thresholds import read_best_threshold, threshold_calls
from nettime.data.dataset import open_dataset
from nettime.data.predictions import check_predictions
from nettime.files import PathLike, atomic_output


def runs(calls: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Runs of consecutive ones in each row.

    Parameters
    ----------
    calls : 0/1 (m, L)

    Returns
    -------
    row, start, end : int64 (k,)
        Row of each run and its half-open base range, ordered by row then start.
    """
    calls = np.asarray(calls).astype(np.int8, copy=False)
    if calls.ndim != 2:
        raise ValueError(f"calls must be (m, L), got shape {calls.shape}")
    padded = np.zeros((calls.shape[0], calls.shape[1] + 2), dtype=np.int8)
    padded[:, 1:-1] = calls != 0
    edges = np.diff(padded, axis=1)  # +1 where a run starts, -1 one past its end
    row_s, start = np.nonzero(edges == 1)
    _, end = np.nonzero(edges == -1)
    return row_s.astype(np.int64), start.astype(np.int64), end.astype(np.int64)


def merge_sorted(lines: Iterable[str]) -> Iterator[tuple[str, int, int, str]]:
    """Merge overlapping or touching BED4 intervals of one name and chromosome.

    Parameters
    ----------
    lines : iterable of str
        ``chrom\tstart\tend\tname`` lines sorted by name, chrom, then start (numerically).

    Yields
    ------
    (chrom, start, end, name)
        Disjoint, non-touching intervals per (name, chrom), in input order.
    """
    current: list | None = None
    for line in lines:
        chrom, start, end, name = line.rstrip("\n").split("\t")
        begin, stop = int(start), int(end)
        if (current is not None and current[3] == name and current[0] == chrom
                and begin <= current[2]):
            current[2] = max(current[2], stop)
            continue
        if current is not None:
            yield tuple(current)
        current = [chrom, begin, stop, name]
    if current is not None:
        yield tuple(current)


def _sort_lines(source: Path, target: Path, keys: Sequence[str]) -> None:
    # GNU sort spills to disk, so memory stays bounded however many sites there are.
    subprocess.run(["sort", *keys, "-S", "256M", "-T", str(target.parent), "-o", str(target),
                    str(source)], check=True, env={**os.environ, "LC_ALL": "C"})


def write_sites(raw: PathLike, bed: PathLike) -> int:
    """Sort and merge raw BED4 runs into ``bed`` (sorted by chrom, start, name); returns the
    number of sites."""
    bed = Path(bed)
    count = 0
    with atomic_output(bed) as tmp:
        by_name = tmp.with_name(tmp.name + ".byname")
        merged = tmp.with_name(tmp.name + ".merged")
        try:
            _sort_lines(Path(raw), by_name, ["-k4,4", "-k1,1", "-k2,2n"])
            with open(by_name) as lines, open(merged, "w") as out:
                for chrom, start, end, name in merge_sorted(lines):
                    out.write(f"{chrom}\t{start}\t{end}\t{name}\n")
                    count += 1
            _sort_lines(merged, tmp, ["-k1,1", "-k2,2n", "-k3,3n", "-k4,4"])
        finally:
            by_name.unlink(missing_ok=True)
            merged.unlink(missing_ok=True)
    return count


def call_split(
    predictions: PathLike,
    data: PathLike,
    threshold: float,
    crf: LinearChainCRF,
    calls_h5: PathLike,
    beds: dict[str, PathLike],
    block_size: int = 1024,
) -> None:
    """Per-base calls of both methods for every predicted condition, and their sites as BED.

    Writes ``calls_h5`` with datasets ``{method}/{condition}`` uint8 (n_examples, L) for the
    methods "threshold" (``p > threshold``) and "crf" (Viterbi), attrs threshold and source;
    and, for each method named in ``beds``, a BED4 of merged called sites (name = condition).
    """
    unknown = set(beds) - {"threshold", "crf"}
    if unknown:
        raise ValueError(f"unknown call methods {sorted(unknown)}")
    with open_dataset(data) as dataset:
        examples = dataset.examples()
    chroms = examples["chrom"].to_numpy()
    starts = examples["start"].to_numpy()
    methods = ("threshold", "crf")
    Path(calls_h5).parent.mkdir(parents=True, exist_ok=True)
    with (tempfile.TemporaryDirectory(dir=Path(calls_h5).parent, prefix=".runs.") as scratch,
          contextlib.ExitStack() as stack):
        # Raw runs go to scratch files, then are sorted and merged on disk (bounded memory).
        raw = {m: Path(scratch) / f"{m}.bed" for m in methods}
        raw_files = {m: stack.enter_context(open(raw[m], "w")) for m in methods}
        with atomic_output(calls_h5, suffix=".h5") as tmp:
            with (h5py.File(predictions, "r") as handle, open_dataset(data) as dataset,
                  h5py.File(tmp, "w") as out):
                conditions = sorted(handle["prob"].keys())
                check_predictions(predictions, data, handle, dataset, conditions)
                out.attrs["threshold"] = threshold
                out.attrs["source"] = str(predictions)
                out.attrs["conditions"] = conditions
                shape = (dataset.n_examples, dataset.length)
                chunks = (max(1, min(256, shape[0])), shape[1])
                for condition in tqdm(conditions, desc="calls", unit="condition"):
                    probabilities = handle[f"prob/{condition}"]
                    targets = {method: out.create_dataset(
                        f"{method}/{condition}", shape=shape, dtype=np.uint8, chunks=chunks,
                        compression="gzip", compression_opts=4, shuffle=True)
                        for method in methods}
                    for start in range(0, shape[0], block_size):
                        p = probabilities[start:start + block_size]
                        block = {"threshold": threshold_calls(p, threshold),
                                 "crf": crf_calls(crf, p)}
                        for method, called in block.items():
                            targets[method][start:start + len(p)] = called
                            row, begin, end = runs(called)
                            row += start
                            pd.DataFrame({"chrom": chroms[row], "start": starts[row] + begin,
                                          "end": starts[row] + end, "name": condition}).to_csv(
                                raw_files[method], sep="\t", header=False, index=False)
        for method in methods:
            raw_files[method].close()
            if method in beds:
                write_sites(raw[method], beds[method])


def build_calls(predictions: PathLike, data: PathLike, thresholds: PathLike, crf: PathLike,
                calls_h5: PathLike, beds: dict[str, PathLike], block_size: int = 1024,
                threads: int = 1) -> None:
    """``results/calls/{model}/{split}.h5`` and the called sites: :func:`call_split` with the
    threshold chosen on validation (:mod:`nettime.calls.thresholds`) and the fitted CRF."""
    torch.set_num_threads(threads)
    call_split(predictions, data, threshold=read_best_threshold(thresholds), crf=load_crf(crf),
               calls_h5=calls_h5, beds=beds, block_size=block_size)
