"""De novo motif discovery: a STREME-like engine, reimplemented in nettime.

This is not the MEME Suite's ``streme`` (see :mod:`nettime.motifs.streme`, which runs it when it
is installed); it follows STREME's published algorithm (Bailey, Bioinformatics 2021, and the
``streme`` manual) with numpy, and says so in every motif it reports (``engine``).

One search, with ``order`` m (default 2):

1. **Sets.** Without control sequences, each primary sequence is shuffled keeping its words of
   length m + 1 (:func:`nettime.motifs.shuffle.shuffle_codes`). A seeded 10% of the primary and
   of the control sequences is held out (a shuffled control follows its primary sequence, so
   the training set never sees the hold-out letters). With fewer than 5 sequences in either
   hold-out set there is no hold-out set, as in STREME, and motifs get a score but no p-value.
   The background is an order-m Markov model of the control sequences (both strands, total
   pseudocount 1); site scores are log2 likelihood ratios against it
   (:mod:`nettime.motifs.scoring`).
2. **Seeds.** For every width ``minw``..``maxw``, every word of the training sequences (a word
   and its reverse complement are one word) is counted once per sequence holding it, in the
   primary and in the control sequences; its enrichment is Fisher's exact test (binomial test
   when the average lengths differ, :class:`nettime.motifs.enrichment.EnrichmentTest`). The
   ``nref`` most enriched words of each width are the seeds. (STREME also re-scores seeds by
   their approximate matches; this engine ranks exact matches only.)
3. **Refinement.** Each seed becomes a matrix; up to ``niter`` times: the best site of every
   training sequence (either strand), the score threshold that best separates primary from
   control sequences (:func:`nettime.motifs.enrichment.best_threshold`), and a new matrix from
   the best sites of the primary sequences at or above it (pseudocount ``pseudocount``, spread
   by the background letter frequencies); refinement stops when the p-value stops improving.
   The seed whose refined motif has the smallest training p-value (STREME's "score") wins.
4. **Significance.** The hold-out primary and control sequences whose best site reaches the
   threshold give the motif's p-value (same test); its E-value is the p-value times the number
   of motifs reported. The reported matrix is re-estimated from the best sites of all primary
   sequences (training and hold-out) at or above the threshold; their number is ``nsites``.
5. **Erasing.** Every site at or above the threshold, on either strand, is erased from all four
   sets (its positions with a positive log-likelihood ratio become 4), and the search repeats
   until ``patience`` consecutive motifs miss the p-value threshold ``thresh`` or ``nmotifs``
   motifs are found.

Reported motifs are ranked by p-value (score without a hold-out set) and named as STREME names
them: ``<rank>-<consensus>`` with alternative name ``STREME-<rank>``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np
from tqdm import tqdm

from nettime.motifs.enrichment import EnrichmentTest, best_threshold, smallest_log_p
from nettime.motifs.matrices import Motif
from nettime.motifs.scoring import (
    SequenceSet,
    best_sites,
    erase_sites,
    estimate_matrix,
    markov_background,
)
from nettime.motifs.shuffle import N_CODE, encode_all, shuffle_sequences

log = logging.getLogger(__name__)

ENGINE = "STREME-like, reimplemented (nettime)"
IUPAC_PAIRS = {(0, 1): "M", (0, 2): "R", (0, 3): "W", (1, 2): "S", (1, 3): "Y", (2, 3): "K"}


@dataclass(frozen=True, eq=False)
class DiscoveredMotif(Motif):
    """A motif found by de novo discovery: the matrix and what the search reported about it.

    ``matrix_id`` is STREME's motif name ``<rank>-<consensus>``, ``name`` its alternative name
    ``STREME-<rank>``. Values the source did not report are None (a parsed ``streme.txt``
    holds no site counts).

    Attributes
    ----------
    consensus
        IUPAC consensus of the matrix.
    nsites
        Primary sequences (training and hold-out) whose best site reaches the threshold.
    p_value, log10_p_value
        Hold-out p-value (None without a hold-out set). ``p_value`` underflows to 0 below
        1e-308; the log10 stays exact.
    e_value, log10_e_value
        p-value times the number of motifs reported.
    score, log10_score
        Training-set p-value of the refined motif (STREME's "Score"; not a significance).
    score_threshold
        Site threshold, log2 likelihood ratio against the background, of the refined motif
        (the reported matrix is re-estimated from the sites it picks in all primary
        sequences); None when not reported.
    engine
        What made the motif: the reimplemented engine or the ``streme`` binary and its version.
    n_train_primary, n_train_control, n_holdout_primary, n_holdout_control
        Sequences in each set.
    train_primary_hits, train_control_hits, holdout_primary_hits, holdout_control_hits
        Sequences of each set whose best site reaches the threshold.
    """

    consensus: str = ""
    nsites: int | None = None
    p_value: float | None = None
    log10_p_value: float | None = None
    e_value: float | None = None
    log10_e_value: float | None = None
    score: float | None = None
    log10_score: float | None = None
    score_threshold: float | None = None
    engine: str = ENGINE
    n_train_primary: int | None = None
    n_train_control: int | None = None
    n_holdout_primary: int | None = None
    n_holdout_control: int | None = None
    train_primary_hits: int | None = None
    train_control_hits: int | None = None
    holdout_primary_hits: int | None = None
    holdout_control_hits: int | None = None

    def significant(self, threshold: float = 0.05) -> bool:
        """Whether the E-value (else the p-value) is at most ``threshold``; False when the
        source reported neither (a score is no significance)."""
        value = self.e_value if self.e_value is not None else self.p_value
        return value is not None and value <= threshold


def consensus(ppm: np.ndarray) -> str:
    """IUPAC consensus of a float (w, 4) matrix: a letter whose probability is above 0.5 and
    twice the next; else the two-letter code of two letters summing above 0.75; else N."""
    out = []
    for row in np.asarray(ppm, dtype=np.float64):
        order = np.argsort(-row, kind="stable")
        first, second = row[order[0]], row[order[1]]
        if first > 0.5 and first >= 2 * second:
            out.append("ACGT"[order[0]])
        elif first + second > 0.75:
            out.append(IUPAC_PAIRS[tuple(sorted((int(order[0]), int(order[1]))))])
        else:
            out.append("N")
    return "".join(out)


def background_frequencies(sequences: Iterable[str | np.ndarray] | np.ndarray) -> np.ndarray:
    """float64 (4,) A, C, G, T frequencies of the sequences counted on both strands."""
    counts = np.zeros(4)
    for codes in encode_all(sequences):
        counts += np.bincount(codes[codes < N_CODE], minlength=4)[:4]
    counts = counts + counts[::-1]
    return counts / counts.sum() if counts.sum() else np.full(4, 0.25)


def _sequences_per_word(words: np.ndarray, sequence: np.ndarray,
                        n: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct words (int64, sorted) and the number of sequences holding each (int64), from
    the word and sequence of every window."""
    if len(words) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    # Each (word, sequence) pair once: sort word * n + sequence, drop repeats, count runs.
    # (np.sort and a diff: numpy's hash-based np.unique is ~40 times slower here.)
    keys = np.sort(words * max(n, 1) + sequence)
    keys = keys[np.r_[True, keys[1:] != keys[:-1]]]
    words = keys // max(n, 1)
    first = np.flatnonzero(np.r_[True, words[1:] != words[:-1]])
    return words[first], np.diff(np.r_[first, len(words)])


def _seeds(pos: SequenceSet, neg: SequenceSet, widths: range, nref: int,
           test: EnrichmentTest) -> list[tuple[float, np.ndarray]]:
    """The ``nref`` most enriched words of each width held by at least 2 primary sequences:
    (natural-log p-value, uint8 (w,) codes), widths in order, best first within a width."""
    # Word codes grow one letter per width: code = 4 * code + letter, the reverse complement
    # gains the complement as its most significant letter; a word is min(code, reverse).
    per_set = [(np.minimum(d.flat, 3).astype(np.int64), d.flat < N_CODE, d) for d in (pos, neg)]
    code = [np.zeros(d.size, dtype=np.int64) for d in (pos, neg)]
    rc = [np.zeros(d.size, dtype=np.int64) for d in (pos, neg)]
    valid = [np.ones(d.size, dtype=bool) for d in (pos, neg)]
    seeds: list[tuple[float, np.ndarray]] = []
    for j in range(widths.stop - 1):
        counted = []
        for s, (x, known, data) in enumerate(per_set):
            letter = x[j:j + data.size]
            valid[s] &= known[j:j + data.size]
            code[s] = code[s] * 4 + letter
            rc[s] = rc[s] + ((3 - letter) << (2 * j))
            if j + 1 < widths.start:
                continue
            counted.append(_sequences_per_word(np.minimum(code[s], rc[s])[valid[s]],
                                               data.seq_of[valid[s]], data.n))
        if j + 1 < widths.start:
            continue
        (words, a), (neg_words, neg_counts) = counted
        keep = a >= 2
        words, a = words[keep], a[keep]
        b = _lookup(neg_words, neg_counts, words)
        enriched = test.enriched(a, b)
        words, a, b = words[enriched], a[enriched], b[enriched]
        width = j + 1
        for i, log_p in zip(*smallest_log_p(test, a, b, nref), strict=True):
            letters = (int(words[i]) >> (2 * np.arange(width - 1, -1, -1))) & 3
            seeds.append((float(log_p), letters.astype(np.uint8)))
    return seeds


def _lookup(keys: np.ndarray, values: np.ndarray, query: np.ndarray) -> np.ndarray:
    """int64 (len(query),): the value of each query in sorted ``keys``, 0 where absent."""
    if len(keys) == 0:
        return np.zeros(len(query), dtype=np.int64)
    at = np.minimum(np.searchsorted(keys, query), len(keys) - 1)
    return np.where(keys[at] == query, values[at], 0)


def _refine(seed: np.ndarray, pos: SequenceSet, neg: SequenceSet, test: EnrichmentTest,
            bg0: np.ndarray, niter: int, pseudocount: float
            ) -> tuple[np.ndarray, float, float, int, int] | None:
    """Iterative refinement of one seed word, uint8 (w,) codes: (ppm float64 (w, 4),
    threshold, natural-log p-value, primary hits, control hits) of its best iteration, or None
    when no threshold enriches the primary sequences."""
    # The seed's letters get 0.7 + 0.3 x background: exact matches score highest, one
    # mismatch still scores well above random windows.
    ppm = 0.7 * np.eye(4)[seed] + 0.3 * bg0
    best = None
    for _ in range(niter):
        pos_sites = best_sites(pos, ppm, where=True)
        threshold, log_p, a, b = best_threshold(pos_sites[0], best_sites(neg, ppm), test)
        if not math.isfinite(threshold) or (best is not None and log_p >= best[2]):
            break
        best = (ppm, threshold, log_p, a, b)
        ppm, _ = estimate_matrix([pos], ppm, threshold, bg0, pseudocount, [pos_sites])
    return best


def _split(n: int, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """bool (n,): a seeded random ``fraction`` of n items held out."""
    held = np.zeros(n, dtype=bool)
    held[rng.permutation(n)[:int(round(fraction * n))]] = True
    return held


def _log10(log_p: float) -> float:
    return log_p / math.log(10)


def streme_like(primary: Iterable[str | np.ndarray] | np.ndarray,
                control: Iterable[str | np.ndarray] | np.ndarray | None = None, *,
                minw: int = 8, maxw: int = 15, nmotifs: int | None = None,
                thresh: float = 0.05, patience: int = 3, hofract: float = 0.1,
                order: int = 2, nref: int = 4, niter: int = 20, pseudocount: float = 1.0,
                seed: int = 0, progress: bool = True) -> list[DiscoveredMotif]:
    """Discover motifs enriched in ``primary`` relative to ``control`` (STREME-like engine,
    reimplemented; the algorithm is in the module's docstring).

    Parameters
    ----------
    primary, control
        Sequences: strings, uint8 code arrays (A=0, C=1, G=2, T=3, 4 = N or masked) or a
        uint8 (n, L) code matrix. Without ``control``, order-``order`` shuffles of the primary
        sequences.
    minw, maxw
        Motif widths searched, 3 <= minw <= maxw <= 20.
    nmotifs
        Stop after this many motifs (default: only ``patience`` stops the search).
    thresh, patience
        Stop when ``patience`` consecutive motifs have a hold-out p-value (a score without a
        hold-out set) above ``thresh``.
    hofract
        Fraction of the primary and control sequences held out.
    order
        Order of the shuffle (keeps words of ``order + 1`` letters) and background model.
    nref, niter
        Seeds refined per width, and the most refinement iterations.
    pseudocount
        Total pseudocount of each matrix column, spread by the background letter frequencies.
    seed
        Seeds the hold-out split and the shuffle; the result is a function of the inputs and
        ``seed``.
    progress
        Show a progress bar (one step per motif) on stderr.

    Returns
    -------
    list of DiscoveredMotif
        Every motif found (the last ``patience`` ones are not significant when patience
        stopped the search), ranked by p-value.
    """
    if not 3 <= minw <= maxw <= 20:
        raise ValueError(f"motif widths need 3 <= minw <= maxw <= 20, got minw={minw}, "
                         f"maxw={maxw}")
    if not 0 <= hofract < 1:
        raise ValueError(f"hofract must be in [0, 1), got {hofract}")
    rng = np.random.default_rng(seed)
    pos_all = encode_all(primary, "primary")
    if len(pos_all) < 2:
        raise ValueError(f"motif discovery needs at least 2 primary sequences, got "
                         f"{len(pos_all)}")
    pos_held = _split(len(pos_all), hofract, rng)
    if control is None:
        neg_all = shuffle_sequences(pos_all, order=order, seed=seed)
        neg_held = pos_held.copy()
    else:
        neg_all = encode_all(control, "control")
        if not neg_all:
            raise ValueError("the control set is empty")
        neg_held = _split(len(neg_all), hofract, rng)
    if min(pos_held.sum(), neg_held.sum()) < 5:
        pos_held[:] = False
        neg_held[:] = False
    bg_log = markov_background(neg_all, order)
    bg0 = 2.0 ** bg_log[0]
    sets = [SequenceSet([s for s, h in zip(seqs, held, strict=True) if h == hold], maxw)
            for seqs, held, hold in ((pos_all, pos_held, False), (neg_all, neg_held, False),
                                     (pos_all, pos_held, True), (neg_all, neg_held, True))]
    train_pos, train_neg, hold_pos, hold_neg = sets
    train_test = EnrichmentTest(train_pos.lengths, train_neg.lengths)
    hold_test = EnrichmentTest(hold_pos.lengths, hold_neg.lengths) if hold_pos.n else None
    found: list[DiscoveredMotif] = []
    misses = 0
    reason = f"maximum number of motifs ({nmotifs}) reached"
    bar = tqdm(desc="STREME-like discovery", unit="motif", disable=not progress,
               total=nmotifs)
    while nmotifs is None or len(found) < nmotifs:
        for data in sets:
            data.refresh(bg_log)
        refined = [_refine(word, train_pos, train_neg, train_test, bg0, niter, pseudocount)
                   for _, word in _seeds(train_pos, train_neg, range(minw, maxw + 1), nref,
                                         train_test)]
        refined = [r for r in refined if r is not None]
        if not refined:
            reason = "no word is enriched in the primary sequences"
            break
        ppm, threshold, log_score, a, b = min(refined, key=lambda r: r[2])
        motif = {"score_threshold": threshold, "log10_score": _log10(log_score),
                 "score": math.exp(log_score), "n_train_primary": train_pos.n,
                 "n_train_control": train_neg.n, "n_holdout_primary": hold_pos.n,
                 "n_holdout_control": hold_neg.n, "train_primary_hits": a,
                 "train_control_hits": b}
        significance = log_score
        if hold_test is not None:
            c = int((best_sites(hold_pos, ppm) >= threshold).sum())
            d = int((best_sites(hold_neg, ppm) >= threshold).sum())
            log_p = float(hold_test.log_p(np.array([c]), np.array([d]))[0]) \
                if hold_test.enriched([c], [d])[0] else 0.0
            motif.update(holdout_primary_hits=c, holdout_control_hits=d,
                         p_value=math.exp(log_p), log10_p_value=_log10(log_p))
            significance = log_p
        final, nsites = estimate_matrix([train_pos, hold_pos], ppm, threshold, bg0, pseudocount)
        found.append(DiscoveredMotif("", "", final, consensus=consensus(final), nsites=nsites,
                                     **motif))
        for data in sets:
            erase_sites(data, ppm, threshold)
        bar.update(1)
        bar.set_postfix_str(f"{found[-1].consensus} log10 p {_log10(significance):.1f}")
        misses = misses + 1 if significance > math.log(thresh) else 0
        if misses >= patience:
            reason = (f"{patience} consecutive motifs exceeded the "
                      f"{'p-value' if hold_test else 'score'} threshold ({thresh})")
            break
    bar.close()
    log.info("STREME-like discovery stopped: %s; %d motifs", reason, len(found))
    return _ranked(found)


def _ranked(found: list[DiscoveredMotif]) -> list[DiscoveredMotif]:
    """Motifs ranked by p-value (score), named ``<rank>-<consensus>`` / ``STREME-<rank>``, with
    E-values from the number reported."""
    key = [(m.log10_p_value if m.log10_p_value is not None else 0.0, m.log10_score or 0.0)
           for m in found]
    order = sorted(range(len(found)), key=lambda i: key[i])
    out = []
    for rank, i in enumerate(order, start=1):
        motif = found[i]
        extra = {}
        if motif.log10_p_value is not None:
            log10_e = motif.log10_p_value + math.log10(len(found))
            extra = {"log10_e_value": log10_e, "e_value": 10.0 ** log10_e}
        out.append(replace(motif, matrix_id=f"{rank}-{motif.consensus}",
                           name=f"STREME-{rank}", **extra))
    return out
