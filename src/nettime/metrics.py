"""Evaluation metrics: auPRC and average precision at every resolution, IOU, label transitions,
and statistics across conditions.

Everything works on plain numpy arrays, one condition at a time, and streams over blocks of
examples so that memory stays bounded however large the test set grows.

Precision-recall curves are exact, not binned approximations. Predictions are stored as float16
(``results/predictions``), and a float16 number has only 65,536 bit patterns, so a histogram of
positive and negative counts per bit pattern (:class:`PRAccumulator`, two int64 arrays of 65,536
entries, 1 MiB) holds everything that scikit-learn's ``precision_recall_curve`` looks at: the
distinct scores and how many positives and negatives carry each one. The curve computed from
the histogram is the same curve, so the error bound of the streaming computation is zero; the
tests compare it with scikit-learn to 1e-9. +0 and -0 count as one score, as they compare equal.

Definitions (as in the original NetTIME evaluation):

- auPRC: the trapezoidal area under the precision-recall curve, i.e. scikit-learn's
  ``auc(recall, precision)`` on ``precision_recall_curve``. Average precision is the step-wise
  sum ``-sum(diff(recall) * precision[:-1])`` (scikit-learn's ``average_precision_score``).
  Both are NaN when a condition has no positive base (scikit-learn warns and returns a number
  that means nothing there).
- Binned resolution ``w``: a bin of ``w`` consecutive bases of an example scores the maximum
  probability of its bases and is labelled 1 if any of its bases is bound. A trailing partial
  bin (when ``w`` does not divide the example length) covers the bases that remain.
- IOU of binary calls: ``|P & T| / |P | T|`` over all bases of a condition. When both the calls
  and the targets are empty the two sets agree perfectly and IOU is defined as 1.0; when only
  one is empty it is 0.0.
- Label transitions: for one sequence, ``100 * #{t : y[t] != y[t-1]} / (L - 1)``, the
  percentage of adjacent base pairs whose labels differ (paper Fig 7b).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

_N_CODES = 1 << 16
# Value of every float16 bit pattern, as float64 (exact: float64 holds every float16).
_CODE_VALUES = np.arange(_N_CODES, dtype=np.uint16).view(np.float16).astype(np.float64)


# ---- precision-recall ------------------------------------------------------------------------

def _curve_from_counts(
    pos: np.ndarray, neg: np.ndarray, scores: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision-recall curve from counts per distinct score, ordered by decreasing score.

    Parameters
    ----------
    pos, neg : int64 (k,)
        Positives and negatives carrying each distinct score; ``scores`` float64 (k,) strictly
        decreasing, every entry with ``pos + neg > 0``.

    Returns
    -------
    precision, recall : float64 (k + 1,)
        In scikit-learn's order (recall decreasing), ending with precision 1 and recall 0.
    thresholds : float64 (k,)
        Increasing.
    """
    tps = np.cumsum(pos, dtype=np.int64)
    fps = np.cumsum(neg, dtype=np.int64)
    predicted = tps + fps
    precision = np.divide(tps, predicted, out=np.zeros(len(tps)), where=predicted != 0)
    if len(tps) == 0 or tps[-1] == 0:
        recall = np.full(len(tps), np.nan)
    else:
        recall = tps / tps[-1]
    # With nothing counted at all the curve is only its end point; keep it undefined too, so
    # that the areas are NaN (no positives) rather than 0.
    end = 0.0 if len(tps) else np.nan
    return (np.concatenate([precision[::-1], [1.0]]), np.concatenate([recall[::-1], [end]]),
            scores[::-1].copy())


