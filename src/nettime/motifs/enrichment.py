"""Enrichment tests of motif discovery, vectorised: one-sided Fisher's exact and binomial tests
on counts of sequences with a hit, and the score threshold that best separates primary from
control sequences.

Every p-value is returned as its natural logarithm (float64), so that the very small p-values of
strongly enriched words stay ordered instead of underflowing to 0. The tails are summed exactly
from the point probability at the observed count (log-gamma), term by term with the ratio of
consecutive terms, until the remaining terms no longer change the sum; scipy's per-element
hypergeometric tail is ~1000 times slower, too slow for tens of thousands of words.
"""

from __future__ import annotations

import numpy as np

#: Relative size of a tail term below which the summation stops.
_TOLERANCE = 1e-15


def _log_choose(n: np.ndarray, k: np.ndarray) -> np.ndarray:
    # Imported here: scipy.special takes a good part of a second to import, and this module is
    # reached from the figure registry that every Snakemake start reads.
    from scipy.special import gammaln

    return gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)


def _sum_terms(start: np.ndarray, step, args: tuple[np.ndarray, ...]) -> np.ndarray:
    """Sum of relative terms 1 + r(k) + r(k) r(k+d) + ... from ``start``; ``step(k, *args)``
    returns (next k, ratio of the next term to the current one). float64 (n,) >= 1."""
    total = np.ones(len(start))
    term = np.ones(len(start))
    k = start.astype(np.float64)
    active = np.arange(len(start))
    args = tuple(np.asarray(a, dtype=np.float64) for a in args)
    while len(active):
        k_next, ratio = step(k, *args)
        term = term * ratio
        total[active] += term
        keep = term > _TOLERANCE * total[active]
        active, k, term = active[keep], k_next[keep], term[keep]
        args = tuple(a[keep] for a in args)
    return total


def _hyper_up(k, big_k, n_draw, population):
    num = (big_k - k) * (n_draw - k)
    den = (k + 1) * (population - big_k - n_draw + k + 1)
    return k + 1, np.where(num > 0, num / np.maximum(den, 1), 0.0)


def _hyper_down(k, big_k, n_draw, population):
    num = k * (population - big_k - n_draw + k)
    den = (big_k - k + 1) * (n_draw - k + 1)
    return k - 1, np.where(num > 0, num / np.maximum(den, 1), 0.0)


def log_fisher_greater(pos_hits: np.ndarray, pos_total: np.ndarray | int,
                       neg_hits: np.ndarray, neg_total: np.ndarray | int) -> np.ndarray:
    """One-sided Fisher's exact test that hits are enriched in the primary sequences.

    The p-value is P(X >= pos_hits) for X hypergeometric: ``pos_total`` sequences drawn from
    ``pos_total + neg_total``, of which ``pos_hits + neg_hits`` have a hit.

    Parameters
    ----------
    pos_hits, neg_hits
        int (n,): primary and control sequences with a hit.
    pos_total, neg_total
        int or int (n,): primary and control sequences.

    Returns
    -------
    numpy.ndarray
        float64 (n,): natural log of the p-value (<= 0).
    """
    a = np.asarray(pos_hits, dtype=np.float64)
    b = np.asarray(neg_hits, dtype=np.float64)
    n_draw = np.broadcast_to(np.asarray(pos_total, dtype=np.float64), a.shape)
    population = n_draw + np.broadcast_to(np.asarray(neg_total, dtype=np.float64), a.shape)
    big_k = a + b
    a, b, n_draw, population, big_k = np.broadcast_arrays(a, b, n_draw, population, big_k)
    out = np.zeros(a.shape)
    if a.size == 0:
        return out
    log_total = _log_choose(population, n_draw)

    def log_pmf(k):
        return _log_choose(big_k, k) + _log_choose(population - big_k, n_draw - k) - log_total

    mode = np.floor((n_draw + 1) * (big_k + 1) / (population + 2))
    upper = (a >= mode) & (a > 0)
    idx = np.flatnonzero(upper)
    if len(idx):
        sums = _sum_terms(a[idx], _hyper_up, (big_k[idx], n_draw[idx], population[idx]))
        out[idx] = log_pmf(a)[idx] + np.log(sums)
    idx = np.flatnonzero(~upper & (a > 0))
    if len(idx):
        # P(X >= a) = 1 - P(X <= a - 1), the lower tail summed downwards from a - 1 < mode.
        k0 = a[idx] - 1
        sums = _sum_terms(k0, _hyper_down, (big_k[idx], n_draw[idx], population[idx]))
        lower = np.exp(log_pmf(a - 1)[idx] + np.log(sums))
        out[idx] = np.log1p(-np.minimum(lower, 1.0 - 1e-300))
    return np.minimum(out, 0.0)


