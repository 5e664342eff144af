"""Reference scores: what a condition's labels give away for free, and (simulated data) what
knowing the true binding would give.

A model that scores no better than an untrained input channel has learned nothing the channel
did not hand it. Per condition and split, at 1 bp, against the conserved labels:

- ``dnase``: the cell type's DNase z-score (ATAC where the cell type has no DNase) as the score;
- ``assays_sum``: the sum of the cell type's assays' z-scores;
- ``motif``: the TF's motif channel (the larger of the two strands' z-scores), where the data
  set has motif channels for the TF;
- ``oracle`` (simulated source only): the simulator's true binding: each base scores the
  occupancy of the strongest true bound site within :data:`ORACLE_FLANK` bases (the half-width
  of a simulated peak), 0 elsewhere. It knows which sites are bound and how strongly, but not
  the peak caller's noise (which sites pass the conserved cut, where a peak's edges fall), so
  it is the auPRC of perfect knowledge of binding, not a strict upper bound.

Rows in the tidy format of :mod:`nettime.evaluation.evaluate` (model :data:`REFERENCE_MODEL`,
method = the reference's name, metric ``auprc`` at resolution 1). Scores are rounded to float16
(the predictions' precision) and accumulated exactly (:class:`nettime.metrics.PRAccumulator`),
block by block.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from tqdm import tqdm

from nettime import metrics
from nettime.config import split_condition
from nettime.data.dataset import open_dataset
from nettime.evaluation.evaluate import COLUMNS
from nettime.files import PathLike, atomic_output

#: The model name of reference rows.
REFERENCE_MODEL = "reference"
#: The untrained scores, in the order of the tables.
FREE_SIGNALS = ("dnase", "assays_sum", "motif")
#: Half-width (bp) of the oracle's reach around a true site: half a simulated peak's width.
ORACLE_FLANK = 150


def _oracle_blocks(sites: pd.DataFrame, examples: pd.DataFrame, length: int,
                   start: int, stop: int) -> np.ndarray:
    """float32 (stop - start, L): occupancy of the strongest true site within
    :data:`ORACLE_FLANK` of each base of examples ``start:stop``."""
    out = np.zeros((stop - start, length), dtype=np.float32)
    for row, (chrom, a) in enumerate(zip(examples["chrom"].iloc[start:stop],
                                         examples["start"].iloc[start:stop], strict=True)):
        on = sites.get(chrom)
        if on is None:
            continue
        starts, ends, occupancy = on
        widest = int((ends - starts).max()) if len(starts) else 0
        lo = np.searchsorted(starts, a - ORACLE_FLANK - widest, side="left")
        hi = np.searchsorted(starts, a + length + ORACLE_FLANK, side="right")
        for s, e, o in zip(starts[lo:hi], ends[lo:hi], occupancy[lo:hi], strict=True):
            left = max(int(s) - ORACLE_FLANK - a, 0)
            right = min(int(e) + ORACLE_FLANK - a, length)
            if left < right:
                np.maximum(out[row, left:right], o, out=out[row, left:right])
    return out


def read_true_sites(path: PathLike) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """A simulated condition's true bound sites (BED6, score = occupancy x 500): chrom ->
    int64 starts, int64 ends, float32 occupancy, sorted by start."""
    frame = pd.read_csv(path, sep="\t", header=None, usecols=[0, 1, 2, 4],
                        names=["chrom", "start", "end", "score"])
    out = {}
    for chrom, group in frame.groupby("chrom", sort=False):
        group = group.sort_values("start")
        out[str(chrom)] = (group["start"].to_numpy(np.int64), group["end"].to_numpy(np.int64),
                           (group["score"].to_numpy(np.float32) / 500.0))
    return out


def reference_scores(data: PathLike, split: str, conditions: Sequence[str],
                     true_sites: Mapping[str, PathLike] | None = None,
                     label_set: str = "conserved", block_size: int = 1024,
                     progress: bool = True, examples_kept: np.ndarray | None = None
                     ) -> pd.DataFrame:
    """auPRC at 1 bp of each reference score of each condition (see the module docstring).

    Parameters
    ----------
    data
        A split's data set folder.
    conditions
        Conditions ``TF.cell`` with labels in the data set.
    true_sites
        Condition -> its true sites BED (simulated source): adds the ``oracle`` rows.
    examples_kept
        bool (n_examples,): score only these examples (all when None), e.g. the examples
        around the peaks of a few conditions.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`nettime.evaluation.evaluate.COLUMNS`; a reference a condition lacks the
        inputs for (no motif channels, no DNase) has no row.
    """
    rows = []
    with open_dataset(data) as dataset:
        examples = dataset.examples() if true_sites else None
        assays = dataset.assays
        for condition in tqdm(conditions, desc=f"reference scores {split}", unit="condition",
                              disable=not progress):
            tf, cell = split_condition(condition)
            present = [a for a in assays if dataset.has_signal(cell, a)]
            open_assay = "DNase" if "DNase" in present else ("ATAC" if "ATAC" in present
                                                             else None)
            curves = {}
            if open_assay:
                curves["dnase"] = metrics.PRAccumulator()
            if present:
                curves["assays_sum"] = metrics.PRAccumulator()
            if tf in dataset.tfs:
                curves["motif"] = metrics.PRAccumulator()
            sites = None
            if true_sites and condition in true_sites:
                sites = read_true_sites(true_sites[condition])
                curves["oracle"] = metrics.PRAccumulator()
            for start in range(0, dataset.n_examples, block_size):
                stop = min(start + block_size, dataset.n_examples)
                rows_kept = slice(None) if examples_kept is None else examples_kept[start:stop]
                y = dataset.read_labels(condition, label_set, start, stop)[rows_kept]
                signals = {a: dataset.read_signal(cell, a, start, stop)[rows_kept]
                           for a in present}
                if open_assay:
                    curves["dnase"].add(signals[open_assay].astype(np.float16), y)
                if present:
                    total = np.sum([signals[a] for a in present], axis=0)
                    curves["assays_sum"].add(total.astype(np.float16), y)
                if "motif" in curves:
                    motif = dataset.read_motifs(tf, start, stop)[rows_kept].max(axis=-1)
                    curves["motif"].add(motif.astype(np.float16), y)
                if sites is not None:
                    oracle = _oracle_blocks(sites, examples, dataset.length, start,
                                            stop)[rows_kept]
                    curves["oracle"].add(oracle.astype(np.float16), y)
            for method, curve in curves.items():
                rows.append((REFERENCE_MODEL, condition, split, method, 1, "auprc",
                             curve.auprc()))
    return pd.DataFrame(rows, columns=COLUMNS)


def write_reference_scores(data: PathLike, split: str, conditions: Sequence[str], out: PathLike,
                           true_sites: Mapping[str, PathLike] | None = None,
                           progress: bool = True) -> pd.DataFrame:
    """:func:`reference_scores` written to ``out`` (TSV, atomically)."""
    table = reference_scores(data, split, conditions, true_sites, progress=progress)
    with atomic_output(out, suffix=".tsv") as tmp:
        table.to_csv(tmp, sep="\t", index=False)
    return table
