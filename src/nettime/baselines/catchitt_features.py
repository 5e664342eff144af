"""The Catchitt-style baseline's method on arrays, reimplemented: bin features, bin labels, the
classifier and the noisy-OR of bin scores (the method is described in
:mod:`nettime.baselines.catchitt`; training on the data sets: :mod:`.catchitt_training`).
Everything here is numpy on blocks of examples, checkable by hand on small arrays."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from nettime.metrics import bin_labels

#: Bases of DNase context before and after a bin (cut at the example's edges).
CONTEXT = 1000
#: Bins before and after a bin that its noisy-OR score combines (bins j-1 .. j+4).
NOISY_OR = (1, 4)
#: Features of one bin, in column order (:func:`bin_features`).
FEATURE_NAMES = ("dnase_min", "dnase_median", "dnase_before_min", "dnase_before_max",
                 "dnase_after_min", "dnase_after_max", "dnase_steps", "dnase_steps_up",
                 "dnase_steps_down", "motif_max", "motif_log_mean_exp")


# ---- features --------------------------------------------------------------------------------


def check_bin_width(length: int, width: int, where: str = "") -> int:
    """The number of bins of an example, ``length / width``; a ValueError (prefixed by
    ``where``, e.g. the data set's path) when ``width`` does not divide ``length``."""
    if width < 1 or length % width:
        raise ValueError(f"{where}bin width {width} does not divide the example length "
                         f"{length}; choose an options.bin that does")
    return length // width


def _context_extreme(per_bin: np.ndarray, span: int, reduce: Any, fill: float,
                     after: bool) -> np.ndarray:
    """Reduce ``per_bin`` (m, n) over the ``span`` bins before (or after) each bin; bins with no
    such bin get 0."""
    m, n = per_bin.shape
    pad = np.full((m, span), fill, dtype=per_bin.dtype)
    if after:
        padded = np.concatenate([per_bin[:, 1:], pad, pad[:, :1]], axis=1)
    else:
        padded = np.concatenate([pad, per_bin], axis=1)
    windows = np.lib.stride_tricks.sliding_window_view(padded, span, axis=1)[:, :n]
    out = reduce(windows, axis=-1)
    return np.where(np.isfinite(out), out, 0.0).astype(np.float32)


def bin_features(dnase: np.ndarray, motifs: np.ndarray, width: int,
                 context: int = CONTEXT) -> np.ndarray:
    """Catchitt's per-bin features of a block of examples (see the module docstring).

    Parameters
    ----------
    dnase
        float (m, L) DNase track of the examples.
    motifs
        float (m, L, 2) motif channels (forward, reverse strand; the larger one is the score
        of a base), or float (m, L) scores.
    width
        Bin width; must divide L.
    context
        Bases of context before and after a bin, counted in whole bins (``context // width``,
        at least one) and cut at the example's edges.

    Returns
    -------
    numpy.ndarray
        float32 (m, L / width, 11), columns :data:`FEATURE_NAMES`.
    """
    dnase = np.asarray(dnase, dtype=np.float32)
    motifs = np.asarray(motifs, dtype=np.float32)
    if motifs.ndim == 3:
        motifs = motifs.max(axis=-1)
    if dnase.ndim != 2 or motifs.shape != dnase.shape:
        raise ValueError(f"DNase {dnase.shape} and motif scores {motifs.shape} must both be "
                         "(m, L)")
    m, length = dnase.shape
    n = check_bin_width(length, width)
    bins = dnase.reshape(m, n, width)
    low, high = bins.min(axis=-1), bins.max(axis=-1)
    span = max(context // width, 1)
    steps = np.diff(bins, axis=-1)
    score = motifs.reshape(m, n, width)
    top = score.max(axis=-1)
    # log(mean(exp(s))) without overflow: shift by the bin's maximum.
    log_mean_exp = top + np.log(np.mean(np.exp(score - top[..., None]), axis=-1))
    columns = [low, np.median(bins, axis=-1),
               _context_extreme(low, span, np.min, np.inf, after=False),
               _context_extreme(high, span, np.max, -np.inf, after=False),
               _context_extreme(low, span, np.min, np.inf, after=True),
               _context_extreme(high, span, np.max, -np.inf, after=True),
               np.count_nonzero(steps, axis=-1), np.count_nonzero(steps > 0, axis=-1),
               np.count_nonzero(steps < 0, axis=-1), top, log_mean_exp]
    return np.stack(columns, axis=-1).astype(np.float32)


def stack_neighbours(features: np.ndarray, neighbours: int) -> np.ndarray:
    """Each bin's features followed by those of its neighbours: bins ``j-k .. j+k`` in order.

    Parameters
    ----------
    features
        float32 (m, n, F) per-bin features.
    neighbours
        ``k``, bins on each side; bins past the example's edges are zeros.

    Returns
    -------
    numpy.ndarray
        float32 (m, n, F * (2k + 1)).
    """
    m, n, f = features.shape
    if neighbours == 0:
        return features
    padded = np.zeros((m, n + 2 * neighbours, f), dtype=np.float32)
    padded[:, neighbours:neighbours + n] = features
    return np.concatenate([padded[:, o:o + n] for o in range(2 * neighbours + 1)], axis=-1)


def bin_targets(conserved: np.ndarray, relaxed: np.ndarray, width: int) -> np.ndarray:
    """Training labels of bins: 1 bound (a conserved base), -1 ambiguous (relaxed bases only),
    0 unbound.

    Parameters
    ----------
    conserved, relaxed
        0/1 (m, L) base labels of the two label sets.
    width
        Bin width; must divide L.

    Returns
    -------
    numpy.ndarray
        int8 (m, L / width).
    """
    check_bin_width(np.shape(conserved)[1], width)
    bound = bin_labels(conserved, width).astype(bool)
    touched = bin_labels(relaxed, width).astype(bool)
    return np.where(bound, 1, np.where(touched, -1, 0)).astype(np.int8)


def noisy_or(probabilities: np.ndarray, before: int = NOISY_OR[0],
             after: int = NOISY_OR[1]) -> np.ndarray:
    """Noisy-OR of each bin's probabilities over bins ``j-before .. j+after``.

    Parameters
    ----------
    probabilities
        float (m, n) per-bin probabilities of a classifier.
    before, after
        Bins on each side; bins past an example's edges contribute nothing.

    Returns
    -------
    numpy.ndarray
        float64 (m, n): ``1 - prod(1 - p)`` over each bin's window.
    """
    p = np.asarray(probabilities, dtype=np.float64)
    m, n = p.shape
    log_miss = np.zeros((m, n + before + after))
    with np.errstate(divide="ignore"):  # p = 1 gives log(0) = -inf, i.e. a certain hit
        log_miss[:, before:before + n] = np.log1p(-p)
    total = sum(log_miss[:, o:o + n] for o in range(before + after + 1))
    return 1.0 - np.exp(total)


def average_scores(probabilities: Sequence[Sequence[np.ndarray]]) -> np.ndarray:
    """Noisy-OR of each classifier's bin probabilities, averaged over all classifiers.

    Parameters
    ----------
    probabilities
        Per cell type, per round: float (m, n) bin probabilities; every cell type counts
        equally, every round within it too.

    Returns
    -------
    numpy.ndarray
        float64 (m, n) bin scores.
    """
    per_cell = [np.mean([noisy_or(p) for p in rounds], axis=0) for rounds in probabilities]
    return np.mean(per_cell, axis=0)


# ---- classifier ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Classifier:
    """A logistic regression on ``[z, z^2]``, ``z = (x - mean) / scale``.

    Attributes
    ----------
    mean, scale
        float64 (F,) standardisation of the features.
    coef
        float64 (2F,) weights of ``z`` then ``z^2``.
    intercept
        The bias.
    """

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    def logit(self, x: np.ndarray) -> np.ndarray:
        """float64 (..., ) log-odds of float (..., F) features."""
        z = (np.asarray(x, dtype=np.float64) - self.mean) / self.scale
        f = self.mean.shape[0]
        return z @ self.coef[:f] + (z * z) @ self.coef[f:] + self.intercept

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """float64 (...,) P(bound) of float (..., F) features."""
        from scipy.special import expit

        return expit(self.logit(x))


def _standardiser(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    return mean, np.where(scale > 1e-12, scale, 1.0)  # a constant column stays as it is


def fit_classifier(x: np.ndarray, y: np.ndarray) -> Classifier:
    """Fit the Gaussian-equivalent classifier on standardised features and their squares.

    The design ``[z, z^2]`` is standardised once more for the solver, and that scaling is
    folded back into the returned coefficients.

    Parameters
    ----------
    x
        float (N, F) features.
    y
        0/1 (N,) labels; both classes must occur.
    """
    from sklearn.linear_model import LogisticRegression

    x = np.asarray(x, dtype=np.float64)
    mean, scale = _standardiser(x)
    z = (x - mean) / scale
    design = np.concatenate([z, z * z], axis=1)
    mean2, scale2 = _standardiser(design)
    model = LogisticRegression(C=1.0, max_iter=2000)
    model.fit((design - mean2) / scale2, np.asarray(y, dtype=np.int64))
    weights = model.coef_[0] / scale2
    bias = float(model.intercept_[0] - np.dot(weights, mean2))
    return Classifier(mean, scale, weights, bias)


def classifier_arrays(classifiers: Sequence[Classifier]) -> dict[str, np.ndarray]:
    """The rounds' classifiers as arrays, as model.pt stores them: ``mean``, ``scale`` float64
    (R, F), ``coef`` float64 (R, 2F), ``intercept`` float64 (R,)."""
    return {"mean": np.stack([c.mean for c in classifiers]),
            "scale": np.stack([c.scale for c in classifiers]),
            "coef": np.stack([c.coef for c in classifiers]),
            "intercept": np.array([c.intercept for c in classifiers], dtype=np.float64)}


def classifiers_of(arrays: Mapping[str, np.ndarray]) -> list[Classifier]:
    """The rounds' classifiers of one condition of a saved model (``model["conditions"][c]``)."""
    return [Classifier(arrays["mean"][r], arrays["scale"][r], arrays["coef"][r],
                       float(arrays["intercept"][r])) for r in range(len(arrays["intercept"]))]