def _binom_up(k, n, odds):
    return k + 1, np.where(n - k > 0, (n - k) / (k + 1) * odds, 0.0)


def _binom_down(k, n, odds):
    return k - 1, np.where(k > 0, k / (n - k + 1) / odds, 0.0)


def log_binomial_greater(pos_hits: np.ndarray, neg_hits: np.ndarray,
                         pos_fraction: float) -> np.ndarray:
    """One-sided binomial test that hits are enriched in the primary sequences.

    The p-value is P(X >= pos_hits) for X ~ Binomial(pos_hits + neg_hits, ``pos_fraction``),
    where ``pos_fraction`` is the primary share of the total sequence length.

    Returns
    -------
    numpy.ndarray
        float64 (n,): natural log of the p-value (<= 0).
    """
    a = np.asarray(pos_hits, dtype=np.float64)
    n = a + np.asarray(neg_hits, dtype=np.float64)
    out = np.zeros(a.shape)
    if a.size == 0:
        return out
    rho = float(pos_fraction)
    odds = np.full(a.shape, rho / (1 - rho))

    def log_pmf(k):
        return _log_choose(n, k) + k * np.log(rho) + (n - k) * np.log1p(-rho)

    mode = np.floor((n + 1) * rho)
    upper = (a >= mode) & (a > 0)
    idx = np.flatnonzero(upper)
    if len(idx):
        out[idx] = log_pmf(a)[idx] + np.log(_sum_terms(a[idx], _binom_up, (n[idx], odds[idx])))
    idx = np.flatnonzero(~upper & (a > 0))
    if len(idx):
        sums = _sum_terms(a[idx] - 1, _binom_down, (n[idx], odds[idx]))
        lower = np.exp(log_pmf(a - 1)[idx] + np.log(sums))
        out[idx] = np.log1p(-np.minimum(lower, 1.0 - 1e-300))
    return np.minimum(out, 0.0)


class EnrichmentTest:
    """The test STREME's differential-enrichment objective uses for one pair of sequence sets:
    Fisher's exact test when the primary and control sequences have the same average length
    (within 0.01%), the binomial test otherwise.

    Parameters
    ----------
    pos_lengths, neg_lengths
        int (n_pos,), int (n_neg,): lengths of the primary and control sequences.
    """

    def __init__(self, pos_lengths: np.ndarray, neg_lengths: np.ndarray):
        self.pos_total = len(pos_lengths)
        self.neg_total = len(neg_lengths)
        pos_len = float(np.sum(pos_lengths))
        neg_len = float(np.sum(neg_lengths))
        mean_pos = pos_len / max(self.pos_total, 1)
        mean_neg = neg_len / max(self.neg_total, 1)
        self.fisher = abs(mean_pos - mean_neg) <= 1e-4 * max(mean_pos, mean_neg, 1.0)
        self.pos_fraction = pos_len / max(pos_len + neg_len, 1.0)
        self.name = "Fisher's exact test" if self.fisher else "binomial test"

    def log_p(self, pos_hits: np.ndarray, neg_hits: np.ndarray) -> np.ndarray:
        """float64 (n,): natural log of the one-sided p-value of each pair of hit counts."""
        if self.pos_total == 0 or self.neg_total == 0:
            return np.zeros(np.shape(pos_hits))
        if self.fisher:
            return log_fisher_greater(pos_hits, self.pos_total, neg_hits, self.neg_total)
        return log_binomial_greater(pos_hits, neg_hits, self.pos_fraction)

    def enriched(self, pos_hits: np.ndarray, neg_hits: np.ndarray) -> np.ndarray:
        """bool (n,): whether the primary hit rate exceeds the control hit rate."""
        pos_hits = np.asarray(pos_hits, dtype=np.float64)
        neg_hits = np.asarray(neg_hits, dtype=np.float64)
        return pos_hits * max(self.neg_total, 1) > neg_hits * max(self.pos_total, 1)


