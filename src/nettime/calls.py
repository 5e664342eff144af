"""Binary calls from stored predictions: the threshold search and CRF training on validation
predictions, per-base calls on a split (HDF5) and the called sites (BED).

This module is the glue between the files and the array code of :mod:`nettime.crf`:

- predictions ``results/predictions/{model}/{split}.h5``: dataset ``prob/{condition}`` float16
  (n_examples, L), rows in the order of the examples of ``results/data/{split}.h5``;
- labels through ``nettime.dataset.open_dataset(path).read_labels(condition, label_set, start,
  stop)`` -> uint8 (m, L); example coordinates from ``examples/chrom|start|end`` of that file.

Everything streams over blocks of examples, one condition at a time.

Training data of the CRF. The CRF is fitted on validation predictions of the frozen network:
training-split predictions would be over-confident (the network has seen those labels) and the
CRF would learn to trust them too much. Validation examples are split at random (fixed seed)
into a fitting part and a selection part (``select_fraction``); the checkpoint with the lowest
NLL on the selection part is kept. The CRF has 8 parameters, so a sample of at most
``max_sequences`` (example, condition) sequences is enough and bounds memory.

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
from tqdm import tqdm

from nettime import crf as crfmod
from nettime.files import atomic_output

__all__ = [
    "PredictionError",
    "call_split",
    "fit_crf",
    "merge_sorted",
    "prediction_conditions",
    "read_examples",
    "runs",
    "search_threshold",
    "write_sites",
]

PathLike = str | os.PathLike[str]


class PredictionError(ValueError):
    """Predictions that do not fit their data set (the message names the file)."""


def prediction_conditions(predictions: PathLike) -> list[str]:
    """Conditions with a ``prob/{condition}`` dataset in a predictions file, sorted."""
    with h5py.File(predictions, "r") as handle:
        if "prob" not in handle:
            raise PredictionError(f"{predictions}: no 'prob' group")
        return sorted(handle["prob"].keys())


def read_examples(data: PathLike) -> pd.DataFrame:
    """Example coordinates (chrom, start, end) of a data set file, one row per example."""
    with h5py.File(data, "r") as handle:
        chrom = handle["examples/chrom"][:]
        return pd.DataFrame({
            "chrom": [c.decode() if isinstance(c, bytes) else str(c) for c in chrom],
            "start": handle["examples/start"][:].astype(np.int64),
            "end": handle["examples/end"][:].astype(np.int64),
        })


def open_labels(data: PathLike):
    """Open the labels of a data set file (``nettime.dataset.open_dataset``)."""
    from nettime.dataset import open_dataset  # issue 4's reader; imported when files are read

    return open_dataset(data)


def check_predictions(predictions: PathLike, data: PathLike, handle: h5py.File, dataset,
                      conditions: Sequence[str]) -> None:
    """Raise :class:`PredictionError` unless every condition has predictions of the data
    set's shape and labels in the data set."""
    for condition in conditions:
        if f"prob/{condition}" not in handle:
            raise PredictionError(f"{predictions}: no predictions for condition {condition}")
        if condition not in dataset.conditions:
            raise PredictionError(f"{data}: no labels for condition {condition} "
                                  f"(predicted in {predictions})")
        shape = handle[f"prob/{condition}"].shape
        if shape != (dataset.n_examples, dataset.length):
            raise PredictionError(
                f"{predictions}: prob/{condition} has shape {shape}, but {data} holds "
                f"{dataset.n_examples} examples of length {dataset.length}")


def _blocks(handle: h5py.File, dataset, condition: str, label_set: str,
            block_size: int) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """(first row, probabilities float16 (m, L), labels uint8 (m, L)) per block."""
    probabilities = handle[f"prob/{condition}"]
    for start in range(0, probabilities.shape[0], block_size):
        stop = min(start + block_size, probabilities.shape[0])
        yield (start, probabilities[start:stop],
               np.asarray(dataset.read_labels(condition, label_set, start, stop)))


def search_threshold(
    predictions: PathLike,
    data: PathLike,
    n_thresholds: int = 300,
    seed: int = 0,
    label_set: str = "conserved",
    conditions: Sequence[str] | None = None,
    block_size: int = 1024,
) -> tuple[pd.DataFrame, float, float]:
    """IOU of every random threshold, pooled over all bases of all conditions.

    Returns
    -------
    table : DataFrame
        threshold, intersection, union, iou (one row per threshold, increasing threshold).
    best, best_iou : float
        The threshold with the highest IOU and that IOU.
    """
    thresholds = crfmod.random_thresholds(n_thresholds, seed)
    curve = crfmod.IOUCurve(thresholds)
    with h5py.File(predictions, "r") as handle, open_labels(data) as dataset:
        conditions = list(conditions or sorted(handle["prob"].keys()))
        check_predictions(predictions, data, handle, dataset, conditions)
        for condition in tqdm(conditions, desc="threshold search", unit="condition"):
            for _, p, y in _blocks(handle, dataset, condition, label_set, block_size):
                curve.add(p, y)
    best, best_iou = curve.best()
    return curve.table(), best, best_iou


