"""Training the Catchitt-style baseline, reimplemented, on a split's data set: one condition's
classifiers with DNase-matched and hard negatives, and their validation (the method is
described in :mod:`nettime.baselines.catchitt`; the arithmetic on arrays is in
:mod:`.catchitt_features`). Data sets are streamed block by block."""

from __future__ import annotations

import math
import sys
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from tqdm import tqdm

from nettime.baselines.catchitt_features import (
    CONTEXT,
    FEATURE_NAMES,
    NOISY_OR,
    Classifier,
    bin_features,
    bin_targets,
    check_bin_width,
    fit_classifier,
    noisy_or,
    stack_neighbours,
)
from nettime.config import split_condition
from nettime.data.dataset import DataSet
from nettime.files import DataError
from nettime.metrics import PRAccumulator, auprc
from nettime.models.registry import ModelSpec

#: Defaults of ``options`` (the original's values).
DEFAULT_OPTIONS: dict[str, Any] = {"bin": 50, "neighbours": 2, "rounds": 5, "negatives": 2}
#: Strata of mean DNase that the matched negatives are drawn from (twentiles).
DNASE_STRATA = 20
#: Examples read per block.
BLOCK_EXAMPLES = 256
#: The DNase track's assay name in the data set.
DNASE = "DNase"


# ---- reading blocks --------------------------------------------------------------------------


def check_inputs(data: DataSet, tf: str, cell: str) -> None:
    """Raise :class:`nettime.files.DataError`, naming the data set, unless it holds the cell
    type's DNase track and the TF's motif channels."""
    if cell not in data.cell_types or DNASE not in data.assays:
        raise DataError(f"{data.path}: no {DNASE} signal for cell type {cell!r}; the "
                        f"Catchitt-style baseline needs it (cell types: "
                        f"{', '.join(data.cell_types)}; assays: {', '.join(data.assays)})")
    if tf not in data.tfs:
        raise DataError(f"{data.path}: no motif channels for TF {tf!r}; the Catchitt-style "
                        f"baseline needs them (TFs with motifs: {', '.join(data.tfs) or 'none'})")
    try:
        data.read_signal(cell, DNASE, 0, 0)
    except KeyError as error:
        raise DataError(str(error.args[0])) from None


def block_features(data: DataSet, tf: str, cell: str, start: int, stop: int, width: int,
                   neighbours: int) -> np.ndarray:
    """float32 (m, n, F) stacked features of examples [start, stop)."""
    per_bin = bin_features(data.read_signal(cell, DNASE, start, stop),
                           data.read_motifs(tf, start, stop), width)
    return stack_neighbours(per_bin, neighbours)


def example_blocks(n_examples: int, desc: str, progress: bool) -> Iterator[tuple[int, int]]:
    """Spans ``(start, stop)`` of :data:`BLOCK_EXAMPLES` examples covering ``n_examples``, with
    a progress bar ``desc`` on stderr."""
    bar = tqdm(total=n_examples, desc=desc, unit="ex", file=sys.stderr, disable=not progress,
               dynamic_ncols=True, leave=False)
    for start in range(0, n_examples, BLOCK_EXAMPLES):
        stop = min(start + BLOCK_EXAMPLES, n_examples)
        yield start, stop
        bar.update(stop - start)
    bar.close()


