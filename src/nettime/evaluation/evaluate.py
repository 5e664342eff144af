"""Per-condition evaluation of a model's predictions and calls on one split, as a tidy table.

Reads ``results/predictions/{model}/{split}.h5`` (``prob/{condition}`` float16 (n, L)), the
labels of ``results/data/{split}.h5`` through :mod:`nettime.data.dataset`, and optionally the calls
written by :func:`nettime.calls.call_split`; streams over blocks of examples, one condition at a
time, so memory holds one block plus one fixed-size histogram per resolution.

Rows (columns model, condition, split, method, resolution, metric, value):

- method "probability": metrics "auprc" and "average_precision" at resolution 1 and at every
  bin width (:mod:`nettime.metrics` defines both exactly); a binned method (predictions with a
  ``bin_width`` attribute, e.g. 50 bp) has no score at resolutions finer than its bins and
  gets NaN there, except at 1 bp, where each base carries its bin's score (as the paper
  scored such methods);
- method "probability": metric "auprc_centre" at each centre width ``w``: one score per
  example, the maximum over its centre ``w`` bases, labelled bound when any of them is (the
  paper's 200-bp and 1000-bp comparisons with the baselines);
- methods "threshold" and "crf": metric "iou" at resolution 1;
- methods "target", "threshold" and "crf": metric "transitions_pct" (mean over sequences of the
  percentage of adjacent bases whose labels differ) and "positive_pct" (percentage of bases
  bound or called), at resolution 1.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import h5py
import numpy as np
import pandas as pd
from tqdm import tqdm

from nettime import metrics
from nettime.config import schema_defaults
from nettime.data.dataset import open_dataset
from nettime.data.predictions import PredictionError, check_predictions
from nettime.files import PathLike, atomic_output

COLUMNS = ["model", "condition", "split", "method", "resolution", "metric", "value"]
CALL_METHODS = ("threshold", "crf")


def evaluate_split(
    predictions: PathLike,
    data: PathLike,
    model: str,
    split: str,
    calls: PathLike | None = None,
    bin_widths: Sequence[int] | None = None,
    centre_widths: Sequence[int] | None = None,
    label_set: str = "conserved",
    block_size: int = 1024,
    score_method: str = "probability",
    progress: bool = True,
) -> pd.DataFrame:
    """Every metric of every predicted condition; see the module docstring for the rows.

    ``bin_widths`` and ``centre_widths`` default to the configuration's (``classify`` of the
    schema).
    ``score_method`` names the method of the auPRC and AP rows: "probability" for a model's
    predictions, the variant's name (e.g. "random_tf") for variant predictions. ``progress``
    shows a progress bar on stderr.

    Returns
    -------
    DataFrame
        Columns :data:`COLUMNS`, rows ordered by condition, method, metric, resolution.
    """
    defaults = schema_defaults()["classify"]
    widths = metrics.resolutions(defaults["bin_widths"] if bin_widths is None else bin_widths)
    centres = [int(w) for w in (defaults["centre_widths"] if centre_widths is None
                                else centre_widths)]
    rows = []

    def add(condition, method, resolution, metric, value):
        rows.append((model, condition, split, method, resolution, metric, float(value)))

    with (h5py.File(predictions, "r") as handle, open_dataset(data) as dataset,
          (h5py.File(calls, "r") if calls is not None else _NoCalls()) as called):
        conditions = sorted(handle["prob"].keys())
        check_predictions(predictions, data, handle, dataset, conditions)
        scored_from = int(handle.attrs.get("bin_width", 1))
        methods = [m for m in CALL_METHODS if calls is not None]
        for condition in conditions:
            for method in methods:
                if f"{method}/{condition}" not in called:
                    raise PredictionError(f"{calls}: no {method} calls for {condition}")
        for condition in tqdm(conditions, desc=f"evaluate {model} {split}", unit="condition",
                              disable=not progress):
            curves = {w: metrics.PRAccumulator() for w in widths}
            # A centre wider than the examples is not scored (short windows of another source).
            centre = {w: metrics.PRAccumulator() for w in centres if w <= dataset.length}
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
                for w in centre:
                    centre[w].add(*metrics.centre_scores(p, y, w))
                binary = {"target": y}
                for method in methods:
                    binary[method] = called[f"{method}/{condition}"][start:stop]
                    counts[method] += metrics.iou_counts(binary[method], y)
                for method, values in binary.items():
                    transitions[method] += float(metrics.transition_percentage(values).sum())
                    positives[method] += int(np.count_nonzero(values))
            for w in widths:
                missing = 1 < w < scored_from  # finer than the method's own bins
                add(condition, score_method, w, "auprc",
                    np.nan if missing else curves[w].auprc())
                add(condition, score_method, w, "average_precision",
                    np.nan if missing else curves[w].average_precision())
            for w in centre:
                add(condition, score_method, w, "auprc_centre", centre[w].auprc())
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






def write_evaluation(predictions: PathLike, data: PathLike, model: str, split: str,
                     settings: Mapping[str, Any], out: PathLike, calls: PathLike | None = None,
                     score_method: str = "probability", progress: bool = True) -> pd.DataFrame:
    """:func:`evaluate_split` with the ``classify:`` settings (``bin_widths``, ``label_set``,
    ``block_size``), written to ``out`` as TSV (atomically)."""
    table = evaluate_split(predictions, data, model, split, calls=calls,
                           bin_widths=settings["bin_widths"],
                           centre_widths=settings["centre_widths"],
                           label_set=settings["label_set"],
                           block_size=settings["block_size"], score_method=score_method,
                           progress=progress)
    with atomic_output(out) as tmp:
        table.to_csv(tmp, sep="\t", index=False)
    return table