def pr_curve(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact precision-recall curve of in-memory scores of any float dtype.

    Parameters
    ----------
    scores : float (n,) or any shape
        Predicted probabilities.
    labels : integer or bool, same shape as ``scores``
        1 (or True) for a positive.

    Returns
    -------
    precision, recall, thresholds
        As ``sklearn.metrics.precision_recall_curve`` returns them.
    """
    scores = np.asarray(scores, dtype=np.float64).ravel()
    labels = np.asarray(labels).ravel().astype(bool)
    if scores.shape != labels.shape:
        raise ValueError(f"scores {scores.shape} and labels {labels.shape} differ in size")
    distinct, inverse = np.unique(-scores, return_inverse=True)  # increasing -score
    pos = np.bincount(inverse, weights=labels, minlength=len(distinct)).astype(np.int64)
    total = np.bincount(inverse, minlength=len(distinct)).astype(np.int64)
    return _curve_from_counts(pos, total - pos, -distinct)


def _trapezoid_area(precision: np.ndarray, recall: np.ndarray) -> float:
    if np.isnan(recall).any():
        return math.nan
    # recall decreases along the curve; sklearn's auc() flips the sign of the trapezoid.
    return float(-np.trapezoid(precision, recall))


def _step_area(precision: np.ndarray, recall: np.ndarray) -> float:
    if np.isnan(recall).any():
        return math.nan
    return float(max(0.0, -np.sum(np.diff(recall) * precision[:-1])))


def auprc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Trapezoidal area under the precision-recall curve (the original's auPRC); NaN without
    positives. ``scores`` and ``labels`` are arrays of the same shape."""
    precision, recall, _ = pr_curve(scores, labels)
    return _trapezoid_area(precision, recall)


def average_precision(scores: np.ndarray, labels: np.ndarray) -> float:
    """Average precision (step-wise area, scikit-learn's definition); NaN without positives."""
    precision, recall, _ = pr_curve(scores, labels)
    return _step_area(precision, recall)


class PRAccumulator:
    """Exact streaming precision-recall statistics of float16 scores.

    Keeps, per float16 bit pattern, the number of positive and negative items seen; memory is
    fixed (1 MiB) whatever the number of items. See the module docstring for why this is exact.
    """

    def __init__(self) -> None:
        self.positives = np.zeros(_N_CODES, dtype=np.int64)
        self.negatives = np.zeros(_N_CODES, dtype=np.int64)

    def add(self, scores: np.ndarray, labels: np.ndarray) -> None:
        """Count a block: ``scores`` float16 (any shape), ``labels`` 0/1 of the same shape."""
        scores = np.asarray(scores)
        if scores.dtype != np.float16:
            raise TypeError(f"PRAccumulator takes float16 scores, got {scores.dtype}")
        labels = np.asarray(labels)
        if scores.shape != labels.shape:
            raise ValueError(f"scores {scores.shape} and labels {labels.shape} differ in shape")
        codes = np.ascontiguousarray(scores).view(np.uint16).ravel()
        if np.isnan(scores).any():
            raise ValueError("scores contain NaN")
        positive = labels.ravel().astype(bool)
        self.positives += np.bincount(codes[positive], minlength=_N_CODES)
        self.negatives += np.bincount(codes[~positive], minlength=_N_CODES)

    @property
    def n_positive(self) -> int:
        return int(self.positives.sum())

    @property
    def n_negative(self) -> int:
        return int(self.negatives.sum())

    def curve(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Precision, recall and thresholds as ``sklearn.metrics.precision_recall_curve``."""
        used = (self.positives + self.negatives) > 0
        values = _CODE_VALUES[used]
        # +0 and -0 are two codes but one score: group codes by value.
        distinct, inverse = np.unique(-values, return_inverse=True)
        pos = np.bincount(inverse, weights=self.positives[used], minlength=len(distinct))
        neg = np.bincount(inverse, weights=self.negatives[used], minlength=len(distinct))
        # Counts stay below 2**53 and so are exact in the float64 weights of bincount.
        return _curve_from_counts(pos.astype(np.int64), neg.astype(np.int64), -distinct)

    def auprc(self) -> float:
        """Trapezoidal auPRC of everything added; NaN without positives."""
        precision, recall, _ = self.curve()
        return _trapezoid_area(precision, recall)

    def average_precision(self) -> float:
        """Average precision of everything added; NaN without positives."""
        precision, recall, _ = self.curve()
        return _step_area(precision, recall)

class GroupedPRAccumulator:
    """Streaming auPRC per group in bounded memory: one exact float16 histogram per group.

    Scores are rounded to float16 (the precision predictions are stored in), so the area equals
    sklearn's ``auc(recall, precision)`` of ``precision_recall_curve`` on the rounded scores
    (see :class:`PRAccumulator`).
    """

    def __init__(self, n_groups: int):
        self.groups = [PRAccumulator() for _ in range(n_groups)]
        self.has_nan = np.zeros(n_groups, bool)

    def update(self, group: np.ndarray, scores: np.ndarray, labels: np.ndarray) -> None:
        """``group`` int (m,), ``scores`` float (m, L) in [0, 1], ``labels`` {0,1} (m, L)."""
        scores = np.asarray(scores, np.float16)
        labels = np.asarray(labels)
        for g in np.unique(group):
            rows = group == g
            if np.isnan(scores[rows]).any():
                self.has_nan[g] = True  # a diverged model scores NaN, never an improvement
            else:
                self.groups[g].add(scores[rows], labels[rows])

    def auprc(self) -> np.ndarray:
        """float64 (n_groups,) areas; NaN for a group without positives or with NaN scores."""
        return np.array([math.nan if nan else acc.auprc()
                         for acc, nan in zip(self.groups, self.has_nan, strict=True)])


# ---- resolution ------------------------------------------------------------------------------

def _bin_starts(length: int, width: int) -> np.ndarray:
    if width < 1:
        raise ValueError(f"bin width must be a positive integer, got {width}")
    return np.arange(0, length, width)


def bin_scores(scores: np.ndarray, width: int) -> np.ndarray:
    """Max score over bins of ``width`` bases.

    Parameters
    ----------
    scores : float (m, L)
    width : int

    Returns
    -------
    same dtype (m, ceil(L / width))
        The last bin is partial when ``width`` does not divide ``L``.
    """
    scores = np.asarray(scores)
    if width == 1:
        return scores
    return np.maximum.reduceat(scores, _bin_starts(scores.shape[1], width), axis=1)


def centre_scores(scores: np.ndarray, labels: np.ndarray, width: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """One score and label per example from its centre ``width`` bases.

    Parameters
    ----------
    scores : float (m, L)
    labels : 0/1 (m, L)
    width : int
        At most L; the centre is ``[(L - width) // 2, (L - width) // 2 + width)``.

    Returns
    -------
    scores : same dtype (m,)
        The maximum score over the centre.
    labels : uint8 (m,)
        1 when any base of the centre is bound.
    """
    scores, labels = np.asarray(scores), np.asarray(labels)
    length = scores.shape[1]
    if not 1 <= width <= length:
        raise ValueError(f"centre width {width} is not within 1..{length} (the example length)")
    start = (length - width) // 2
    return (scores[:, start:start + width].max(axis=1),
            labels[:, start:start + width].max(axis=1).astype(np.uint8))


def bin_labels(labels: np.ndarray, width: int) -> np.ndarray:
    """1 for a bin of ``width`` bases holding any bound base; uint8 (m, ceil(L / width)) from
    0/1 labels (m, L)."""
    labels = np.asarray(labels).astype(np.uint8, copy=False)
    if width == 1:
        return labels
    return np.maximum.reduceat(labels, _bin_starts(labels.shape[1], width), axis=1)


# ---- binary calls ----------------------------------------------------------------------------

def iou_counts(calls: np.ndarray, labels: np.ndarray) -> tuple[int, int]:
    """Intersection and union sizes of two 0/1 arrays of the same shape."""
    calls = np.asarray(calls).astype(bool, copy=False)
    labels = np.asarray(labels).astype(bool, copy=False)
    if calls.shape != labels.shape:
        raise ValueError(f"calls {calls.shape} and labels {labels.shape} differ in shape")
    return int(np.count_nonzero(calls & labels)), int(np.count_nonzero(calls | labels))


def iou_from_counts(intersection: int, union: int) -> float:
    """IOU from counts; 1.0 when the union is empty (both sets empty agree perfectly)."""
    return 1.0 if union == 0 else intersection / union


def iou(calls: np.ndarray, labels: np.ndarray) -> float:
    """Intersection over union of binary calls and targets (any shape, 0/1): 1.0 when both are
    empty, 0.0 when exactly one is."""
    return iou_from_counts(*iou_counts(calls, labels))


def transition_percentage(labels: np.ndarray) -> np.ndarray:
    """Percentage of label changes between adjacent bases, per sequence.

    Parameters
    ----------
    labels : 0/1 (m, L), L >= 2

    Returns
    -------
    float64 (m,)
        ``100 * #{t : y[t] != y[t-1]} / (L - 1)``.
    """
    labels = np.asarray(labels)
    if labels.ndim != 2 or labels.shape[1] < 2:
        raise ValueError(f"labels must be (m, L) with L >= 2, got {labels.shape}")
    changes = np.count_nonzero(labels[:, 1:] != labels[:, :-1], axis=1)
    return 100.0 * changes / (labels.shape[1] - 1)


# ---- statistics across conditions ------------------------------------------------------------







def resolutions(bin_widths: Sequence[int]) -> list[int]:
    """1 bp followed by the configured bin widths, without duplicates, in order."""
    out = [1]
    for width in bin_widths:
        if int(width) not in out:
            out.append(int(width))
    return out
