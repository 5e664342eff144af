"""Sequences for motif discovery: letters to codes, and the k-let preserving shuffle that makes
control sequences.

Codes are uint8, A=0, C=1, G=2, T=3; every other letter (N, IUPAC codes, a masked base) is 4.

The shuffle of order ``m`` keeps the count of every word of length ``m + 1`` of a sequence (for
``m = 2``, the trinucleotide counts), its first ``m`` letters and its last ``m`` letters, and
draws uniformly among the sequences that do: it is the Euler-path shuffle of Altschul & Erickson
(1985) and Kandel et al. (1996), as in uShuffle and the MEME Suite's ``fasta-shuffle-letters``.
The words of length ``m`` are the vertices of a multigraph with one edge per word of length
``m + 1``; a random arborescence of "last exits" into the final vertex is drawn with Wilson's
algorithm, the other exits of each vertex are permuted, and the walk from the first vertex reads
out the shuffled sequence. Letters other than A, C, G, T stay where they are: each run of A, C,
G, T between them is shuffled on its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

ALPHABET = "ACGT"
N_CODE = 4

# Byte -> code table; lower case (soft-masked) bases count as the base.
_CODE_TABLE = np.full(256, N_CODE, dtype=np.uint8)
for _code, _letter in enumerate(ALPHABET):
    _CODE_TABLE[ord(_letter)] = _code
    _CODE_TABLE[ord(_letter.lower())] = _code
_LETTERS = np.frombuffer(b"ACGTN", dtype=np.uint8)


def encode(sequence: str | bytes | np.ndarray) -> np.ndarray:
    """Codes of one sequence given as letters or as codes.

    Returns
    -------
    numpy.ndarray
        uint8 (len,): A=0, C=1, G=2, T=3, anything else 4.

    Raises
    ------
    ValueError
        For a code array with values above 4 or with more than one dimension.
    """
    if isinstance(sequence, str):
        sequence = sequence.encode("ascii", errors="replace")
    if isinstance(sequence, bytes | bytearray):
        return _CODE_TABLE[np.frombuffer(sequence, dtype=np.uint8)]
    codes = np.asarray(sequence)
    if codes.ndim != 1:
        raise ValueError(f"a sequence of codes must be one-dimensional, got shape {codes.shape}")
    if codes.size and (codes.min() < 0 or codes.max() > N_CODE):
        raise ValueError("sequence codes must be 0..4 (A, C, G, T, N), got values "
                         f"{int(codes.min())}..{int(codes.max())}")
    return codes.astype(np.uint8, copy=False)


def encode_all(sequences: Iterable[str | bytes | np.ndarray] | np.ndarray,
               what: str = "sequences") -> list[np.ndarray]:
    """Codes of every sequence: a list of uint8 (len_i,) arrays.

    ``sequences`` is an iterable of strings or code arrays, or a uint8 (n, L) code matrix.
    ``what`` names the set in error messages.
    """
    if isinstance(sequences, np.ndarray) and sequences.ndim == 2:
        sequences = list(sequences)
    out = []
    for index, sequence in enumerate(sequences):
        try:
            out.append(encode(sequence))
        except ValueError as error:
            raise ValueError(f"{what}[{index}]: {error}") from None
    return out


def decode(codes: np.ndarray) -> str:
    """Letters of uint8 (len,) codes (4 becomes N)."""
    return _LETTERS[np.minimum(np.asarray(codes, dtype=np.uint8), N_CODE)].tobytes().decode()


def _shuffle_run(run: list[int], order: int, rng: np.random.Generator) -> list[int]:
    """One run of letters 0..3, shuffled keeping its words of length ``order + 1``."""
    length = len(run)
    if order == 0:
        return [run[i] for i in rng.permutation(length)]
    if length <= order + 1:
        return list(run)
    size = 4 ** order
    vertex = 0
    for letter in run[:order]:
        vertex = vertex * 4 + letter
    first = vertex
    exits: dict[int, list[int]] = {}
    for letter in run[order:]:
        exits.setdefault(vertex, []).append(letter)
        vertex = (vertex * 4 + letter) % size
    last = vertex
    # Wilson's algorithm: loop-erased random walks give a uniform random arborescence of last
    # exits (weighted by edge multiplicity) rooted at the final vertex.
    in_tree = {last}
    last_exit: dict[int, int] = {}
    for start in sorted(exits):
        node = start
        while node not in in_tree:
            choices = exits[node]
            pick = int(rng.integers(len(choices)))
            last_exit[node] = pick
            node = (node * 4 + choices[pick]) % size
        node = start
        while node not in in_tree:
            in_tree.add(node)
            node = (node * 4 + exits[node][last_exit[node]]) % size
    for node, choices in exits.items():
        if node in last_exit:
            kept = choices.pop(last_exit[node])
            choices[:] = [choices[i] for i in rng.permutation(len(choices))] + [kept]
        else:
            choices[:] = [choices[i] for i in rng.permutation(len(choices))]
    out = list(run[:order])
    pointer = dict.fromkeys(exits, 0)
    vertex = first
    for _ in range(length - order):
        letter = exits[vertex][pointer[vertex]]
        pointer[vertex] += 1
        out.append(letter)
        vertex = (vertex * 4 + letter) % size
    return out


def shuffle_codes(codes: np.ndarray, order: int, rng: np.random.Generator) -> np.ndarray:
    """A shuffle of one sequence keeping its words of length ``order + 1`` (see the module).

    Parameters
    ----------
    codes
        uint8 (len,) codes; letters coded 4 stay in place.
    order
        0 (letter counts) to 5.

    Returns
    -------
    numpy.ndarray
        uint8 (len,).
    """
    if not 0 <= order <= 5:
        raise ValueError(f"shuffle order must be 0..5, got {order}")
    codes = np.asarray(codes, dtype=np.uint8)
    out = codes.copy()
    known = codes < N_CODE
    if not known.any():
        return out
    edges = np.flatnonzero(np.diff(np.r_[0, known.astype(np.int8), 0]))
    for start, end in zip(edges[::2], edges[1::2], strict=True):
        out[start:end] = _shuffle_run(codes[start:end].tolist(), order, rng)
    return out


def shuffle_sequences(sequences: Sequence[np.ndarray], order: int = 2,
                      seed: int = 0) -> list[np.ndarray]:
    """One shuffle of each sequence (see :func:`shuffle_codes`), from a seeded generator.

    Returns
    -------
    list of numpy.ndarray
        uint8 (len_i,) per sequence, in input order.
    """
    rng = np.random.default_rng(seed)
    return [shuffle_codes(codes, order, rng) for codes in sequences]


def word_counts(codes: np.ndarray, k: int) -> np.ndarray:
    """Counts of the words of length ``k`` (windows holding no code 4) of one sequence.

    Returns
    -------
    numpy.ndarray
        int64 (4**k,), indexed by the word read as a base-4 number.
    """
    codes = np.asarray(codes, dtype=np.int64)
    if len(codes) < k:
        return np.zeros(4 ** k, dtype=np.int64)
    windows = np.lib.stride_tricks.sliding_window_view(codes, k)
    windows = windows[(windows < N_CODE).all(axis=1)]
    index = windows @ (4 ** np.arange(k - 1, -1, -1))
    return np.bincount(index, minlength=4 ** k)
