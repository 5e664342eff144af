"""Site scores for motif discovery: sequences laid end to end, the Markov background, the
log-likelihood-ratio score of every window on both strands, the best site of each sequence, the
matrix of a set of sites, and erasing sites.

Scores are log2 likelihood ratios of a position probability matrix against an order-m Markov
background, the context of each base read along the + strand (for a strand-symmetric
background the - strand differs only at the run's first bases). Windows are scored five bases at
a time: each offset holds the base-5 code of its next five bases (N = 4), and a motif becomes
``ceil(w / 5)`` tables of 5**5 summed scores, so a window's score is a few table look-ups.
A base coded 4 scores a large penalty: no window holding one reaches a site threshold.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nettime.motifs.shuffle import N_CODE

_N_PENALTY = -1.0e4  # log2 score of a base coded 4: no window holding one can be a site
_CHUNK = 5           # windows are scored 5 bases at a time through tables of 5**5 entries
_DIGITS = (np.arange(5 ** _CHUNK)[:, None] // 5 ** np.arange(_CHUNK - 1, -1, -1)) % 5


class SequenceSet:
    """Sequences of one set laid end to end, each followed by a separator (code 4), so that no
    window crosses from one sequence into the next without holding a 4.

    Parameters
    ----------
    sequences
        uint8 (len_i,) codes of each sequence.
    max_width
        The widest motif to score (the array is padded past the last sequence for it).

    Attributes
    ----------
    n, size
        Number of sequences, and of offsets (sum of lengths + n).
    flat
        uint8 (size + pad,) the codes; :func:`erase_sites` writes 4 into it.
    lengths, starts
        int64 (n,) each sequence's length and offset in ``flat``.
    seq_of
        int64 (size,) the sequence of each offset.
    chunks
        int64 (size + pad - 4,) base-5 code of the five bases from each offset (after
        :meth:`refresh`).
    bg_cum
        float64 (size + pad + 1,) cumulative background log2 probabilities (after
        :meth:`refresh`).
    """

    def __init__(self, sequences: Sequence[np.ndarray], max_width: int):
        pad = max_width + 2 * _CHUNK
        self.n = len(sequences)
        self.lengths = np.array([len(s) for s in sequences], dtype=np.int64)
        ends = np.cumsum(self.lengths + 1)
        self.starts = ends - self.lengths - 1
        self.size = int(ends[-1]) if self.n else 0
        self.flat = np.full(self.size + pad, N_CODE, dtype=np.uint8)
        if self.n:
            self.flat[:self.size] = np.concatenate(
                [np.append(s, np.uint8(N_CODE)) for s in sequences])
        self.seq_of = np.repeat(np.arange(self.n), self.lengths + 1)

    def refresh(self, bg_log: list[np.ndarray]) -> None:
        """Recompute the chunk codes and the background after the letters changed."""
        x = self.flat.astype(np.int64)
        self.chunks = np.zeros(len(x) - _CHUNK + 1, dtype=np.int64)
        for t in range(_CHUNK):
            self.chunks = self.chunks * 5 + x[t:len(x) - _CHUNK + 1 + t]
        self.bg_cum = np.r_[0.0, np.cumsum(_background_log(x, bg_log))]
        self._background: dict[int, np.ndarray] = {}

    def background(self, width: int) -> np.ndarray:
        """float32 (size,) background log2 probability of the window of ``width`` at each
        offset (kept until the next :meth:`refresh`)."""
        if width not in self._background:
            self._background[width] = (self.bg_cum[width:width + self.size]
                                       - self.bg_cum[:self.size]).astype(np.float32)
        return self._background[width]


def _background_log(x: np.ndarray, bg_log: list[np.ndarray]) -> np.ndarray:
    """float64 (len,) log2 background probability of each base given the bases before it in its
    run of A, C, G, T (up to the model's order); 0 for bases coded 4."""
    order = len(bg_log) - 1
    known = x < N_CODE
    index = np.arange(len(x))
    last_unknown = np.maximum.accumulate(np.where(known, -1, index))
    context = np.minimum(index - last_unknown - 1, order)
    out = np.zeros(len(x))
    code = np.zeros(len(x), dtype=np.int64)  # word of the last j + 1 bases ending here
    clipped = np.minimum(x, 3)
    for j in range(order + 1):
        if j:
            code[j:] = code[j - 1:-1] * 4 + clipped[j:]
            code[:j] = 0
        else:
            code = clipped.copy()
        pick = known & (context == j)
        out[pick] = bg_log[j][code[pick]]
    return out


def markov_background(sequences: Sequence[np.ndarray], order: int) -> list[np.ndarray]:
    """Background models of orders 0..``order`` from both strands: list of float64 (4**(j+1),)
    log2 P(base | j previous bases), indexed by the word of j + 1 bases."""
    flat = np.concatenate([np.append(s, np.uint8(N_CODE)) for s in sequences] or
                          [np.zeros(0, np.uint8)]).astype(np.int64)
    strands = [flat, np.where(flat < N_CODE, 3 - flat, N_CODE)[::-1]]
    models = []
    previous = np.full(4, 0.25)
    for j in range(order + 1):
        counts = np.zeros(4 ** (j + 1))
        for x in strands:
            if len(x) <= j:
                continue
            windows = np.lib.stride_tricks.sliding_window_view(x, j + 1)
            windows = windows[(windows < N_CODE).all(axis=1)]
            counts += np.bincount(windows @ (4 ** np.arange(j, -1, -1)), minlength=4 ** (j + 1))
        counts = counts.reshape(-1, 4)
        # The pseudocount is spread by the next lower order given the shorter context.
        prior = previous.reshape(-1, 4)[np.arange(len(counts)) % max(len(previous) // 4, 1)]
        probs = (counts + prior) / (counts.sum(axis=1, keepdims=True) + 1)
        models.append(np.log2(probs).ravel())
        previous = probs.ravel()
    return models


def log_table(ppm: np.ndarray) -> np.ndarray:
    """float64 (w, 5) log2 letter probabilities, the N column at the penalty."""
    return np.c_[np.log2(ppm), np.full(len(ppm), _N_PENALTY)]


def window_scores(data: SequenceSet, ppm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scores of the window of ``len(ppm)`` bases at each offset of a refreshed set.

    Parameters
    ----------
    ppm
        float (w, 4) letter probabilities, A, C, G, T.

    Returns
    -------
    tuple of numpy.ndarray
        float32 (size,) each: log2 likelihood ratio of the window on the + strand, and on the
        - strand (the reverse-complement matrix over the same bases).
    """
    width = len(ppm)
    n_chunks = -(-width // _CHUNK)
    background = data.background(width)
    out = []
    for matrix in (ppm, ppm[::-1, ::-1]):
        table = np.zeros((n_chunks * _CHUNK, 5))
        table[:width] = log_table(matrix)
        total = -background
        for k in range(n_chunks):
            rows = table[k * _CHUNK:(k + 1) * _CHUNK]
            chunk_table = rows[np.arange(_CHUNK), _DIGITS].sum(axis=1).astype(np.float32)
            total += chunk_table[data.chunks[k * _CHUNK:k * _CHUNK + data.size]]
        out.append(total)
    return out[0], out[1]


def best_sites(data: SequenceSet, ppm: np.ndarray, where: bool = False
               ) -> np.ndarray | tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The best site of each sequence (either strand; the first offset among ties).

    Returns
    -------
    numpy.ndarray or tuple
        float64 (n,) its score (-inf for a sequence without a window free of 4); with
        ``where`` also its offset in ``flat``, int64 (n,), and strand, bool (n,) (True: -).
    """
    if data.n == 0:
        empty = np.zeros(0)
        return (empty, empty.astype(np.int64), empty.astype(bool)) if where else empty
    fwd, rev = window_scores(data, ppm)
    both = np.maximum(fwd, rev)
    best = np.maximum.reduceat(both, data.starts).astype(np.float64)
    best[best < _N_PENALTY / 2] = -np.inf
    if not where:
        return best
    at_max = np.flatnonzero(both >= best[data.seq_of])
    first = at_max[np.r_[True, np.diff(data.seq_of[at_max]) != 0]]
    offsets = np.full(data.n, -1, dtype=np.int64)
    offsets[data.seq_of[first]] = first
    strands = np.zeros(data.n, dtype=bool)
    strands[data.seq_of[first]] = rev[first] > fwd[first]
    return best, offsets, strands


def estimate_matrix(sets: Sequence[SequenceSet], ppm: np.ndarray, threshold: float,
                    bg0: np.ndarray, pseudocount: float,
                    sites: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None
                    ) -> tuple[np.ndarray, int]:
    """A new matrix from the best site of each sequence of ``sets`` scoring at least
    ``threshold`` under ``ppm`` (sites on the - strand reverse-complemented).

    Parameters
    ----------
    ppm
        float (w, 4) the current matrix.
    bg0
        float (4,) background letter frequencies, which spread the ``pseudocount``.
    sites
        The sets' best sites (:func:`best_sites` with ``where``) when already found.

    Returns
    -------
    tuple
        float64 (w, 4) the matrix, and the number of sites.
    """
    width = len(ppm)
    counts = np.zeros((width, 4))
    n_sites = 0
    if sites is None:
        sites = [best_sites(data, ppm, where=True) for data in sets]
    for data, (best, offsets, strands) in zip(sets, sites, strict=True):
        take = best >= threshold
        if not take.any():
            continue
        letters = data.flat[offsets[take][:, None] + np.arange(width)].astype(np.int64)
        rc = strands[take]
        letters[rc] = 3 - letters[rc][:, ::-1]
        counts += np.bincount((np.arange(width) * 4 + letters).ravel(),
                              minlength=width * 4).reshape(width, 4)
        n_sites += int(take.sum())
    return (counts + pseudocount * bg0) / (n_sites + pseudocount), n_sites


def erase_sites(data: SequenceSet, ppm: np.ndarray, threshold: float) -> None:
    """Erase every site at or above ``threshold`` (either strand): the positions where the
    site's letter has a positive log-likelihood ratio become 4 (refresh the set before
    scoring it again)."""
    if data.n == 0:
        return
    width = len(ppm)
    fwd, rev = window_scores(data, ppm)
    background = np.diff(data.bg_cum)
    for scores, matrix in ((fwd, ppm), (rev, ppm[::-1, ::-1])):
        sites = np.flatnonzero(scores >= threshold)
        if len(sites) == 0:
            continue
        at = sites[:, None] + np.arange(width)
        letters = data.flat[at].astype(np.int64)
        ratio = log_table(matrix)[np.arange(width), letters] - background[at]
        data.flat[at[ratio > 0]] = N_CODE
