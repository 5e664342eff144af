"""How learnable a data set is from its free inputs, beside the same statistics on real data.

Per condition of a finished run's data set (a split's folder under ``results/data/``), at
1 bp against the conserved labels:

- base rate: the fraction of bases labelled bound (the auPRC of a random score);
- DNase auPRC: the cell type's DNase z-score (ATAC without DNase) as the score;
- motif auPRC: the TF's motif channel (larger strand), where the data set has one;
- motif ±150 auPRC: the same channel's maximum within 150 bp of each base (half a simulated
  peak): how much a model that learned to spread a motif hit over its peak could get from it;
- DNase and motif auPRC as ratios to the base rate.

Each is summarised as min-max over conditions and, in brackets, the mean (for the ratios, the
ratio of the mean auPRC to the mean base rate, as the real data's are given), beside the
statistics of real ENCODE data of the JUN family: hg19, DNase, 1000-bp examples around the
pooled merged peaks of 5 conditions.

A data set's examples lie around the pooled peaks of all its conditions, so a condition's base
rate falls as the panel grows, and with it every ratio's meaning (a score that finds the same
sites scores a larger multiple of a smaller base rate). The real numbers come from a 5-condition
pool, so the same statistics are also computed on pools like it: ``--pools`` sets of
``--pool-size`` conditions of the ``--family`` TFs, each scored on only the examples that overlap
a peak (conserved or relaxed label) of one of its conditions. These rows are the like-for-like
comparison. The scores are those of ``nettime.evaluation.reference`` (the reference rows of every
figure).

    snakemake --cores 2                                 # a finished default run
    python benchmarks/data_statistics.py                # results/data/train
    python benchmarks/data_statistics.py --data results/data/train results/data/test
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.ndimage import maximum_filter1d

from nettime import metrics
from nettime.config import split_condition
from nettime.data.dataset import open_dataset
from nettime.evaluation.reference import reference_scores

#: Real ENCODE JUN family (5 conditions): range and mean of each statistic.
REAL_JUN_FAMILY = {"base rate": (0.009, 0.128, 0.082), "DNase auPRC": (0.14, 0.51, 0.32),
                   "motif auPRC": (None, None, 0.11)}
#: The JUN family's TFs of the default panel.
JUN_FAMILY = ("JUN", "JUNB", "JUND")
RATIOS = {"DNase / base": "DNase auPRC", "motif / base": "motif auPRC"}


def examples_around(data: Path, conditions: list[str], block_size: int = 4096) -> np.ndarray:
    """bool (n_examples,): the examples with a base in a conserved or relaxed peak of one of
    ``conditions``."""
    with open_dataset(data) as dataset:
        kept = np.zeros(dataset.n_examples, dtype=bool)
        for start in range(0, dataset.n_examples, block_size):
            stop = min(start + block_size, dataset.n_examples)
            for condition in conditions:
                for label_set in ("conserved", "relaxed"):
                    labels = dataset.read_labels(condition, label_set, start, stop)
                    kept[start:stop] |= labels.any(axis=1)
    return kept


def base_rates(data: Path, conditions: list[str], block_size: int = 4096,
               examples_kept: np.ndarray | None = None) -> dict[str, float]:
    """Condition -> fraction of bases in its conserved labels that are bound (over the
    examples ``examples_kept``, bool (n_examples,), or all)."""
    rates = {}
    with open_dataset(data) as dataset:
        for condition in conditions:
            positives = total = 0
            for start in range(0, dataset.n_examples, block_size):
                stop = min(start + block_size, dataset.n_examples)
                labels = dataset.read_labels(condition, "conserved", start, stop)
                if examples_kept is not None:
                    labels = labels[examples_kept[start:stop]]
                positives += int(labels.sum())
                total += labels.size
            rates[condition] = positives / max(total, 1)
    return rates


def pooled_motif_auprc(data: Path, conditions: list[str], half_width: int = 150,
                       block_size: int = 1024, examples_kept: np.ndarray | None = None
                       ) -> dict[str, float]:
    """Condition -> auPRC of its TF's motif channel (larger strand) maximised over the bases
    within ``half_width`` of each base: an untrained score that spreads a motif hit over a
    peak's extent, as a model could learn to. Conditions whose TF has no channel are left out."""
    scores = {}
    with open_dataset(data) as dataset:
        for condition in conditions:
            tf = split_condition(condition)[0]
            if tf not in dataset.tfs:
                continue
            curve = metrics.PRAccumulator()
            for start in range(0, dataset.n_examples, block_size):
                stop = min(start + block_size, dataset.n_examples)
                rows = slice(None) if examples_kept is None else examples_kept[start:stop]
                motif = dataset.read_motifs(tf, start, stop)[rows].max(axis=-1)
                pooled = maximum_filter1d(motif, 2 * half_width + 1, axis=1)
                labels = dataset.read_labels(condition, "conserved", start, stop)[rows]
                curve.add(pooled.astype(np.float16), labels)
            scores[condition] = curve.auprc()
    return scores


