"""The ENCODE-DREAM challenge's protocol (the paper's Fig 3d): genome-wide bins, B/A/U labels,
per-bin scores from a model's genome-wide predictions, auPRC and auROC per condition.

**Bins.** Every ``width``-bp bin (200) sliding by ``step`` bp (50) wholly inside each
chromosome of the protocol: starts 0, 50, ... up to ``size - width``.

**Labels**, per condition: B (bound) when the bin overlaps a conserved peak by at least 1 bp;
A (ambiguous) when it overlaps a relaxed peak only; U (unbound) otherwise (:func:`label_bins`,
numpy on each chromosome's sorted, merged peaks). Or the challenge's own labels
(:func:`challenge_bins`): then the bins are exactly the rows of its file. A bins are left out
of the scores; so are bins that overlap the genome's blacklist when ``blacklist`` is given (the
challenge scored blacklist-filtered regions).

**Scores.** A model predicts the windows of a tiled data set (:mod:`nettime.data.tiles`) with
its own predictor, reduced to the maximum probability of each ``step``-bp block of the genome
(:mod:`nettime.evaluation.genome_wide`: the maxima file), and a bin scores the maximum of its
blocks: the maximum per-base probability over the bin, NetTIME's binned score. A method
scoring coarser bins (Catchitt-style, 50 bp) is exact here as long as its bins divide
``step``: each of its bins is one block.

**Metrics**, per condition over its B and U bins: auPRC (trapezoidal) and average precision,
exact from float16 histograms (:class:`nettime.metrics.PRAccumulator`), and auROC (trapezoidal
ROC area, scikit-learn's ``roc_auc_score``) exact from the same histograms
(:func:`auroc_from_counts`). Scores are maxima of float16 probabilities, so they are float16
themselves and the histograms lose nothing.

Memory holds one block of bins, a condition's merged peaks and two histograms, whatever the
chromosome length.
"""

from __future__ import annotations

import gzip
import os
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence

import h5py
import numpy as np
import pandas as pd
from tqdm import tqdm

from nettime import layout
from nettime.config import split_condition
from nettime.data.dataset import FeatureSet
from nettime.data.genome import read_blacklist
from nettime.data.peaks import read_narrowpeak, union_intervals
from nettime.evaluation.evaluate import COLUMNS
from nettime.files import DataError, PathLike, atomic_output, read_chrom_sizes
from nettime.metrics import PRAccumulator
from nettime.models.registry import ModelSpec, vocabularies

#: Label codes of a bin.
BOUND, UNBOUND, AMBIGUOUS = 1, 0, -1
#: The ``split`` of the protocol's metric rows.
DREAM_SPLIT = "dream"
#: Bins labelled and scored at a time.
BIN_BLOCK = 1 << 18
#: The challenge's label file of a TF in ``labels_dir``.
CHALLENGE_FILE = "{tf}.train.labels.tsv.gz"
#: Its first three columns; every further column is a cell type.
CHALLENGE_COLUMNS = ("chr", "start", "stop")

Intervals = dict[str, tuple[np.ndarray, np.ndarray]]


# ---- bins and labels -------------------------------------------------------------------------

def bin_count(size: int, width: int, step: int) -> int:
    """Bins of ``width`` bp sliding by ``step`` bp wholly inside ``size`` bp."""
    return (size - width) // step + 1 if size >= width else 0


def merged_intervals(frame: pd.DataFrame) -> Intervals:
    """Chromosome -> sorted, disjoint intervals (start, end int64 arrays) of a frame with
    columns chrom, start, end."""
    return {str(chrom): union_intervals(group["start"].to_numpy(np.int64),
                                        group["end"].to_numpy(np.int64))
            for chrom, group in frame.groupby("chrom", sort=False)}


