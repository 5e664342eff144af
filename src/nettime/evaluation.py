"""Per-condition evaluation of a model's predictions and calls on one split, as a tidy table.

Reads ``results/predictions/{model}/{split}.h5`` (``prob/{condition}`` float16 (n, L)), the
labels of ``results/data/{split}.h5`` through :mod:`nettime.dataset`, and optionally the calls
written by :func:`nettime.calls.call_split`; streams over blocks of examples, one condition at a
time, so memory holds one block plus one fixed-size histogram per resolution.

Rows (columns model, condition, split, method, resolution, metric, value):

- method "probability": metrics "auprc" and "average_precision" at resolution 1 and at every
  bin width (:mod:`nettime.metrics` defines both exactly);
- methods "threshold" and "crf": metric "iou" at resolution 1;
- methods "target", "threshold" and "crf": metric "transitions_pct" (mean over sequences of the
  percentage of adjacent bases whose labels differ) and "positive_pct" (percentage of bases
  bound or called), at resolution 1.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import h5py
import numpy as np
import pandas as pd
from tqdm import tqdm

from nettime import calls as calling
from nettime import metrics
from nettime.calls import PredictionError, check_predictions

__all__ = ["COLUMNS", "evaluate_split", "wilcoxon_table"]

COLUMNS = ["model", "condition", "split", "method", "resolution", "metric", "value"]
CALL_METHODS = ("threshold", "crf")

PathLike = str | os.PathLike[str]


def evaluate_split(
    predictions: PathLike,
    data: PathLike,
    model: str,
    split: str,
    calls: PathLike | None = None,
    bin_widths: Sequence[int] = (20, 50, 100, 200, 500, 1000),
    label_set: str = "conserved",
    block_size: int = 1024,
    score_method: str = "probability",
) -> pd.DataFrame:
    """Every metric of every predicted condition; see the module docstring for the rows.

    ``score_method`` names the method of the auPRC and AP rows: "probability" for a model's
    predictions, the variant's name (e.g. "random_tf") for variant predictions.

    Returns
    -------
    DataFrame
        Columns :data:`COLUMNS`, rows ordered by condition, method, metric, resolution.
    """
    widths = metrics.resolutions(bin_widths)
    rows = []

    def add(condition, method, resolution, metric, value):
        rows.append((model, condition, split, method, resolution, metric, float(value)))

    with (h5py.File(predictions, "r") as handle, calling.open_labels(data) as dataset,
          (h5py.File(calls, "r") if calls is not None else _NoCalls()) as called):
        conditions = sorted(handle["prob"].keys())
        check_predictions(predictions, data, handle, dataset, conditions)
        methods = [m for m in CALL_METHODS if calls is not None]
        for condition in conditions:
            for method in methods:
                if f"{method}/{condition}" not in called:
                    raise PredictionError(f"{calls}: no {method} calls for {condition}")
        for condition in tqdm(conditions, desc=f"evaluate {model} {split}", unit="condition"):
            curves = {w: metrics.PRAccumulator() for w in widths}
            counts = {m: np.zeros(2, dtype=np.int64) for m in methods}  # intersection, union
            transitions = {m: 0.0 for m in ("target", *methods)}
            positives = {m: 0 for m in ("target", *methods)}
            probabilities = handle[f"prob/{condition}"]
            n, length = probabilities.shape
            for start in range(0, n, block_size):
                stop = min(start + block_size, n)
                p = probabilities[start:stop]
                y = np.asarray(dataset.read_labels(condition, label_set, start, stop))
                for w in widths:
                    curves[w].add(metrics.bin_scores(p, w), metrics.bin_labels(y, w))
                binary = {"target": y}
                for method in methods:
                    binary[method] = called[f"{method}/{condition}"][start:stop]
                    counts[method] += metrics.iou_counts(binary[method], y)
                for method, values in binary.items():
                    transitions[method] += float(metrics.transition_percentage(values).sum())
                    positives[method] += int(np.count_nonzero(values))
            for w in widths:
                add(condition, score_method, w, "auprc", curves[w].auprc())
                add(condition, score_method, w, "average_precision",
                    curves[w].average_precision())
            for method in methods:
                add(condition, method, 1, "iou", metrics.iou_from_counts(*counts[method]))
            for method in transitions:
                add(condition, method, 1, "transitions_pct", transitions[method] / max(n, 1))
                add(condition, method, 1, "positive_pct",
                    100.0 * positives[method] / max(n * length, 1))
    return pd.DataFrame(rows, columns=COLUMNS)


class _NoCalls(dict):
    """Stands in for an absent calls file in the ``with`` statement above."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


# Pairs of methods compared within one model by default (metric, method a, method b).
DEFAULT_PAIRS = (
    ("iou", "crf", "threshold"),
    ("transitions_pct", "crf", "threshold"),
    ("transitions_pct", "crf", "target"),
    ("transitions_pct", "threshold", "target"),
)


def wilcoxon_table(table: pd.DataFrame,
                   pairs: Sequence[tuple[str, str, str]] = DEFAULT_PAIRS) -> pd.DataFrame:
    """Paired Wilcoxon signed-rank tests between methods, per model and split, at 1 bp.

    Returns
    -------
    DataFrame
        model, split, metric, method_a, method_b, n, statistic, pvalue, mean_a, mean_b; pairs
        with fewer than two conditions are left out.
    """
    out = []
    at_bp = table[table["resolution"] == 1]
    for (model, split), group in at_bp.groupby(["model", "split"], sort=True):
        for metric, a, b in pairs:
            subset = group[group["metric"] == metric]
            common = (set(subset.loc[subset["method"] == a, "condition"])
                      & set(subset.loc[subset["method"] == b, "condition"]))
            if len(common) < 2:
                continue
            result = metrics.paired_wilcoxon(subset, metric, {"method": a}, {"method": b})
            out.append({"model": model, "split": split, "metric": metric, "method_a": a,
                        "method_b": b, **result})
    columns = ["model", "split", "metric", "method_a", "method_b", "n", "statistic", "pvalue",
               "mean_a", "mean_b"]
    return pd.DataFrame(out, columns=columns)