def statistics(data: Path, conditions: list[str] | None = None,
               examples_kept: np.ndarray | None = None) -> pd.DataFrame:
    """One row per condition (all of the data set's by default): base rate, DNase and motif
    auPRC, ratios; over the examples ``examples_kept`` (bool (n_examples,)) or all."""
    if conditions is None:
        with open_dataset(data) as dataset:
            conditions = list(dataset.conditions)
    scores = reference_scores(data, data.name, conditions, progress=False,
                              examples_kept=examples_kept)
    wide = scores.pivot_table(index="condition", columns="method", values="value")
    table = pd.DataFrame({"base rate": pd.Series(base_rates(data, conditions,
                                                            examples_kept=examples_kept))})
    table["DNase auPRC"] = wide.get("dnase")
    table["motif auPRC"] = wide.get("motif")
    table["motif ±150 auPRC"] = pd.Series(
        pooled_motif_auprc(data, conditions, examples_kept=examples_kept), dtype=float)
    for ratio, column in RATIOS.items():
        table[ratio] = table[column] / table["base rate"]
    return table


def family_pools(conditions: list[str], family: tuple[str, ...], size: int, n_pools: int,
                 seed: int) -> list[list[str]]:
    """Pools of ``size`` conditions of the ``family`` TFs: every combination when there are at
    most ``n_pools``, else ``n_pools`` distinct ones drawn with ``seed``."""
    members = sorted(c for c in conditions if split_condition(c)[0] in family)
    if len(members) < size:
        return []
    if math.comb(len(members), size) <= n_pools:
        return [list(pool) for pool in itertools.combinations(members, size)]
    rng = np.random.default_rng(seed)
    pools: set[tuple[str, ...]] = set()
    while len(pools) < n_pools:
        pools.add(tuple(sorted(rng.choice(members, size, replace=False).tolist())))
    return [list(pool) for pool in sorted(pools)]


def summary(table: pd.DataFrame, label: str) -> dict[str, object]:
    """min-max (mean) of each statistic over the conditions; a ratio's bracket holds the ratio
    of the means."""
    row: dict[str, object] = {"data": label, "conditions": len(table)}
    for column in table.columns:
        values = table[column].dropna()
        if not len(values):
            row[column] = "-"
            continue
        centre = values.mean()
        if column in RATIOS:
            kept = table[[RATIOS[column], "base rate"]].dropna()
            centre = kept[RATIOS[column]].mean() / kept["base rate"].mean()
        row[column] = f"{values.min():.3f}-{values.max():.3f} ({centre:.3f})"
    return row


def real_row() -> dict[str, object]:
    """The real JUN family's statistics in :func:`summary`'s format."""
    real: dict[str, object] = {"data": "ENCODE JUN family (real, hg19)", "conditions": 5}
    for name, (low, high, mean) in REAL_JUN_FAMILY.items():
        real[name] = f"{low:.3f}-{high:.3f} ({mean:.3f})" if low is not None else f"({mean})"
    base = REAL_JUN_FAMILY["base rate"][2]
    for ratio, column in RATIOS.items():
        real[ratio] = f"({REAL_JUN_FAMILY[column][2] / base:.1f})"
    return real


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", nargs="+", type=Path, default=[Path("results/data/train")],
                        help="split folders of finished runs' data sets")
    parser.add_argument("--family", nargs="+", default=list(JUN_FAMILY),
                        help="TFs whose conditions make the pools (default: the JUN family)")
    parser.add_argument("--pool-size", type=int, default=5,
                        help="conditions per pool, as the real data's (default 5)")
    parser.add_argument("--pools", type=int, default=10, help="pools per split (default 10)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the pools' draw")
    parser.add_argument("--per-condition", action="store_true",
                        help="also print every condition's row (and every pool's)")
    args = parser.parse_args()
    if args.pool_size < 1 or args.pools < 1:
        parser.error(f"--pool-size ({args.pool_size}) and --pools ({args.pools}) must be >= 1")
    fmt = {"float_format": lambda v: f"{v:.3f}"}
    rows = []
    for data in args.data:
        table = statistics(data)
        if args.per_condition:
            print(f"\n{data}: every example")
            print(table.to_string(**fmt))
        rows.append(summary(table, f"{data}, every example"))
        pools = family_pools(list(table.index), tuple(args.family), args.pool_size, args.pools,
                             args.seed)
        if not pools:
            print(f"{data}: fewer than {args.pool_size} conditions of "
                  f"{', '.join(args.family)}; no pooled row", file=sys.stderr)
        pooled = []
        for pool in pools:
            kept = examples_around(data, pool)
            pool_table = statistics(data, pool, kept)
            if args.per_condition:
                print(f"\n{data}: {kept.sum()} of {kept.size} examples around the peaks of "
                      f"{', '.join(pool)}")
                print(pool_table.to_string(**fmt))
            pooled.append(pool_table)
        if pooled:
            row = summary(pd.concat(pooled), f"{data}, {len(pools)} pools of {args.pool_size} "
                          f"{'/'.join(args.family)} conditions")
            row["conditions"] = f"{len(pools)} x {args.pool_size}"
            rows.append(row)
    rows.append(real_row())
    print("\nmin-max (mean) over conditions, 1 bp, conserved labels; ratios: min-max (ratio of "
          "the means)")
    print(pd.DataFrame(rows).fillna("-").to_string(index=False))


if __name__ == "__main__":
    main()
