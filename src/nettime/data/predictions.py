"""The predictions file: what every model writes and every downstream stage reads.

``results/predictions/{model}/{split}[.{variant}].h5`` holds one dataset per condition,
``prob/{condition}`` float16 (n_examples, L) = P(bound) per base, rows in the order of the
examples of the split's data set (``results/data/{split}.h5``, :mod:`nettime.data.dataset`).
File attributes: ``model``, ``split``, ``conditions``, ``length``; ``method`` when the scores
are not NetTIME's (a baseline's name); ``bin_width`` when the method scores bins of that many
bases rather than single bases.

A binned method still writes every position: each base carries its bin's score. The evaluation
reports no score at resolutions finer than the bins (but 1 bp, where the paper compared such
methods base by base). Writers use
:class:`PredictionsWriter` (atomic: the file appears complete or not at all); readers check a
file against its data set with :func:`check_predictions` and stream it with
:func:`iter_blocks`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import h5py
import numpy as np

from nettime.data.dataset import DataSet
from nettime.files import AtomicWriter, PathLike

#: Examples per HDF5 chunk of a predictions dataset.
CHUNK_EXAMPLES = 64

class PredictionError(ValueError):
    """Predictions that do not fit their data set (the message names the file)."""


class PredictionsWriter(AtomicWriter):
    """Write a predictions file condition by condition, block by block, atomically.

    Parameters
    ----------
    path
        The predictions file; it appears under this name only when :meth:`close` succeeds
        (use as a context manager).
    n_examples, length
        Shape of every ``prob/{condition}`` dataset.
    model, split
        Recorded as attributes.
    conditions
        The conditions that will be written, in order.
    method
        Recorded as the ``method`` attribute when given (e.g. a baseline's name).
    bin_width
        Recorded as the ``bin_width`` attribute when above 1: the method scores bins of that
        many bases (each base of a bin carries the bin's score).
    """

    def __init__(self, path: PathLike, n_examples: int, length: int, model: str, split: str,
                 conditions: Sequence[str], method: str | None = None, bin_width: int = 1):
        self.n_examples, self.length = int(n_examples), int(length)
        super().__init__(path, suffix=".h5")
        with self.opening():
            self._h5 = h5py.File(self.tmp, "w")
            attrs = self._h5.attrs
            attrs["model"], attrs["split"], attrs["length"] = model, split, self.length
            attrs["conditions"] = list(conditions)
            if method is not None:
                attrs["method"] = method
            if bin_width > 1:
                attrs["bin_width"] = int(bin_width)
            self._group = self._h5.create_group("prob")

    def create(self, condition: str) -> h5py.Dataset:
        """The empty ``prob/{condition}`` dataset, float16 (n_examples, L), to fill by rows."""
        chunks = (max(1, min(self.n_examples, CHUNK_EXAMPLES)), self.length) \
            if self.n_examples else None
        return self._group.create_dataset(condition, shape=(self.n_examples, self.length),
                                          dtype="f2", chunks=chunks, compression="gzip",
                                          compression_opts=4, shuffle=True)

    def close_handles(self) -> None:
        if hasattr(self, "_h5"):
            self._h5.close()


def prediction_conditions(predictions: PathLike) -> list[str]:
    """Conditions with a ``prob/{condition}`` dataset in a predictions file, sorted."""
    with h5py.File(predictions, "r") as handle:
        if "prob" not in handle:
            raise PredictionError(f"{predictions}: no 'prob' group")
        return sorted(handle["prob"].keys())


def check_predictions(predictions: PathLike, data: PathLike, handle: h5py.File, dataset: DataSet,
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


def iter_blocks(handle: h5py.File, dataset: DataSet, condition: str, label_set: str,
            block_size: int) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """(first row, probabilities float16 (m, L), labels uint8 (m, L)) per block."""
    probabilities = handle[f"prob/{condition}"]
    for start in range(0, probabilities.shape[0], block_size):
        stop = min(start + block_size, probabilities.shape[0])
        yield (start, probabilities[start:stop],
               np.asarray(dataset.read_labels(condition, label_set, start, stop)))
