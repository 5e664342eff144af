"""NetTIME against other methods: Fig 3b (auPRC of the centre 200 bp and of the whole 1000-bp
example), Fig 3c (auPRC at 1 bp), thesis Fig 4.5 (auPRC against the bin width) and thesis
Table 4.1 (every method and feature setting at 1 bp).

Every function takes a tidy table of per-condition scores (built from the metric TSVs by
:mod:`nettime.paper.draw`), draws the figure into a PDF written atomically, and returns the
numbers shown. The baselines are reimplementations (:mod:`nettime.baselines`); the figures say
so. One-sided Wilcoxon signed-rank tests (NetTIME greater), as the paper.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from nettime.evaluation.statistics import describe, wilcoxon_p
from nettime.paper.plots import format_p, pyplot, save_figure

#: Colours of the methods in every comparison figure.
METHOD_COLOURS = {"NetTIME": "#1b6ca8", "NetTIME Seq+DNase": "#1b6ca8", "Catchitt": "#e07b39",
                  "Leopard": "#6a9e3f", "DeepBind": "#8e6bb5"}
REIMPLEMENTED = "baselines reimplemented here (Leopard-, Catchitt-, DeepBind-style)"


def _colour(method: str) -> str:
    return METHOD_COLOURS.get(method, "#777777")


def _paired(table: pd.DataFrame, reference: str, other: str) -> float:
    """One-sided Wilcoxon p-value of ``reference`` > ``other`` over shared conditions."""
    wide = table.pivot_table(index="condition", columns="method", values="auprc")
    if reference not in wide or other not in wide:
        return float("nan")
    both = wide[[reference, other]].dropna()
    return wilcoxon_p(both[reference], both[other], alternative="greater")


def plot_centre_resolutions(table: pd.DataFrame, path: str | os.PathLike[str],
                            reference: str) -> pd.DataFrame:
    """Fig 3b: auPRC of the maximum over the centre of each example, per method.

    Parameters
    ----------
    table
        Columns ``method``, ``condition``, ``resolution`` (centre width, bp), ``auprc``.
    reference
        The method the others are tested against (NetTIME).

    Returns
    -------
    pandas.DataFrame
        Per resolution and method: mean, sd, sem, n, and the one-sided Wilcoxon p-value of
        ``reference`` > the method.
    """
    plt = pyplot()
    resolutions = sorted(table["resolution"].unique())
    methods = list(dict.fromkeys(table["method"]))
    fig, axes = plt.subplots(1, len(resolutions), figsize=(3.2 * len(resolutions), 3.4),
                             squeeze=False)
    rows = []
    for ax, resolution in zip(axes[0], resolutions, strict=True):
        at = table[table["resolution"] == resolution]
        texts = []
        for i, method in enumerate(methods):
            values = at.loc[at["method"] == method, "auprc"].dropna()
            summary = describe(values)
            ax.bar(i, summary["mean"], yerr=summary["sem"], capsize=4, color=_colour(method))
            ax.scatter(np.full(len(values), i) + np.linspace(-0.2, 0.2, len(values)),
                       values, s=6, color="black", zorder=3)
            p = _paired(at, reference, method) if method != reference else float("nan")
            rows.append({"resolution": resolution, "method": method, **summary,
                         f"p_{reference}_greater": p})
            if method != reference:
                texts.append(f"vs {method}: {format_p(p)}")
        ax.set_xticks(range(len(methods)), methods, rotation=30, ha="right")
        ax.set_title(f"centre {resolution} bp", fontsize=9)
        ax.text(0.02, 0.98, "\n".join(texts), transform=ax.transAxes, va="top", fontsize=7)
    axes[0][0].set_ylabel("auPRC (test), mean ± SEM")
    fig.suptitle(f"{reference} vs baselines ({REIMPLEMENTED})", fontsize=8)
    save_figure(fig, path)
    return pd.DataFrame(rows)


def plot_paired_methods(table: pd.DataFrame, path: str | os.PathLike[str], reference: str,
                        other: str, resolution: int = 1) -> pd.DataFrame:
    """Fig 3c: per-condition auPRC of two methods at one resolution, against each other.

    Parameters
    ----------
    table
        Columns ``method``, ``condition``, ``auprc`` (at ``resolution``).

    Returns
    -------
    pandas.DataFrame
        Per condition the two scores; then per method mean, sd, sem, n; and the one-sided
        Wilcoxon p-value of ``reference`` > ``other``.
    """
    plt = pyplot()
    wide = table.pivot_table(index="condition", columns="method", values="auprc")
    wide = wide[[reference, other]].dropna()
    p = wilcoxon_p(wide[reference], wide[other], alternative="greater")
    fig, ax = plt.subplots(figsize=(3.6, 3.6))
    ax.scatter(wide[other], wide[reference], s=14, color=_colour(reference))
    top = float(np.nanmax(wide.to_numpy())) * 1.05 if len(wide) else 1.0
    ax.plot([0, top], [0, top], color="#999999", linewidth=0.8)
    ax.set_xlabel(f"{other} auPRC ({resolution} bp)")
    ax.set_ylabel(f"{reference} auPRC ({resolution} bp)")
    ax.set_title(f"{reference} > {other}: {format_p(p)}\n({REIMPLEMENTED})", fontsize=7)
    save_figure(fig, path)
    rows = [{"kind": "score", "condition": c, "method": m, "value": v}
            for c, values in wide.iterrows() for m, v in values.items()]
    for method in (reference, other):
        rows += [{"kind": stat, "condition": "all", "method": method, "value": value}
                 for stat, value in describe(wide[method]).items()]
    rows.append({"kind": f"p_{reference}_greater", "condition": "all", "method": other,
                 "value": p})
    return pd.DataFrame(rows)


def plot_resolution_curves(table: pd.DataFrame, path: str | os.PathLike[str],
                           reference: str) -> pd.DataFrame:
    """Thesis Fig 4.5: auPRC (mean ± SEM over conditions) against the bin width, per method.

    A method with no score at a resolution (a binned method at widths finer than its bins)
    has NaN there and is drawn with a gap, not as 0.

    Parameters
    ----------
    table
        Columns ``method``, ``condition``, ``resolution`` (bp), ``auprc`` (NaN: no score).

    reference
        The method the others are tested against at each resolution.

    Returns
    -------
    pandas.DataFrame
        Per method and resolution: mean, sd, sem, n (n 0 and NaN where there is no score), and
        the one-sided Wilcoxon p-value of ``reference`` > the method.
    """
    plt = pyplot()
    rows = []
    fig, ax = plt.subplots(figsize=(4.6, 3.6))
    for method, group in table.groupby("method", sort=False):
        points = []
        for resolution, at in group.groupby("resolution"):
            summary = describe(at["auprc"].dropna())
            p = (_paired(table[table["resolution"] == resolution], reference, method)
                 if method != reference else float("nan"))
            rows.append({"method": method, "resolution": resolution, **summary,
                         f"p_{reference}_greater": p})
            points.append((resolution, summary["mean"], summary["sem"]))
        x, mean, sem = (np.array(v, dtype=np.float64) for v in zip(*points, strict=True))
        ax.errorbar(x, mean, yerr=np.nan_to_num(sem), marker="o", markersize=3, capsize=3,
                    label=method, color=_colour(method))
    ax.set_xscale("log")
    ax.set_xlabel("bin width (bp)")
    ax.set_ylabel("auPRC (test), mean ± SEM")
    ax.legend(frameon=False, fontsize=7)
    ax.set_title(f"resolution ({REIMPLEMENTED};\nno score: gap)", fontsize=7)
    save_figure(fig, path)
    return pd.DataFrame(rows)


def plot_method_table(table: pd.DataFrame, path: str | os.PathLike[str],
                      columns: Sequence[str]) -> pd.DataFrame:
    """Thesis Table 4.1: auPRC at 1 bp, mean ± SD over conditions, per method (rows) and
    input feature setting (columns); NA where a method has no such setting.

    Parameters
    ----------
    table
        Columns ``method``, ``feature_set``, ``condition``, ``auprc``.
    columns
        Feature settings in the order of the table's columns.

    Returns
    -------
    pandas.DataFrame
        One row per (method, feature setting) present: mean, sd, sem, n.
    """
    plt = pyplot()
    rows = []
    for (method, feature_set), group in table.groupby(["method", "feature_set"], sort=False):
        rows.append({"method": method, "feature_set": feature_set,
                     **describe(group["auprc"].dropna())})
    result = pd.DataFrame(rows)
    methods = list(dict.fromkeys(result["method"]))
    cells = []
    for method in methods:
        line = []
        for feature_set in columns:
            match = result[(result["method"] == method) & (result["feature_set"] == feature_set)]
            line.append("NA" if match.empty else
                        f"{match['mean'].iloc[0]:.3f} ± {match['sd'].iloc[0]:.3f} "
                        f"(n={int(match['n'].iloc[0])})")
        cells.append(line)
    fig, ax = plt.subplots(figsize=(1.9 * (len(columns) + 1), 0.45 * (len(methods) + 2)))
    ax.axis("off")
    ax.table(cellText=cells, rowLabels=methods, colLabels=list(columns), loc="center",
             cellLoc="center").scale(1.0, 1.4)
    ax.set_title(f"auPRC at 1 bp, mean ± SD ({REIMPLEMENTED})", fontsize=8)
    save_figure(fig, path)
    return result