def overlaps_any(starts: np.ndarray, width: int, intervals: tuple[np.ndarray, np.ndarray]
                 ) -> np.ndarray:
    """bool (n,): whether ``[start, start + width)`` shares a base with any interval (sorted,
    disjoint, as :func:`merged_intervals` makes them)."""
    iv_start, iv_end = intervals
    # The first interval ending after the bin starts is the only candidate.
    first = np.searchsorted(iv_end, starts, side="right")
    inside = first < len(iv_start)
    hit = np.zeros(len(starts), dtype=bool)
    hit[inside] = iv_start[first[inside]] < starts[inside] + width
    return hit


def label_bins(starts: np.ndarray, width: int, conserved: tuple[np.ndarray, np.ndarray],
               relaxed: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """int8 (n,) B/A/U codes (:data:`BOUND`, :data:`AMBIGUOUS`, :data:`UNBOUND`) of bins
    ``[start, start + width)`` of one chromosome from its merged conserved and relaxed peaks."""
    labels = np.full(len(starts), UNBOUND, dtype=np.int8)
    labels[overlaps_any(starts, width, relaxed)] = AMBIGUOUS
    labels[overlaps_any(starts, width, conserved)] = BOUND
    return labels


_EMPTY = (np.zeros(0, np.int64), np.zeros(0, np.int64))


def peak_bins(sizes: Mapping[str, int], chromosomes: Sequence[str], width: int, step: int,
              conserved: Intervals, relaxed: Intervals, block: int = BIN_BLOCK
              ) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """(chrom, starts int64 (m,), labels int8 (m,)) blocks of every bin of ``chromosomes``,
    labelled from merged peaks."""
    for chrom in chromosomes:
        n = bin_count(sizes[chrom], width, step)
        for a in range(0, n, block):
            starts = np.arange(a, min(a + block, n), dtype=np.int64) * step
            yield chrom, starts, label_bins(starts, width, conserved.get(chrom, _EMPTY),
                                            relaxed.get(chrom, _EMPTY))


def challenge_header(path: PathLike) -> list[str]:
    """The columns of a challenge label file: chr, start, stop, then one per cell type."""
    try:
        with gzip.open(path, "rt") as handle:
            header = handle.readline().rstrip("\r\n").split("\t")
    except (OSError, EOFError) as error:
        raise DataError(f"{path}: cannot read the gzipped label file: {error}") from None
    if tuple(header[:3]) != CHALLENGE_COLUMNS or len(header) < 4:
        raise DataError(f"{path}:1: expected the header 'chr<TAB>start<TAB>stop<TAB>' and one "
                        f"column per cell type, got {header[:6]}")
    return header


def challenge_bins(path: PathLike, column: str, chromosomes: Sequence[str], width: int,
                   step: int, block: int = BIN_BLOCK
                   ) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """(chrom, starts, labels) blocks of the rows of a challenge label file on ``chromosomes``
    (other rows are skipped), labels from column ``column`` (B, A or U).

    Raises
    ------
    DataError
        Naming the file and line of a label other than B, A, U or of a bin that is not
        ``width`` bp long or does not start on the ``step``-bp grid; or the missing column.
    """
    header = challenge_header(path)
    if column not in header[3:]:
        raise DataError(f"{path}: no column {column!r} (cell types: {', '.join(header[3:])})")
    wanted = set(chromosomes)
    reader = pd.read_csv(path, sep="\t", usecols=[*CHALLENGE_COLUMNS, column],
                         dtype={"chr": str, "start": np.int64, "stop": np.int64, column: str},
                         keep_default_na=False, chunksize=block)
    line = 2
    for chunk in reader:
        values = chunk[column].to_numpy()
        labels = np.full(len(chunk), 9, dtype=np.int8)
        for code, letter in ((BOUND, "B"), (AMBIGUOUS, "A"), (UNBOUND, "U")):
            labels[values == letter] = code
        starts = chunk["start"].to_numpy(np.int64)
        bad = np.flatnonzero((labels == 9) | (chunk["stop"].to_numpy(np.int64) - starts != width)
                             | (starts % step != 0))
        if len(bad):
            row = chunk.iloc[bad[0]]
            raise DataError(f"{path}:{line + bad[0]}: expected a {width}-bp bin starting on the "
                            f"{step}-bp grid labelled B, A or U in column {column!r}, got "
                            f"{row['chr']}:{row['start']}-{row['stop']} {row[column]!r}")
        chroms = chunk["chr"].to_numpy()
        for chrom in pd.unique(chroms):
            if chrom in wanted:
                rows = chroms == chrom
                yield str(chrom), starts[rows], labels[rows]
        line += len(chunk)


def challenge_file(labels_dir: PathLike, tf: str) -> str:
    """The challenge's label file of a TF: ``{labels_dir}/{TF}.train.labels.tsv.gz``."""
    return os.path.join(os.fspath(labels_dir), CHALLENGE_FILE.format(tf=tf))


# ---- scores and metrics ----------------------------------------------------------------------

_CODE_VALUES = np.arange(1 << 16, dtype=np.uint16).view(np.float16).astype(np.float64)


def auroc_from_counts(positives: np.ndarray, negatives: np.ndarray) -> float:
    """Exact area under the ROC curve (trapezoidal, ties as one point: scikit-learn's
    ``roc_auc_score``) from int64 (65536,) counts per float16 bit pattern
    (:class:`nettime.metrics.PRAccumulator`'s ``positives`` and ``negatives``); NaN without
    positives or without negatives."""
    used = (positives + negatives) > 0
    distinct, inverse = np.unique(-_CODE_VALUES[used], return_inverse=True)  # +0 and -0 as one
    pos = np.bincount(inverse, weights=positives[used], minlength=len(distinct))
    neg = np.bincount(inverse, weights=negatives[used], minlength=len(distinct))
    if pos.sum() == 0 or neg.sum() == 0:
        return float("nan")
    tpr = np.concatenate([[0.0], np.cumsum(pos) / pos.sum()])
    fpr = np.concatenate([[0.0], np.cumsum(neg) / neg.sum()])
    return float(np.trapezoid(tpr, fpr))


def bin_scores(maxima: h5py.Dataset, starts: np.ndarray, width: int, grid: int) -> np.ndarray:
    """float16 (m,): the maximum of the ``grid``-bp block maxima over each bin
    ``[start, start + width)`` of one chromosome."""
    if len(starts) == 0:
        return np.zeros(0, np.float16)
    first = starts // grid
    k = width // grid
    lo, hi = int(first.min()), int(first.max()) + k
    if hi > maxima.shape[0]:
        raise DataError(f"bins up to {hi * grid} bp lie past the scored end of the chromosome "
                        f"({maxima.shape[0] * grid} bp): another assembly?")
    span = np.asarray(maxima[lo:hi])
    return np.max(np.stack([span[first - lo + j] for j in range(k)]), axis=0)


def score_condition(maxima: h5py.Group, bins: Iterable[tuple[str, np.ndarray, np.ndarray]],
                    width: int, grid: int, blacklist: Intervals | None = None
                    ) -> tuple[PRAccumulator, dict[str, int], bool]:
    """The histograms of one condition's B (positive) and U (negative) bins, the bin counts
    (``bound``, ``unbound``, ``ambiguous``, ``blacklisted``) and whether a score was NaN."""
    accumulator = PRAccumulator()
    counts = dict.fromkeys(("bound", "unbound", "ambiguous", "blacklisted"), 0)
    has_nan = False
    for chrom, starts, labels in bins:
        if chrom not in maxima:
            raise DataError(f"{maxima.file.filename}: no scores on {chrom} (scored: "
                            f"{', '.join(maxima.keys())})")
        keep = np.ones(len(starts), dtype=bool)
        if blacklist is not None and chrom in blacklist:
            black = overlaps_any(starts, width, blacklist[chrom])
            counts["blacklisted"] += int(black.sum())
            keep &= ~black
        counts["ambiguous"] += int(np.count_nonzero(keep & (labels == AMBIGUOUS)))
        keep &= labels != AMBIGUOUS
        scores = bin_scores(maxima[chrom], starts[keep], width, grid)
        positive = labels[keep] == BOUND
        counts["bound"] += int(positive.sum())
        counts["unbound"] += int((~positive).sum())
        if np.isnan(scores).any():
            has_nan = True  # a diverged model scores NaN: never an improvement
            continue
        accumulator.add(scores, positive)
    return accumulator, counts, has_nan


def evaluate_dream(maxima: PathLike, model: str, conditions: Sequence[str],
                   chrom_sizes: PathLike, width: int, step: int,
                   peaks: Mapping[str, tuple[PathLike, PathLike]] | None = None,
                   labels_dir: PathLike | None = None,
                   label_columns: Mapping[str, str] | None = None,
                   blacklist: PathLike | None = None, progress: bool = True) -> pd.DataFrame:
    """The protocol's metrics of a model's maxima file, one condition at a time.

    Parameters
    ----------
    conditions
        ``TF.cell`` conditions to score.
    peaks
        Condition -> (conserved, relaxed) narrowPeak files: labels from peaks.
    labels_dir
        Or the folder of the challenge's ``{TF}.train.labels.tsv.gz`` files: labels from the
        column of the condition's cell type (``label_columns`` maps a cell type to another
        column name).
    blacklist
        A BED file: bins overlapping it are left out (counted as ``blacklisted_bins``).

    Returns
    -------
    DataFrame
        Columns :data:`nettime.evaluation.evaluate.COLUMNS`: per condition, method
        ``probability`` at resolution ``width``: metrics ``auprc``, ``average_precision``,
        ``auroc`` (NaN for a condition with NaN scores or without B or U bins), and
        ``bound_bins``, ``unbound_bins``, ``ambiguous_bins``, ``blacklisted_bins``.
    """
    if (peaks is None) == (labels_dir is None):
        raise ValueError("give the labels as peaks or as labels_dir (one of them)")
    sizes = read_chrom_sizes(chrom_sizes)
    black = merged_intervals(read_blacklist(blacklist, sizes)) if blacklist else None
    rows = []
    with h5py.File(maxima, "r") as h5:
        grid = int(h5.attrs["grid"])
        chromosomes = [str(c.decode() if isinstance(c, bytes) else c)
                       for c in h5.attrs["chromosomes"]]
        for chrom, size in zip(chromosomes, h5.attrs["sizes"], strict=True):
            if sizes.get(chrom) != int(size):
                raise DataError(f"{maxima}: {chrom} was tiled at {int(size)} bp, but "
                                f"{chrom_sizes} says {sizes.get(chrom)}")
        if width % grid or step % grid:
            raise DataError(f"{maxima}: bins of {width} bp sliding by {step} bp are not on its "
                            f"{grid}-bp grid")
        for condition in tqdm(conditions, desc=f"dream {model}", unit="condition",
                              file=sys.stderr, disable=not progress):
            if f"maxima/{condition}" not in h5:
                raise DataError(f"{maxima}: no scores for condition {condition}")
            if peaks is not None:
                conserved, relaxed = (merged_intervals(read_narrowpeak(p, sizes))
                                      for p in peaks[condition])
                bins = peak_bins(sizes, chromosomes, width, step, conserved, relaxed)
            else:
                tf, cell = split_condition(condition)
                column = (label_columns or {}).get(cell, cell)
                bins = challenge_bins(challenge_file(labels_dir, tf), column, chromosomes,
                                      width, step)
            accumulator, counts, has_nan = score_condition(h5[f"maxima/{condition}"], bins,
                                                           width, grid, black)
            values = {"auprc": accumulator.auprc(),
                      "average_precision": accumulator.average_precision(),
                      "auroc": auroc_from_counts(accumulator.positives, accumulator.negatives)}
            if has_nan:
                values = dict.fromkeys(values, float("nan"))
            values.update({f"{kind}_bins": count for kind, count in counts.items()})
            rows += [(model, condition, DREAM_SPLIT, "probability", width, metric, float(value))
                     for metric, value in values.items()]
    return pd.DataFrame(rows, columns=COLUMNS)


def write_dream_table(maxima: PathLike, model: str, conditions: Sequence[str],
                      chrom_sizes: PathLike, width: int, step: int, out: PathLike,
                      peaks: Mapping[str, tuple[PathLike, PathLike]] | None = None,
                      labels_dir: PathLike | None = None,
                      label_columns: Mapping[str, str] | None = None,
                      blacklist: PathLike | None = None) -> pd.DataFrame:
    """:func:`evaluate_dream` written to ``out`` as TSV (atomically)."""
    table = evaluate_dream(maxima, model, conditions, chrom_sizes, width, step, peaks=peaks,
                           labels_dir=labels_dir, label_columns=label_columns,
                           blacklist=blacklist)
    with atomic_output(out) as tmp:
        table.to_csv(tmp, sep="\t", index=False)
    return table


# ---- what a model's predictor reads ----------------------------------------------------------

#: The assay the baselines read.
DNASE = "DNase"


def prediction_tracks(spec: ModelSpec, feature_set: FeatureSet, conditions: Sequence[str]
                      ) -> tuple[list[tuple[str, str]], list[str]]:
    """The tracks a model's predictor reads to predict ``conditions``: (cell type, assay)
    signals and TFs' motif channels. NetTIME reads its feature set; the Leopard-style baseline
    DNase of the conditions' cell types and of its training cell types (their mean is an
    input); the Catchitt-style baseline DNase and motif channels; the DeepBind-style baseline
    sequence only."""
    pairs = [split_condition(c) for c in conditions]
    cells = list(dict.fromkeys(cell for _, cell in pairs))
    tfs = list(dict.fromkeys(tf for tf, _ in pairs))
    if spec.kind == "nettime":
        return ([(c, a) for c in cells for a in feature_set.assays],
                tfs if feature_set.motifs else [])
    if spec.kind == "leopard":
        trained = [split_condition(c)[1] for c in spec.conditions]
        return [(c, DNASE) for c in dict.fromkeys(cells + trained)], []
    if spec.kind == "catchitt":
        return [(c, DNASE) for c in cells], tfs
    if spec.kind == "deepbind":
        return [], []
    raise ValueError(f"model {spec.name!r}: unknown kind {spec.kind!r}")


def dream_model_conditions(specs: Mapping[str, ModelSpec], model: str,
                           conditions: Sequence[str]) -> list[str]:
    """The protocol's conditions a model can predict (its TF and cell type known)."""
    tfs, cells = vocabularies(specs, model)
    return [c for c in conditions
            if split_condition(c)[0] in tfs and split_condition(c)[1] in cells]


def dream_input_files(specs: Mapping[str, ModelSpec], feature_sets: Mapping[str, FeatureSet],
                      model: str, conditions: Sequence[str]) -> list[str]:
    """The files of the tiled data set (``layout`` ``dream_*``) that a model's predictor reads
    to predict the protocol's ``conditions``: the tiles first, then its tracks."""
    spec = specs[model]
    signals, tfs = prediction_tracks(spec, feature_sets[spec.feature_set],
                                     dream_model_conditions(specs, model, conditions))
    return ([layout.path("dream_examples")]
            + [layout.path("dream_signal", cell=c, assay=a) for c, a in signals]
            + [layout.path("dream_motifs", tf=tf) for tf in tfs])


def dream_label_files(conditions: Sequence[str], source: str, labels_dir: str | None
                      ) -> dict[str, list[str]]:
    """The label inputs of ``conditions``: ``labels``, the challenge's files of their TFs
    (with ``labels_dir``), or ``conserved`` and ``relaxed``, their peaks (in their order)."""
    if labels_dir:
        tfs = dict.fromkeys(split_condition(c)[0] for c in conditions)
        return {"labels": [challenge_file(labels_dir, tf) for tf in tfs]}
    return {label_set: [layout.path("condition_peaks", source=source, condition=c,
                                    label_set=label_set) for c in conditions]
            for label_set in layout.LABEL_SETS}
