"""How learnable a data set is from its free inputs, beside the same statistics on real data.

Per condition of a finished run's data set (a split's folder under ``results/data/``), at
1 bp against the conserved labels:

- base rate: the fraction of bases labelled bound (the auPRC of a random score);
- DNase auPRC: the cell type's DNase z-score (ATAC without DNase) as the score;
- motif auPRC: the TF's motif channel (larger strand), where the data set has one;
- motif ±150 auPRC: the same channel's maximum within 150 bp of each base (half a simulated
  peak): how much a model that learned to spread a motif hit over its peak could get from it;
- each as a ratio to the base rate.

Then the mean over conditions beside the statistics of real ENCODE data of the JUN family
(hg19, DNase, 1000-bp examples around the pooled merged peaks of 5 conditions), which the
simulator aims to resemble. The scores are those of ``nettime.evaluation.reference`` (the
reference rows of every figure).

    snakemake --cores 2                                 # a finished default run
    python benchmarks/data_statistics.py                # results/data/train
    python benchmarks/data_statistics.py --data results/data/test other/results/data/test
"""

from __future__ import annotations

import argparse
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


def base_rates(data: Path, conditions: list[str], block_size: int = 4096) -> dict[str, float]:
    """Condition -> fraction of bases in its conserved labels that are bound."""
    rates = {}
    with open_dataset(data) as dataset:
        for condition in conditions:
            positives = total = 0
            for start in range(0, dataset.n_examples, block_size):
                labels = dataset.read_labels(condition, "conserved", start,
                                             min(start + block_size, dataset.n_examples))
                positives += int(labels.sum())
                total += labels.size
            rates[condition] = positives / max(total, 1)
    return rates


def pooled_motif_auprc(data: Path, conditions: list[str], half_width: int = 150,
                       block_size: int = 1024) -> dict[str, float]:
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
                motif = dataset.read_motifs(tf, start, stop).max(axis=-1)
                pooled = maximum_filter1d(motif, 2 * half_width + 1, axis=1)
                curve.add(pooled.astype(np.float16), dataset.read_labels(condition, "conserved",
                                                                          start, stop))
            scores[condition] = curve.auprc()
    return scores


def statistics(data: Path) -> pd.DataFrame:
    """One row per condition of the data set: base rate, DNase and motif auPRC, ratios."""
    with open_dataset(data) as dataset:
        conditions = list(dataset.conditions)
    scores = reference_scores(data, data.name, conditions, progress=False)
    wide = scores.pivot_table(index="condition", columns="method", values="value")
    table = pd.DataFrame({"base rate": pd.Series(base_rates(data, conditions))})
    table["DNase auPRC"] = wide.get("dnase")
    table["motif auPRC"] = wide.get("motif")
    table["motif ±150 auPRC"] = pd.Series(pooled_motif_auprc(data, conditions), dtype=float)
    table["DNase / base"] = table["DNase auPRC"] / table["base rate"]
    table["motif / base"] = table["motif auPRC"] / table["base rate"]
    return table


def summary(table: pd.DataFrame, label: str) -> dict[str, object]:
    """min-max (mean) of each statistic over the conditions."""
    row: dict[str, object] = {"data": label, "conditions": len(table)}
    for column in table.columns:
        values = table[column].dropna()
        row[column] = (f"{values.min():.3f}-{values.max():.3f} ({values.mean():.3f})"
                       if len(values) else "-")
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", nargs="+", type=Path, default=[Path("results/data/train")],
                        help="split folders of finished runs' data sets")
    parser.add_argument("--per-condition", action="store_true",
                        help="also print every condition's row")
    args = parser.parse_args()
    rows = []
    for data in args.data:
        table = statistics(data)
        if args.per_condition:
            print(f"\n{data}")
            print(table.to_string(float_format=lambda v: f"{v:.3f}"))
        rows.append(summary(table, str(data)))
    real: dict[str, object] = {"data": "ENCODE JUN family (real, hg19)", "conditions": 5}
    for name, (low, high, mean) in REAL_JUN_FAMILY.items():
        real[name] = f"{low:.3f}-{high:.3f} ({mean:.3f})" if low is not None else f"({mean})"
    base = REAL_JUN_FAMILY["base rate"][2]
    real["DNase / base"] = f"({REAL_JUN_FAMILY['DNase auPRC'][2] / base:.1f})"
    real["motif / base"] = f"({REAL_JUN_FAMILY['motif auPRC'][2] / base:.1f})"
    rows.append(real)
    print("\nmin-max (mean) over conditions, 1 bp, conserved labels")
    print(pd.DataFrame(rows).fillna("-").to_string(index=False))


if __name__ == "__main__":
    main()