# ---- training --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """Catchitt's settings of a spec: ``options`` over :data:`DEFAULT_OPTIONS`, the cap on the
    training bins (``budget.steps * budget.batch_size``; None: no cap), the validation
    examples (``budget.valid_examples``) and the seed."""

    bin: int
    neighbours: int
    rounds: int
    negatives: float
    max_bins: int | None
    valid_examples: int | None
    seed: int

    @classmethod
    def from_spec(cls, spec: ModelSpec) -> Settings:
        unknown = sorted(set(spec.options) - set(DEFAULT_OPTIONS))
        if unknown:
            raise ValueError(f"model {spec.name}: options {', '.join(unknown)} are not "
                             f"Catchitt's (options: {', '.join(DEFAULT_OPTIONS)})")
        options = {**DEFAULT_OPTIONS, **spec.options}
        settings = cls(bin=int(options["bin"]), neighbours=int(options["neighbours"]),
                       rounds=int(options["rounds"]), negatives=float(options["negatives"]),
                       max_bins=_cap(spec.budget), valid_examples=spec.budget.get("valid_examples"),
                       seed=int(spec.seed))
        for name, value, low in (("bin", settings.bin, 1), ("rounds", settings.rounds, 1),
                                 ("neighbours", settings.neighbours, 0)):
            if value < low:
                raise ValueError(f"model {spec.name}: options.{name} must be at least {low}, "
                                 f"got {value}")
        if not settings.negatives > 0:
            raise ValueError(f"model {spec.name}: options.negatives must be positive, got "
                             f"{settings.negatives}")
        return settings

    def to_dict(self) -> dict[str, Any]:
        return {"bin": self.bin, "neighbours": self.neighbours, "rounds": self.rounds,
                "negatives": self.negatives, "max_bins": self.max_bins,
                "valid_examples": self.valid_examples, "seed": self.seed,
                "context": CONTEXT, "noisy_or": list(NOISY_OR), "strata": DNASE_STRATA}


def _cap(budget: Mapping[str, Any]) -> int | None:
    steps = budget.get("steps")
    if steps is None:
        return None
    return int(steps) * int(budget.get("batch_size") or 1)


def _rng(seed: int, condition: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(condition.encode())])


def _counts(n_bound: int, settings: Settings) -> tuple[int, int, int]:
    """Bound bins kept, round 1's negatives, hard negatives added per later round, such that
    the last round's training set stays within ``settings.max_bins``."""
    per_bound = 1 + settings.negatives + (settings.rounds - 1) * settings.negatives / 2
    kept = n_bound
    if settings.max_bins is not None:
        kept = min(n_bound, max(int(settings.max_bins / per_bound), 1))
    negatives = max(int(round(settings.negatives * kept)), 1)
    return kept, negatives, max(negatives - negatives // 2, 1)


def _scan(data: DataSet, condition: str, cell: str, width: int,
          progress: bool) -> tuple[np.ndarray, np.ndarray]:
    """Every bin's training label, int8 (n * bins,), and mean DNase, float32 (n * bins,)."""
    targets, levels = [], []
    for start, stop in example_blocks(data.n_examples, f"catchitt {condition}: labels", progress):
        targets.append(bin_targets(data.read_labels(condition, "conserved", start, stop),
                                   data.read_labels(condition, "relaxed", start, stop),
                                   width).ravel())
        dnase = data.read_signal(cell, DNASE, start, stop)
        levels.append(dnase.reshape(len(dnase), -1, width).mean(axis=-1).ravel())
    return np.concatenate(targets), np.concatenate(levels)


def _draw(pool: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    return np.sort(rng.choice(pool, size=min(size, len(pool)), replace=False))


def select_initial(targets: np.ndarray, levels: np.ndarray, settings: Settings,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, int]:
    """Round 1's training bins.

    Parameters
    ----------
    targets
        int8 (N,) bin labels (1 bound, 0 unbound, -1 ambiguous).
    levels
        float (N,) mean DNase of each bin.
    settings
        Catchitt's settings (negatives per bound bin, cap).
    rng
        The condition's generator.

    Returns
    -------
    bound, unbound
        int64 sorted indices of the bound bins kept and of the negatives drawn (half uniform,
        half matched to the bound bins' DNase twentiles; a stratum short of unbound bins
        leaves its share to uniform draws).
    n_hard
        Hard negatives to add in each later round.
    """
    bound_all = np.flatnonzero(targets == 1)
    pool = np.flatnonzero(targets == 0)
    kept, n_negatives, n_hard = _counts(len(bound_all), settings)
    bound = _draw(bound_all, kept, rng)
    n_negatives = min(n_negatives, len(pool))
    uniform = _draw(pool, n_negatives - n_negatives // 2, rng)
    rest = np.setdiff1d(pool, uniform, assume_unique=True)
    n_matched = n_negatives - len(uniform)
    chosen: list[np.ndarray] = [uniform]
    if n_matched and len(rest):
        edges = np.quantile(levels[rest], np.arange(1, DNASE_STRATA) / DNASE_STRATA)
        rest_stratum = np.searchsorted(edges, levels[rest], side="right")
        share = np.bincount(np.searchsorted(edges, levels[bound], side="right"),
                            minlength=DNASE_STRATA).astype(np.float64)
        wanted = rng.multinomial(n_matched, share / share.sum())
        for stratum in np.flatnonzero(wanted):
            chosen.append(_draw(rest[rest_stratum == stratum], int(wanted[stratum]), rng))
        short = n_matched - sum(len(c) for c in chosen[1:])
        if short:
            chosen.append(_draw(np.setdiff1d(rest, np.concatenate(chosen)), short, rng))
    return bound, np.sort(np.concatenate(chosen)), n_hard


def _gather(data: DataSet, tf: str, cell: str, indices: np.ndarray, settings: Settings,
            desc: str, progress: bool) -> np.ndarray:
    """float32 (len(indices), F) features of the bins at sorted flat ``indices``."""
    n_bins = data.length // settings.bin
    parts = []
    for start, stop in example_blocks(data.n_examples, desc, progress):
        a, b = np.searchsorted(indices, [start * n_bins, stop * n_bins])
        if a == b:
            continue
        feats = block_features(data, tf, cell, start, stop, settings.bin, settings.neighbours)
        parts.append(feats.reshape(-1, feats.shape[-1])[indices[a:b] - start * n_bins])
    width = len(FEATURE_NAMES) * (2 * settings.neighbours + 1)
    return np.concatenate(parts) if parts else np.zeros((0, width), np.float32)


def _hardest(data: DataSet, tf: str, cell: str, targets: np.ndarray, used: np.ndarray,
             classifier: Classifier, k: int, settings: Settings, desc: str,
             progress: bool) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` unbound bins not in ``used`` (bool (N,)) that ``classifier`` scores highest:
    their flat indices and float32 (k, F) features; ties go to the earlier bin."""
    n_bins = data.length // settings.bin
    best_idx = np.zeros(0, np.int64)
    best_score = np.zeros(0)
    best_x = np.zeros((0, len(FEATURE_NAMES) * (2 * settings.neighbours + 1)), np.float32)
    for start, stop in example_blocks(data.n_examples, desc, progress):
        lo, hi = start * n_bins, stop * n_bins
        free = np.flatnonzero((targets[lo:hi] == 0) & ~used[lo:hi])
        if not len(free):
            continue
        feats = block_features(data, tf, cell, start, stop, settings.bin, settings.neighbours)
        x = feats.reshape(-1, feats.shape[-1])[free]
        idx = np.concatenate([best_idx, free + lo])
        score = np.concatenate([best_score, classifier.logit(x)])
        xs = np.concatenate([best_x, x])
        keep = np.argsort(-score, kind="stable")[:k]
        best_idx, best_score, best_x = idx[keep], score[keep], xs[keep]
    order = np.argsort(best_idx)
    return best_idx[order], best_x[order]


def train_condition(data: DataSet, condition: str, settings: Settings,
                    progress: bool = True) -> tuple[list[Classifier], list[dict[str, Any]]]:
    """Train one condition's classifiers on a training data set (see the module docstring).

    Parameters
    ----------
    data
        The training split's data set; it must hold the condition's labels, its cell type's
        DNase and its TF's motif channels.
    condition
        ``TF.cell``.
    settings
        Catchitt's settings.

    Returns
    -------
    classifiers
        One per round.
    rows
        One log row per round: condition, round, positives, negatives, hard_negatives_added,
        train_auprc (valid_auprc is filled in later).
    """
    tf, cell = split_condition(condition)
    check_inputs(data, tf, cell)
    if condition not in data.conditions:
        raise DataError(f"{data.path}: no labels for condition {condition} (conditions: "
                        f"{', '.join(data.conditions)})")
    check_bin_width(data.length, settings.bin, f"{data.path}: ")
    rng = _rng(settings.seed, condition)
    targets, levels = _scan(data, condition, cell, settings.bin, progress)
    if not (targets == 1).any() or not (targets == 0).any():
        raise DataError(f"{data.path}: condition {condition} has {(targets == 1).sum()} bound "
                        f"and {(targets == 0).sum()} unbound {settings.bin}-bp bins; the "
                        "Catchitt-style baseline needs both")
    bound, unbound, n_hard = select_initial(targets, levels, settings, rng)
    del levels
    first = np.concatenate([bound, unbound])
    order = np.argsort(first)
    x = _gather(data, tf, cell, first[order], settings, f"catchitt {condition}: features",
                progress)[np.argsort(order)]
    y = np.concatenate([np.ones(len(bound), np.int64), np.zeros(len(unbound), np.int64)])
    used = np.zeros(len(targets), bool)
    used[first] = True
    classifiers, rows, added = [], [], 0
    for round_ in range(1, settings.rounds + 1):
        classifier = fit_classifier(x, y)
        classifiers.append(classifier)
        rows.append({"condition": condition, "round": round_, "positives": int(y.sum()),
                     "negatives": int(len(y) - y.sum()), "hard_negatives_added": added,
                     "train_auprc": auprc(classifier.predict_proba(x), y),
                     "valid_auprc": math.nan})
        if round_ == settings.rounds:
            break
        hard, hard_x = _hardest(data, tf, cell, targets, used, classifier, n_hard, settings,
                                f"catchitt {condition}: round {round_} negatives", progress)
        used[hard] = True
        x = np.concatenate([x, hard_x])
        y = np.concatenate([y, np.zeros(len(hard), np.int64)])
        added = len(hard)
    return classifiers, rows


def validate_condition(data: DataSet, condition: str, classifiers: Sequence[Classifier],
                       settings: Settings, progress: bool = True) -> list[float]:
    """auPRC at 1 bp (conserved labels; each base scored by its bin) on a validation data set
    of the mean over rounds 1..r, for every r; NaN when the data set cannot score the
    condition (no labels, DNase or motif channels)."""
    tf, cell = split_condition(condition)
    try:
        check_inputs(data, tf, cell)
    except DataError:
        return [math.nan] * len(classifiers)
    if condition not in data.conditions:
        return [math.nan] * len(classifiers)
    n = data.n_examples if settings.valid_examples is None else \
        min(data.n_examples, int(settings.valid_examples))
    accumulators = [PRAccumulator() for _ in classifiers]
    for start, stop in example_blocks(n, f"catchitt {condition}: validation", progress):
        feats = block_features(data, tf, cell, start, stop, settings.bin, settings.neighbours)
        labels = data.read_labels(condition, "conserved", start, stop)
        total = np.zeros(feats.shape[:2])
        for r, classifier in enumerate(classifiers):
            total += noisy_or(classifier.predict_proba(feats))
            scores = np.repeat(total / (r + 1), settings.bin, axis=1).astype(np.float16)
            accumulators[r].add(scores, labels)
    return [acc.auprc() for acc in accumulators]
