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

import os
from collections.abc import Iterator, Sequence

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
    "merge_intervals",
    "prediction_conditions",
    "read_examples",
    "runs",
    "search_threshold",
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
            pairs = np.array([(c, e) for c in range(len(conditions))
                              for e in np.flatnonzero(mask)], dtype=np.int64)
            if len(pairs) > cap:
                pairs = pairs[np.sort(rng.choice(len(pairs), cap, replace=False))]
            parts[name] = pairs
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


def merge_intervals(intervals: pd.DataFrame) -> pd.DataFrame:
    """Merge overlapping or touching intervals per (name, chrom).

    Parameters
    ----------
    intervals : DataFrame
        Columns chrom, start, end, name.

    Returns
    -------
    DataFrame
        Same columns, disjoint per (name, chrom), sorted by chrom, start, name.
    """
    columns = ["chrom", "start", "end", "name"]
    if intervals.empty:
        return pd.DataFrame({c: pd.Series(dtype=intervals[c].dtype) for c in columns})
    frame = intervals.sort_values(["name", "chrom", "start", "end"]).reset_index(drop=True)
    group = (frame["name"] + "\t" + frame["chrom"]).to_numpy()
    reach = frame.groupby(group, sort=False)["end"].cummax().to_numpy()
    new_group = np.r_[True, group[1:] != group[:-1]]
    # A new interval starts where it begins past every end seen so far in its group.
    opens = new_group.copy()
    opens[1:] |= frame["start"].to_numpy()[1:] > reach[:-1]
    label = np.cumsum(opens)
    merged = frame.groupby(label, sort=False).agg(chrom=("chrom", "first"),
                                                   start=("start", "min"),
                                                   end=("end", "max"),
                                                   name=("name", "first"))
    return merged.sort_values(["chrom", "start", "name"], kind="stable").reset_index(drop=True)


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
    sites: dict[str, list[pd.DataFrame]] = {method: [] for method in ("threshold", "crf")}
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
                    for method in ("threshold", "crf")}
                for start in range(0, shape[0], block_size):
                    p = probabilities[start:start + block_size]
                    block = {"threshold": crfmod.threshold_calls(p, threshold),
                             "crf": crfmod.crf_calls(crf, p)}
                    for method, calls in block.items():
                        targets[method][start:start + len(p)] = calls
                        row, begin, end = runs(calls)
                        row += start
                        sites[method].append(pd.DataFrame({
                            "chrom": chroms[row], "start": starts[row] + begin,
                            "end": starts[row] + end, "name": condition}))
    for method, path in beds.items():
        frames = [f for f in sites[method] if len(f)]
        table = (pd.concat(frames, ignore_index=True) if frames else
                 pd.DataFrame({"chrom": pd.Series(dtype=str), "start": pd.Series(dtype=np.int64),
                               "end": pd.Series(dtype=np.int64), "name": pd.Series(dtype=str)}))
        with atomic_output(path) as tmp:
            merge_intervals(table).to_csv(tmp, sep="\t", header=False, index=False)


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
