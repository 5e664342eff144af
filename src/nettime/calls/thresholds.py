"""The threshold search: ``n`` thresholds drawn uniformly at random in (0, 1) with a fixed seed
(300 in the paper); the one with the highest IOU, pooled over every base of every condition of
the validation predictions, is kept. A base is called bound when ``p > threshold``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import h5py
import numpy as np
import pandas as pd
from tqdm import tqdm

from nettime.data.dataset import open_dataset
from nettime.data.predictions import PredictionError, check_predictions, iter_blocks
from nettime.files import PathLike, atomic_output


def random_thresholds(n: int, seed: int) -> np.ndarray:
    """``n`` thresholds uniform in the open interval (0, 1), sorted; float64 (n,).

    The same ``(n, seed)`` always gives the same thresholds (numpy's PCG64 generator).
    """
    if n < 1:
        raise ValueError(f"number of thresholds must be positive, got {n}")
    rng = np.random.default_rng(seed)
    draws = rng.random(n)  # [0, 1)
    while (draws == 0).any():  # probability 2**-53 per draw; keep the interval open
        draws[draws == 0] = rng.random(int((draws == 0).sum()))
    return np.sort(draws)


def threshold_calls(probabilities: np.ndarray, threshold: float) -> np.ndarray:
    """Binary calls ``p > threshold``: uint8 of the shape of ``probabilities``."""
    return (np.asarray(probabilities, dtype=np.float64) > threshold).astype(np.uint8)


class IOUCurve:
    """Streaming intersection and union counts of ``p > t`` against labels for many ``t``.

    Parameters
    ----------
    thresholds : float64 (n,), increasing
    """

    def __init__(self, thresholds: np.ndarray) -> None:
        thresholds = np.asarray(thresholds, dtype=np.float64)
        if (np.diff(thresholds) <= 0).any():
            raise ValueError("thresholds must be strictly increasing")
        self.thresholds = thresholds
        self.intersection = np.zeros(len(thresholds), dtype=np.int64)
        self.union = np.zeros(len(thresholds), dtype=np.int64)
        self._code_slot: np.ndarray | None = None  # per float16 bit pattern, made on first use

    def _above(self, slot_counts: np.ndarray) -> np.ndarray:
        # slot_counts[k] = items with exactly k thresholds below them; entry i of the result is
        # #(slot > i) = #(p > t_i).
        return np.cumsum(slot_counts[::-1])[::-1][1:]

    def _slot_counts(self, probabilities: np.ndarray) -> np.ndarray:
        if probabilities.dtype == np.float16:
            # Few distinct values: count bit patterns, then place each pattern once (exact).
            if self._code_slot is None:
                values = np.arange(1 << 16, dtype=np.uint16).view(np.float16).astype(np.float64)
                slot = np.searchsorted(self.thresholds, values, side="left")
                slot[np.isnan(values)] = 0  # NaN > t is false: never called
                self._code_slot = slot
            codes = np.bincount(probabilities.view(np.uint16), minlength=1 << 16)
            return np.bincount(self._code_slot, weights=codes,
                               minlength=len(self.thresholds) + 1).astype(np.int64)
        slot = np.searchsorted(self.thresholds, probabilities.astype(np.float64), side="left")
        slot[np.isnan(probabilities)] = 0
        return np.bincount(slot, minlength=len(self.thresholds) + 1)

    def add(self, probabilities: np.ndarray, labels: np.ndarray) -> None:
        """Count a block: probabilities float (any shape), labels 0/1 of the same shape."""
        p = np.ascontiguousarray(probabilities).ravel()
        y = np.asarray(labels).ravel().astype(bool)
        if p.shape != y.shape:
            raise ValueError(f"probabilities {p.shape} and labels {y.shape} differ in size")
        true_called = self._above(self._slot_counts(p[y]))
        false_called = self._above(self._slot_counts(p[~y]))
        self.intersection += true_called
        self.union += int(y.sum()) + false_called

    def table(self) -> pd.DataFrame:
        """threshold, intersection, union and iou (1.0 where the union is empty) per threshold."""
        with np.errstate(invalid="ignore", divide="ignore"):
            iou = np.where(self.union > 0, self.intersection / np.maximum(self.union, 1), 1.0)
        return pd.DataFrame({"threshold": self.thresholds, "intersection": self.intersection,
                             "union": self.union, "iou": iou})

    def best(self) -> tuple[float, float]:
        """Threshold with the highest IOU (the lowest such threshold on ties) and that IOU."""
        table = self.table()
        index = int(np.argmax(table["iou"].to_numpy()))
        return float(table["threshold"].iloc[index]), float(table["iou"].iloc[index])


def iou_curve(blocks: Iterable[tuple[np.ndarray, np.ndarray]], thresholds: np.ndarray) -> IOUCurve:
    """Pool IOU counts over ``(probabilities, labels)`` blocks for every threshold."""
    curve = IOUCurve(thresholds)
    for probabilities, labels in blocks:
        curve.add(probabilities, labels)
    return curve


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
    curve = IOUCurve(random_thresholds(n_thresholds, seed))
    with h5py.File(predictions, "r") as handle, open_dataset(data) as dataset:
        conditions = list(conditions or sorted(handle["prob"].keys()))
        check_predictions(predictions, data, handle, dataset, conditions)
        for condition in tqdm(conditions, desc="threshold search", unit="condition"):
            for _, p, y in iter_blocks(handle, dataset, condition, label_set, block_size):
                curve.add(p, y)
    best, best_iou = curve.best()
    return curve.table(), best, best_iou


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


def build_thresholds(predictions: PathLike, data: PathLike, settings: Mapping[str, Any],
                     out: PathLike) -> tuple[float, float]:
    """``results/classify/{model}/thresholds.tsv``: :func:`search_threshold` with the
    ``classify:`` settings; returns the best threshold and its IOU."""
    table, best, best_iou = search_threshold(predictions, data,
                                             n_thresholds=settings["n_thresholds"],
                                             seed=settings["threshold_seed"],
                                             label_set=settings["label_set"],
                                             block_size=settings["block_size"])
    write_threshold_table(table, best, best_iou, out)
    return best, best_iou
