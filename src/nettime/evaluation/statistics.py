"""Statistics across conditions: summaries (mean, SD, SEM), paired Wilcoxon signed-rank tests of
per-condition scores, and distances between embedding vectors.

Array functions (:func:`describe`, :func:`wilcoxon_p`) take per-condition scores; table
functions (:func:`summarize`, :func:`paired_wilcoxon`, :func:`wilcoxon_table`) take tidy metric
tables (columns model, condition, split, method, resolution, metric, value).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from nettime.files import PathLike, atomic_output

_KEYS = ["model", "split", "method", "resolution", "metric"]


def describe(values: Sequence[float]) -> dict[str, float]:
    """Mean, SD (ddof 1), SEM and count of a set of per-condition scores."""
    array = np.asarray(values, dtype=np.float64)
    n = int(array.size)
    sd = float(array.std(ddof=1)) if n > 1 else float("nan")
    return {"mean": float(array.mean()) if n else float("nan"), "sd": sd,
            "sem": sd / np.sqrt(n) if n > 1 else float("nan"), "n": n}


def wilcoxon_p(a: Sequence[float], b: Sequence[float],
               alternative: str = "two-sided") -> float:
    """p-value of the Wilcoxon signed-rank test of paired scores (NaN when undefined)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.size < 2 or np.allclose(a, b):
        return float("nan")
    from scipy import stats  # imported here: slow, and unused by most importers

    return float(stats.wilcoxon(a, b, alternative=alternative).pvalue)


def summarize(table: pd.DataFrame) -> pd.DataFrame:
    """Mean, SD and SEM across conditions of a tidy metric table.

    Parameters
    ----------
    table : DataFrame
        Columns model, condition, split, method, resolution, metric, value.

    Returns
    -------
    DataFrame
        One row per (model, split, method, resolution, metric) with n (conditions with a
        finite value), mean, sd (ddof 1; NaN for one condition) and sem = sd / sqrt(n).
    """
    finite = table[np.isfinite(table["value"].astype(float))]
    grouped = finite.groupby(_KEYS, sort=True)["value"]
    out = grouped.agg(n="count", mean="mean", sd=lambda v: v.std(ddof=1)).reset_index()
    out["sem"] = out["sd"] / np.sqrt(out["n"])
    return out


def paired_wilcoxon(
    table: pd.DataFrame,
    metric: str,
    a: dict[str, object],
    b: dict[str, object],
    alternative: str = "two-sided",
) -> dict[str, float | int]:
    """Wilcoxon signed-rank test between two methods paired by condition.

    Parameters
    ----------
    table : DataFrame
        Tidy metric rows (model, condition, split, method, resolution, metric, value); may hold
        several models and methods.
    metric : str
        Metric to compare, e.g. ``"auprc"``.
    a, b : dict
        Column values selecting each side, e.g. ``{"model": "mtl", "method": "crf"}``; the
        columns not named must single out one value per condition.
    alternative : str
        Passed to ``scipy.stats.wilcoxon``.

    Returns
    -------
    dict
        n (paired conditions), statistic, pvalue, mean_a, mean_b.
    """
    sides = []
    for selection in (a, b):
        rows = table[table["metric"] == metric]
        for column, value in selection.items():
            rows = rows[rows[column] == value]
        if rows["condition"].duplicated().any():
            raise ValueError(f"selection {selection} gives several rows for one condition")
        sides.append(rows.set_index("condition")["value"].astype(float))
    paired = pd.concat(sides, axis=1, join="inner", keys=["a", "b"]).dropna()
    if len(paired) == 0:
        raise ValueError(f"no condition has both {a} and {b} for metric {metric!r}")
    from scipy import stats

    result = stats.wilcoxon(paired["a"].to_numpy(), paired["b"].to_numpy(),
                            alternative=alternative)
    return {"n": len(paired), "statistic": float(result.statistic),
            "pvalue": float(result.pvalue), "mean_a": float(paired["a"].mean()),
            "mean_b": float(paired["b"].mean())}


# Pairs of methods compared within one model by default (metric, method a, method b).
DEFAULT_PAIRS = (
    ("iou", "crf", "threshold"),
    ("transitions_pct", "crf", "threshold"),
    ("transitions_pct", "crf", "target"),
    ("transitions_pct", "threshold", "target"),
)


def wilcoxon_table(table: pd.DataFrame,
                   pairs: Sequence[tuple[str, str, str]] = DEFAULT_PAIRS) -> pd.DataFrame:
    """Paired Wilcoxon signed-rank tests between methods, per model and split, at 1 bp.

    Returns
    -------
    DataFrame
        model, split, metric, method_a, method_b, n, statistic, pvalue, mean_a, mean_b; pairs
        with fewer than two conditions are left out.
    """
    out = []
    at_bp = table[table["resolution"] == 1]
    for (model, split), group in at_bp.groupby(["model", "split"], sort=True):
        for metric, a, b in pairs:
            subset = group[group["metric"] == metric]
            common = (set(subset.loc[subset["method"] == a, "condition"])
                      & set(subset.loc[subset["method"] == b, "condition"]))
            if len(common) < 2:
                continue
            result = paired_wilcoxon(subset, metric, {"method": a}, {"method": b})
            out.append({"model": model, "split": split, "metric": metric, "method_a": a,
                        "method_b": b, **result})
    columns = ["model", "split", "metric", "method_a", "method_b", "n", "statistic", "pvalue",
               "mean_a", "mean_b"]
    return pd.DataFrame(out, columns=columns)


def cosine_distances(vectors: np.ndarray) -> np.ndarray:
    """Pairwise cosine distances, float64 (n, n), of float rows (n, d)."""
    vectors = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = vectors / np.where(norms == 0, 1.0, norms)
    return 1.0 - unit @ unit.T


def write_summaries(table: PathLike, summary: PathLike, wilcoxon: PathLike) -> None:
    """:func:`summarize` and :func:`wilcoxon_table` of a metric table file, as TSVs."""
    frame = pd.read_csv(table, sep="\t")
    for function, out in ((summarize, summary), (wilcoxon_table, wilcoxon)):
        with atomic_output(out) as tmp:
            function(frame).to_csv(tmp, sep="\t", index=False)
