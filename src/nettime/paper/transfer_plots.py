"""Per-condition auPRC of several prediction strategies ("arms") on the same target conditions
(the transfer figures Fig 5b, Supp Fig S5, thesis Fig 4.7, Fig 6a, and the reference figure of
the base model against its untrained inputs), with paired one-sided Wilcoxon tests between
named pairs of arms.

:func:`read_arms` builds the tidy table from the metric TSVs (an arm's scores may come from one
table holding every target, or from one table per target: a model fine-tuned per condition);
:func:`plot_arms` draws it and returns the numbers shown.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from nettime.evaluation.statistics import describe, wilcoxon_p
from nettime.files import PathLike
from nettime.paper.plots import format_p, pyplot, save_figure

#: Colours of the arms, by the start of their label.
ARM_COLOURS = (("Supervised", "#555555"), ("Embedding Transfer", "#1b6ca8"),
               ("Trained Embedding", "#1b6ca8"), ("Average Train", "#e07b39"),
               ("No Embedding", "#6a9e3f"), ("Random Embedding", "#8e6bb5"),
               ("Catchitt", "#c9a227"), ("Leopard", "#a33b3b"), ("NetTIME", "#1b6ca8"),
               ("DNase", "#b5b5b5"), ("sum of assays", "#8c8c8c"), ("motif", "#d9b38c"),
               ("oracle", "#333333"))


def _colour(arm: str) -> str:
    for start, colour in ARM_COLOURS:
        if arm.startswith(start) or arm.startswith(f"NetTIME {start}"):
            return colour
    return "#999999"


class ArmError(ValueError):
    """A metric table lacks a target condition of a transfer figure; names the file."""


def _scores(path: PathLike, method: str) -> pd.DataFrame:
    table = pd.read_csv(path, sep="\t")
    rows = table[(table["method"] == method) & (table["metric"] == "auprc")
                 & (table["resolution"] == 1)]
    return rows[["condition", "value"]].rename(columns={"value": "auprc"})


def read_arms(arms: Mapping[str, Any], conditions: Sequence[str],
              methods: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Per-condition test auPRC at 1 bp of every arm on the target ``conditions``.

    Parameters
    ----------
    arms
        Label -> a metric table (every target in one file) or a mapping target -> metric table.
    conditions
        The targets; every arm must score each one.
    methods
        Label -> the ``method`` rows to read (``probability``, or a prediction variant such as
        ``average_train``); ``probability`` where not given.

    Returns
    -------
    pandas.DataFrame
        Columns ``arm``, ``condition``, ``auprc`` (float64), one row per arm and target.
    """
    methods = methods or {}
    frames = []
    for label, source in arms.items():
        method = methods.get(label, "probability")
        paths = source if isinstance(source, Mapping) else dict.fromkeys(conditions, source)
        cache: dict[str, pd.DataFrame] = {}
        for condition in conditions:
            path = os.fspath(paths[condition])
            if path not in cache:
                cache[path] = _scores(path, method)
            found = cache[path][cache[path]["condition"] == condition]
            if found.empty:
                raise ArmError(f"{path}: no {method} auPRC at 1 bp of {condition} (arm "
                               f"{label!r})")
            frames.append(pd.DataFrame({"arm": [label], "condition": [condition],
                                        "auprc": [float(found["auprc"].iloc[0])]}))
    return pd.concat(frames, ignore_index=True)


def compare_arms(table: pd.DataFrame, tests: Sequence[tuple[str, str]]) -> pd.DataFrame:
    """Summaries and paired tests of a :func:`read_arms` table.

    Returns
    -------
    pandas.DataFrame
        Rows ``kind`` = ``score`` (arm, condition, value), ``mean``/``sd``/``sem``/``n`` (arm,
        value) and ``test`` (arm = the better-expected arm, other, value = one-sided Wilcoxon
        p-value of arm > other, mean_difference).
    """
    wide = table.pivot_table(index="condition", columns="arm", values="auprc")
    arms = list(dict.fromkeys(table["arm"]))
    rows: list[dict[str, Any]] = [{"kind": "score", "arm": r.arm, "condition": r.condition,
                                   "value": r.auprc} for r in table.itertuples()]
    for arm in arms:
        rows += [{"kind": stat, "arm": arm, "condition": "all", "value": value}
                 for stat, value in describe(wide[arm].dropna()).items()]
    for better, other in tests:
        if better not in wide or other not in wide:
            continue
        both = wide[[better, other]].dropna()
        rows.append({"kind": "test", "arm": better, "other": other, "condition": "all",
                     "value": wilcoxon_p(both[better], both[other], alternative="greater"),
                     "mean_difference": float((both[better] - both[other]).mean())
                     if len(both) else float("nan"), "n_pairs": len(both)})
    return pd.DataFrame(rows)


def plot_arms(table: pd.DataFrame, path: str | os.PathLike[str], title: str,
              tests: Sequence[tuple[str, str]], note: str = "") -> pd.DataFrame:
    """Bars (mean ± SEM over targets) per arm, each target's scores joined by a grey line, and
    the p-values of ``tests`` (one-sided Wilcoxon, first arm greater) beside the plot.

    Parameters
    ----------
    table
        Columns ``arm``, ``condition``, ``auprc`` (:func:`read_arms`).
    tests
        Pairs (arm expected better, other arm).

    Returns
    -------
    pandas.DataFrame
        :func:`compare_arms` of the table.
    """
    plt = pyplot()
    numbers = compare_arms(table, tests)
    arms = list(dict.fromkeys(table["arm"]))
    wide = table.pivot_table(index="condition", columns="arm", values="auprc")[arms]
    fig, ax = plt.subplots(figsize=(1.1 * len(arms) + 2.8, 3.6))
    for i, arm in enumerate(arms):
        summary = describe(wide[arm].dropna())
        ax.bar(i, summary["mean"], yerr=summary["sem"], capsize=4, color=_colour(arm),
               alpha=0.85, hatch="//" if "tuned" in arm else None, edgecolor="white")
    x = np.arange(len(arms))
    for _, values in wide.iterrows():
        ax.plot(x, values.to_numpy(), color="#888888", linewidth=0.6, marker="o",
                markersize=2.5, zorder=3)
    ax.set_xticks(x, arms, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("auPRC at 1 bp (test), mean ± SEM")
    ax.set_title(f"{title} (n = {len(wide)} conditions)", fontsize=9)
    lines = [f"{a} > {b}: {format_p(p)}" for a, b, p in
             numbers.loc[numbers["kind"] == "test", ["arm", "other", "value"]].itertuples(
                 index=False)]
    if note:
        lines.append(note)
    ax.text(1.02, 0.98, "\n".join(lines), transform=ax.transAxes, va="top", fontsize=7)
    save_figure(fig, path)
    return numbers
