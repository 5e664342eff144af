"""Motif comparison with TOMTOM (memelite's implementation): one motif against another, and
against the JASPAR vertebrate CORE collection (pyjaspar, offline).

TOMTOM builds the null distribution of each query column from its scores against every column
of the targets, so its p-values need a target database: with few targets they change by orders
of magnitude with the choice of targets (memelite warns below 25). :func:`compare_motifs`
therefore scores the pair inside a database by default: the target is searched together with
the JASPAR collection, as when TOMTOM is run against a database holding the target, and the
pair's p-value, E-value and q-value are those of that search. As in TOMTOM, the E-value is the
p-value times the number of targets and the q-value the Benjamini-Hochberg false discovery rate
over the p-values of all targets of the query.

memelite compiles with numba on first use (15-60 s, then cached on disk).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from nettime.motifs.matrices import Motif, jaspar_collection


@dataclass(frozen=True)
class TomtomMatch:
    """The best alignment of a query motif with one target.

    Attributes
    ----------
    query_id, target_id, target_name
        Motif identifiers (``matrix_id``) and the target's name.
    p_value, e_value, q_value
        TOMTOM's p-value, E-value (p times ``n_targets``) and q-value (Benjamini-Hochberg
        over the query's p-values against all targets).
    offset
        The target column aligned with the query's first column (negative when the query
        starts before the target), in the orientation of the target used.
    overlap
        Aligned columns.
    orientation
        ``"+"``, or ``"-"`` when the target's reverse complement aligns best.
    n_targets
        Targets the query was compared with.
    """

    query_id: str
    target_id: str
    target_name: str
    p_value: float
    e_value: float
    q_value: float
    offset: int
    overlap: int
    orientation: str
    n_targets: int


def benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """float64 (n,) Benjamini-Hochberg q-values of float (n,) p-values."""
    p = np.asarray(p_values, dtype=np.float64)
    n = len(p)
    order = np.argsort(p, kind="stable")
    ranked = p[order] * n / np.arange(1, n + 1)
    q = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(n)
    out[order] = np.minimum(q, 1.0)
    return out


def tomtom(query: Motif, targets: Sequence[Motif]) -> list[TomtomMatch]:
    """TOMTOM of one query against every target (both orientations of each target).

    Returns
    -------
    list of TomtomMatch
        One per target, in the targets' order.
    """
    from memelite import tomtom as memelite_tomtom  # numba start-up only where compared

    if not targets:
        raise ValueError("TOMTOM needs at least one target motif")
    # memelite's kernels are compiled for float64 arrays of letters x positions.
    q = [np.ascontiguousarray(query.ppm.T, dtype=np.float64)]
    t = [np.ascontiguousarray(m.ppm.T, dtype=np.float64) for m in targets]
    with warnings.catch_warnings():
        # The few-targets warning is about reliability, which the caller chose knowingly.
        warnings.filterwarnings("ignore", message="tomtom was given")
        p, _, offsets, overlaps, strands = memelite_tomtom(q, t)
    p = np.clip(p[0], 0.0, 1.0)
    q_values = benjamini_hochberg(p)
    return [TomtomMatch(query.matrix_id, target.matrix_id, target.name, float(p[i]),
                        float(p[i] * len(targets)), float(q_values[i]), int(offsets[0, i]),
                        int(overlaps[0, i]), "-" if strands[0, i] else "+", len(targets))
            for i, target in enumerate(targets)]


def compare_motifs(query: Motif, target: Motif, background: str | None = "jaspar",
                   collection: str = "CORE", tax_group: str = "vertebrates") -> TomtomMatch:
    """TOMTOM of ``query`` against ``target``.

    Parameters
    ----------
    background
        ``"jaspar"``: the pair is scored in a search of the target together with the JASPAR
        collection (see the module), so p-, E- and q-values are those of a database search;
        None: the target alone (p-values then rest on its columns only and are unreliable).
    """
    if background not in ("jaspar", None):
        raise ValueError(f"background must be 'jaspar' or None, got {background!r}")
    database = [target]
    if background == "jaspar":
        database += list(jaspar_collection(collection, tax_group))
    return tomtom(query, database)[0]


def best_jaspar_match(query: Motif, collection: str = "CORE",
                      tax_group: str = "vertebrates", n: int = 1) -> list[TomtomMatch]:
    """The ``n`` JASPAR matrices most similar to ``query`` (smallest TOMTOM p-value first)."""
    matches = tomtom(query, jaspar_collection(collection, tax_group))
    return sorted(matches, key=lambda m: (m.p_value, m.target_id))[:n]