def _sample_sequences(
    predictions: PathLike, data: PathLike, label_set: str, select_fraction: float,
    max_sequences: int, seed: int, block_size: int,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    with h5py.File(predictions, "r") as handle, open_labels(data) as dataset:
        conditions = sorted(handle["prob"].keys())
        check_predictions(predictions, data, handle, dataset, conditions)
        n = dataset.n_examples
        if n < 2:
            raise PredictionError(f"{predictions}: CRF training needs at least 2 examples")
        selecting = rng.random(n) < select_fraction
        if selecting.all() or not selecting.any():  # keep both parts non-empty
            selecting[:] = False
            selecting[rng.integers(n)] = True
        # Sample (condition, example) pairs uniformly within each part, at most max_sequences
        # for fitting and a quarter as many for selection.
        parts = {}
        for name, mask, cap in (("fit", ~selecting, max_sequences),
                                ("select", selecting, max(1, max_sequences // 4))):
            examples = np.flatnonzero(mask)
            total = len(conditions) * len(examples)
            # Pair number k is (condition k // n, example k % n); draw pairs without listing them.
            chosen = np.sort(rng.choice(total, min(cap, total), replace=False))
            parts[name] = np.stack([chosen // len(examples), examples[chosen % len(examples)]],
                                   axis=1)
        out = {name: ([], []) for name in parts}
        for index, condition in enumerate(tqdm(conditions, desc="CRF data", unit="condition")):
            rows = {name: pairs[pairs[:, 0] == index, 1] for name, pairs in parts.items()}
            for start, p, y in _blocks(handle, dataset, condition, label_set, block_size):
                for name, wanted in rows.items():
                    local = wanted[(wanted >= start) & (wanted < start + len(p))] - start
                    if len(local):
                        out[name][0].append(p[local])
                        out[name][1].append(y[local])
    fit, select = ((np.concatenate(out[name][0]), np.concatenate(out[name][1]))
                   for name in ("fit", "select"))
    return fit, select


def fit_crf(
    predictions: PathLike,
    data: PathLike,
    label_set: str = "conserved",
    lr: float = 1e-4,
    steps: int = 1000,
    batch_size: int = 64,
    eval_every: int = 50,
    select_fraction: float = 0.2,
    max_sequences: int = 4000,
    seed: int = 0,
    block_size: int = 1024,
) -> tuple[crfmod.LinearChainCRF, pd.DataFrame]:
    """Train the CRF on a predictions file (see the module docstring for the data used).

    Returns the best CRF and its training history (:func:`nettime.crf.train_crf`).
    """
    fit, select = _sample_sequences(predictions, data, label_set, select_fraction,
                                    max_sequences, seed, block_size)
    return crfmod.train_crf(fit, select, lr=lr, steps=steps, batch_size=batch_size,
                            eval_every=eval_every, seed=seed, progress=True)


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
    crf: crfmod.LinearChainCRF,
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
    examples = read_examples(data)
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
            with (h5py.File(predictions, "r") as handle, open_labels(data) as dataset,
                  h5py.File(tmp, "w") as out):
                conditions = sorted(handle["prob"].keys())
                check_predictions(predictions, data, handle, dataset, conditions)
                if len(examples) != dataset.n_examples:
                    raise PredictionError(f"{data}: {len(examples)} example coordinates for "
                                          f"{dataset.n_examples} examples")
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
                        block = {"threshold": crfmod.threshold_calls(p, threshold),
                                 "crf": crfmod.crf_calls(crf, p)}
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


def write_threshold_table(table: pd.DataFrame, best: float, best_iou: float,
                          path: PathLike) -> None:
    """Write the threshold curve as TSV with a ``best`` column marking the chosen threshold."""
    table = table.copy()
    table["best"] = table["threshold"] == best
    with atomic_output(path) as tmp:
        table.to_csv(tmp, sep="\t", index=False)  # shortest exact repr


def read_best_threshold(path: PathLike) -> float:
    """The threshold marked best in a table written by :func:`write_threshold_table`."""
    table = pd.read_csv(path, sep="\t")
    chosen = table.loc[table["best"].astype(bool), "threshold"]
    if len(chosen) != 1:
        raise PredictionError(f"{path}: expected one row marked best, found {len(chosen)}")
    return float(chosen.iloc[0])