def _bounds(test: EnrichmentTest, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cheap bounds of the natural-log p-values: the first tail term from below, and the first
    term over (1 - ratio of the next term) from above (the ratios only fall further out)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if test.fisher:
        n_draw = float(test.pos_total)
        population = n_draw + test.neg_total
        big_k = a + b
        lower = (_log_choose(big_k, a) + _log_choose(population - big_k, n_draw - a)
                 - _log_choose(population, n_draw))
        ratio = _hyper_up(a, big_k, n_draw, population)[1]
    else:
        rho = test.pos_fraction
        n = a + b
        lower = _log_choose(n, a) + a * np.log(rho) + (n - a) * np.log1p(-rho)
        ratio = _binom_up(a, n, np.full(a.shape, rho / (1 - rho)))[1]
    upper = np.where(ratio < 1, lower - np.log1p(-np.minimum(ratio, 1 - 1e-12)), 0.0)
    return np.minimum(lower, 0.0), np.minimum(upper, 0.0)


def smallest_log_p(test: EnrichmentTest, pos_hits: np.ndarray, neg_hits: np.ndarray,
                   k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` smallest p-values of many pairs of hit counts, computed exactly only where
    the bounds of :func:`_bounds` leave a pair in contention.

    Returns
    -------
    tuple of numpy.ndarray
        int64 (<= k,) indices into the inputs, smallest p-value first (ties: lower index),
        and float64 (<= k,) their natural-log p-values.
    """
    pos_hits = np.asarray(pos_hits)
    neg_hits = np.asarray(neg_hits)
    if len(pos_hits) == 0 or k <= 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    lower, upper = _bounds(test, pos_hits, neg_hits)
    cutoff = np.partition(upper, min(k, len(upper)) - 1)[min(k, len(upper)) - 1]
    contention = np.flatnonzero(lower <= cutoff)
    log_p = test.log_p(pos_hits[contention], neg_hits[contention])
    order = np.lexsort((contention, log_p))[:k]
    return contention[order], log_p[order]


def best_threshold(pos_scores: np.ndarray, neg_scores: np.ndarray,
                   test: EnrichmentTest) -> tuple[float, float, int, int]:
    """The score threshold that minimises the enrichment p-value of sequences scoring at or
    above it.

    Parameters
    ----------
    pos_scores, neg_scores
        float (n_pos,), float (n_neg,): best site score of each primary and control sequence
        (-inf for a sequence without any site).

    Returns
    -------
    tuple
        (threshold, natural-log p-value, primary hits, control hits); threshold ``inf`` and
        log p 0 when no threshold enriches the primary sequences.
    """
    scores = np.concatenate([pos_scores, neg_scores]).astype(np.float64)
    is_pos = np.concatenate([np.ones(len(pos_scores), bool), np.zeros(len(neg_scores), bool)])
    finite = np.isfinite(scores)
    scores, is_pos = scores[finite], is_pos[finite]
    if len(scores) == 0:
        return float("inf"), 0.0, 0, 0
    order = np.argsort(-scores, kind="stable")
    scores, is_pos = scores[order], is_pos[order]
    a = np.cumsum(is_pos)
    b = np.arange(1, len(scores) + 1) - a
    # A threshold takes a whole group of tied scores; adding primaries before the next control
    # only lowers the p-value, so the candidates are the ends of groups followed by a control.
    starts = np.flatnonzero(np.r_[True, scores[1:] != scores[:-1]])
    ends = np.r_[starts[1:], len(scores)] - 1
    group_has_neg = np.maximum.reduceat(~is_pos, starts)
    followed_by_neg = np.r_[group_has_neg[1:], True]
    candidates = ends[followed_by_neg]
    candidates = candidates[test.enriched(a[candidates], b[candidates])]
    if len(candidates) == 0:
        return float("inf"), 0.0, 0, 0
    pick, log_p = smallest_log_p(test, a[candidates], b[candidates], 1)
    best = candidates[pick[0]]
    return float(scores[best]), float(log_p[0]), int(a[best]), int(b[best])
