"""One function per figure of the paper, drawn from tidy tables of measured metrics.

Every function takes a pandas table of per-condition scores (built by the figure rules from the
metric TSVs), draws the figure into a PDF written atomically, and returns the numbers shown as a
table, which the rules save beside the figure. Nothing here computes a model score: the numbers
come from ``results/metrics``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nettime.evaluation.statistics import cosine_distances, describe, wilcoxon_p
from nettime.files import atomic_output

ARM_ORDER = ["MTL", "MTL-sampled", "STL"]
ARM_COLOURS = {"MTL": "#1b6ca8", "MTL-sampled": "#8fbcdb", "STL": "#e07b39"}


def pyplot() -> Any:
    """matplotlib.pyplot with the file-only Agg backend, imported on first use (the workflow
    imports this package's registry at parse time, where matplotlib would only slow it down)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot

    return matplotlib.pyplot


def save_figure(fig: Any, path: str | os.PathLike[str]) -> None:
    """Write a figure (format from the file's suffix) atomically and close it."""
    with atomic_output(path, suffix=Path(path).suffix) as tmp:
        fig.savefig(tmp, format=Path(path).suffix.lstrip(".") or "pdf", bbox_inches="tight")
    pyplot().close(fig)


def _by_condition(table: pd.DataFrame, column: str, order: Sequence[str]
                  ) -> tuple[list[str], pd.DataFrame]:
    """The values of ``column`` present in ``order``, and auPRC with one row per condition and
    one column per value (conditions missing any value dropped)."""
    present = [v for v in order if v in set(table[column])]
    wide = table.pivot_table(index="condition", columns=column, values="auprc")
    return present, wide[present].dropna()


def format_p(p: float) -> str:
    """A p-value as the figures print it."""
    return "p = n/a" if not np.isfinite(p) else f"p = {p:.2g}"


def plot_multitask(table: pd.DataFrame, path: str | os.PathLike[str], title: str,
                   group_by: str = "condition") -> pd.DataFrame:
    """Fig 2 / thesis Figs 4.3-4.4: per-condition auPRC of MTL, MTL-sampled and STL.

    Parameters
    ----------
    table
        Columns ``condition``, ``arm`` (one of MTL, MTL-sampled, STL), ``auprc``; one row per
        (condition, arm). Optional column ``tf`` when ``group_by="tf"``.
    path
        The PDF to write.
    title
        Figure title.
    group_by
        ``"condition"`` draws one group of bars per condition (Fig 2); ``"tf"`` averages the
        conditions of each TF in the left panel (thesis Fig 4.4).

    Returns
    -------
    pandas.DataFrame
        The numbers shown: per group and arm the score, then per arm mean/SD/SEM, and the
        Wilcoxon signed-rank p-values of MTL vs STL and MTL-sampled vs STL across conditions.
    """
    plt = pyplot()
    wide = table.pivot_table(index="condition", columns="arm", values="auprc")
    arms = [a for a in ARM_ORDER if a in wide.columns]
    wide = wide.dropna(subset=arms)
    if group_by == "tf":
        tfs = table.drop_duplicates("condition").set_index("condition")["tf"]
        left = wide.groupby(tfs.reindex(wide.index)).mean()
    else:
        left = wide
    fig, (ax_left, ax_right) = plt.subplots(
        1, 2, figsize=(max(6.0, 1.0 + 0.6 * len(left) * len(arms) / 2), 3.6),
        gridspec_kw={"width_ratios": [max(2, len(left)), 1.4]})
    x = np.arange(len(left))
    width = 0.8 / len(arms)
    for i, arm in enumerate(arms):
        ax_left.bar(x + (i - (len(arms) - 1) / 2) * width, left[arm], width, label=arm,
                    color=ARM_COLOURS[arm])
    ax_left.set_xticks(x, left.index, rotation=45, ha="right")
    ax_left.set_ylabel("auPRC (test, 1 bp)")
    ax_left.legend(frameon=False, fontsize=8)
    rows = []
    for group, values in left.iterrows():
        for arm in arms:
            rows.append({"kind": "score", "group": group, "arm": arm, "value": values[arm]})
    summaries = {arm: describe(wide[arm]) for arm in arms}
    ax_right.bar(range(len(arms)), [summaries[a]["mean"] for a in arms],
                 yerr=[summaries[a]["sem"] for a in arms], capsize=4,
                 color=[ARM_COLOURS[a] for a in arms])
    ax_right.set_xticks(range(len(arms)), arms, rotation=45, ha="right")
    ax_right.set_title("mean over conditions (± SEM)", fontsize=9)
    for arm in arms:
        for stat in ("mean", "sd", "sem", "n"):
            rows.append({"kind": stat, "group": "all", "arm": arm,
                         "value": summaries[arm][stat]})
    texts = []
    for other in ("MTL", "MTL-sampled"):
        if other in arms and "STL" in arms:
            p = wilcoxon_p(wide[other], wide["STL"])
            rows.append({"kind": "wilcoxon_p", "group": "all", "arm": f"{other} vs STL",
                         "value": p})
            texts.append(f"{other} vs STL: {format_p(p)}")
    ax_right.text(0.02, 0.98, "\n".join(texts), transform=ax_right.transAxes, va="top",
                  fontsize=7)
    fig.suptitle(title, fontsize=10)
    save_figure(fig, path)
    return pd.DataFrame(rows)


def plot_feature_settings(table: pd.DataFrame, path: str | os.PathLike[str],
                          order: Sequence[str] = ("Seq", "Seq+TF", "Seq+CT", "Seq+CT+TF"),
                          ) -> pd.DataFrame:
    """Fig 3a / thesis Table 4.1: auPRC (mean ± SD over conditions) per input feature setting.

    Parameters
    ----------
    table
        Columns ``feature_set``, ``condition``, ``auprc``.

    Returns
    -------
    pandas.DataFrame
        One row per feature setting: mean, sd, sem, n; plus Wilcoxon p-values of each setting
        against Seq and of Seq+CT+TF against Seq+CT (paired by condition).
    """
    plt = pyplot()
    present, wide = _by_condition(table, "feature_set", order)
    rows = []
    for name in present:
        row = {"feature_set": name, **describe(wide[name])}
        row["p_vs_Seq"] = wilcoxon_p(wide[name], wide["Seq"]) if (
            name != "Seq" and "Seq" in present) else float("nan")
        rows.append(row)
    result = pd.DataFrame(rows)
    if {"Seq+CT", "Seq+CT+TF"} <= set(present):
        result["p_vs_Seq+CT"] = [wilcoxon_p(wide["Seq+CT+TF"], wide["Seq+CT"])
                                 if n == "Seq+CT+TF" else float("nan") for n in present]
    fig, ax = plt.subplots(figsize=(4.2, 3.4))
    ax.bar(range(len(present)), result["mean"], yerr=result["sd"], capsize=4,
           color="#1b6ca8")
    for i, name in enumerate(present):
        ax.scatter(np.full(len(wide), i) + np.linspace(-0.2, 0.2, len(wide)), wide[name],
                   s=6, color="black", zorder=3)
    ax.set_xticks(range(len(present)), present, rotation=30, ha="right")
    ax.set_ylabel("auPRC (test, 1 bp), mean ± SD")
    ax.set_title("NetTIME input feature settings", fontsize=10)
    save_figure(fig, path)
    return result


def plot_embeddings_at_prediction(table: pd.DataFrame,
                                  path: str | os.PathLike[str]) -> pd.DataFrame:
    """Fig 4a / thesis Table 4.2: trained vs random TF and cell-type embeddings at prediction.

    Parameters
    ----------
    table
        Columns ``tf_embedding`` and ``ct_embedding`` (``trained`` or ``random``),
        ``condition``, ``auprc``.

    Returns
    -------
    pandas.DataFrame
        The 2 x 2 table in long form (mean, sd, sem, n) with the relative drop of the mean from
        the trained/trained cell and the Wilcoxon p-value against it.
    """
    plt = pyplot()
    table = table.assign(cell=table["tf_embedding"] + "/" + table["ct_embedding"])
    wide = table.pivot_table(index="condition", columns="cell", values="auprc").dropna()
    reference = wide["trained/trained"]
    rows = []
    grid = np.full((2, 2), np.nan)
    labels = [["", ""], ["", ""]]
    states = ["random", "trained"]
    for i, ct in enumerate(states):
        for j, tf in enumerate(states):
            key = f"{tf}/{ct}"
            if key not in wide.columns:
                continue
            summary = describe(wide[key])
            drop = 1.0 - summary["mean"] / reference.mean()
            p = wilcoxon_p(wide[key], reference) if key != "trained/trained" else np.nan
            rows.append({"tf_embedding": tf, "ct_embedding": ct, **summary,
                         "relative_drop": drop, "p_vs_trained": p})
            grid[i, j] = summary["mean"]
            labels[i][j] = f"{summary['mean']:.3f}\n± {summary['sd']:.3f}"
    fig, ax = plt.subplots(figsize=(3.8, 3.2))
    image = ax.imshow(grid, cmap="Blues", vmin=0, vmax=max(1e-9, np.nanmax(grid)))
    for i in range(2):
        for j in range(2):
            ax.text(j, i, labels[i][j], ha="center", va="center", fontsize=8,
                    color="white" if grid[i, j] > 0.6 * np.nanmax(grid) else "black")
    ax.set_xticks([0, 1], ["random", "trained"])
    ax.set_yticks([0, 1], ["random", "trained"])
    ax.set_xlabel("TF embeddings")
    ax.set_ylabel("cell-type embeddings")
    ax.set_title("auPRC with embeddings replaced at prediction", fontsize=9)
    fig.colorbar(image, ax=ax, shrink=0.8)
    save_figure(fig, path)
    return pd.DataFrame(rows)


def plot_embeddings_at_training(table: pd.DataFrame, path: str | os.PathLike[str],
                                order: Sequence[str] = ("trained", "random TF", "random CT",
                                                        "random both")) -> pd.DataFrame:
    """Fig 4b: models trained with fixed random embedding vectors vs trained embeddings.

    Parameters
    ----------
    table
        Columns ``variant`` (trained, random TF, random CT, random both), ``condition``,
        ``auprc``.

    Returns
    -------
    pandas.DataFrame
        Per variant: mean, sd, sem, n, the relative drop of the mean from ``trained`` and the
        Wilcoxon p-value against it.
    """
    plt = pyplot()
    present, wide = _by_condition(table, "variant", order)
    rows = []
    for name in present:
        summary = describe(wide[name])
        rows.append({"variant": name, **summary,
                     "relative_drop": 1.0 - summary["mean"] / wide["trained"].mean(),
                     "p_vs_trained": wilcoxon_p(wide[name], wide["trained"])
                     if name != "trained" else float("nan")})
    result = pd.DataFrame(rows)
    fig, ax = plt.subplots(figsize=(4.2, 3.4))
    ax.bar(range(len(present)), result["mean"], yerr=result["sem"], capsize=4,
           color=["#1b6ca8"] + ["#bbbbbb"] * (len(present) - 1))
    ax.set_xticks(range(len(present)), present, rotation=30, ha="right")
    ax.set_ylabel("auPRC (test, 1 bp), mean ± SEM")
    ax.set_title("embeddings random at training time", fontsize=10)
    save_figure(fig, path)
    return result


def plot_tf_embedding_map(embeddings: np.ndarray, names: Sequence[str],
                          families: Mapping[str, str], path: str | os.PathLike[str],
                          seed: int = 0) -> pd.DataFrame:
    """Fig 4c: t-SNE of trained TF embedding vectors, TF families marked.

    Parameters
    ----------
    embeddings
        float (n_tfs, d): the trained TF embedding rows of the TFs in ``names``.
    names
        TF names, one per row.
    families
        TF -> family name, for TFs in a family with more than one member of the panel.
    seed
        t-SNE random state.

    Returns
    -------
    pandas.DataFrame
        Per TF: its family, the two t-SNE coordinates and, in the full embedding space, the
        cosine distance to its nearest family member (NaN for singletons).
    """
    plt = pyplot()
    from sklearn.manifold import TSNE

    embeddings = np.asarray(embeddings, dtype=np.float64)
    n = len(names)
    perplexity = float(min(5.0, max(1.0, (n - 1) / 3)))
    coords = TSNE(n_components=2, perplexity=perplexity, random_state=seed,
                  init="pca").fit_transform(embeddings)
    distance = cosine_distances(embeddings)
    rows = []
    for i, name in enumerate(names):
        family = families.get(name, "")
        mates = [j for j, other in enumerate(names) if j != i and family
                 and families.get(other) == family]
        rows.append({"tf": name, "family": family or "-", "x": coords[i, 0], "y": coords[i, 1],
                     "nearest_family_distance": min(distance[i, j] for j in mates)
                     if mates else float("nan")})
    result = pd.DataFrame(rows)
    fig, ax = plt.subplots(figsize=(4.4, 4.0))
    palette = plt.get_cmap("tab10")
    family_names = sorted({f for f in result["family"] if f != "-"})
    for _, row in result.iterrows():
        colour = (palette(family_names.index(row["family"]) % 10) if row["family"] != "-"
                  else "#777777")
        ax.scatter(row["x"], row["y"], color=colour, s=40)
        ax.annotate(row["tf"], (row["x"], row["y"]), fontsize=7, xytext=(3, 3),
                    textcoords="offset points")
    for i, family in enumerate(family_names):
        ax.scatter([], [], color=palette(i % 10), label=family)
    if family_names:
        ax.legend(frameon=False, fontsize=7, title="family", title_fontsize=7)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title("t-SNE of trained TF embeddings", fontsize=10)
    save_figure(fig, path)
    return result


def plot_binary_calls(iou: pd.DataFrame, transitions: pd.DataFrame, curve: pd.DataFrame,
                      best_threshold: float, path: str | os.PathLike[str]) -> pd.DataFrame:
    """Fig 7 and thesis Figs 4.9-4.10: probability threshold vs CRF.

    Parameters
    ----------
    iou
        Columns ``condition``, ``method`` (threshold, crf), ``iou`` (test split).
    transitions
        Columns ``condition``, ``method`` (target, threshold, crf), ``transitions``: the
        percentage of label transitions per sequence.
    curve
        Columns ``threshold``, ``iou``: the validation IOU of each random threshold.
    best_threshold
        The threshold chosen on validation.

    Returns
    -------
    pandas.DataFrame
        Per panel and method: mean, sd, sem, n; the Wilcoxon p-values threshold vs CRF; the
        best threshold and its validation IOU.
    """
    plt = pyplot()
    fig, (ax_curve, ax_iou, ax_tr) = plt.subplots(1, 3, figsize=(10.0, 3.3))
    curve = curve.sort_values("threshold")
    ax_curve.plot(curve["threshold"], curve["iou"], ".", markersize=3, color="#1b6ca8")
    best_iou = float(curve.loc[curve["threshold"] == best_threshold, "iou"].max())
    ax_curve.plot([best_threshold], [best_iou], "o", color="#e07b39",
                  label=f"best {best_threshold:.4f}: IOU {best_iou:.3f}")
    ax_curve.set_xlabel("probability threshold")
    ax_curve.set_ylabel("IOU (validation)")
    ax_curve.legend(frameon=False, fontsize=7)
    rows = [{"panel": "threshold_curve", "method": "best", "stat": "threshold",
             "value": best_threshold},
            {"panel": "threshold_curve", "method": "best", "stat": "iou", "value": best_iou}]

    def bars(ax, frame: pd.DataFrame, column: str, methods: list[str], ylabel: str,
             panel: str) -> None:
        wide = frame.pivot_table(index="condition", columns="method", values=column).dropna()
        methods = [m for m in methods if m in wide.columns]
        sums = {m: describe(wide[m]) for m in methods}
        ax.bar(range(len(methods)), [sums[m]["mean"] for m in methods],
               yerr=[sums[m]["sem"] for m in methods], capsize=4,
               color=["#777777" if m == "target" else "#1b6ca8" if m == "threshold"
                      else "#e07b39" for m in methods])
        ax.set_xticks(range(len(methods)), methods)
        ax.set_ylabel(ylabel)
        for m in methods:
            for stat, value in sums[m].items():
                rows.append({"panel": panel, "method": m, "stat": stat, "value": value})
        if {"threshold", "crf"} <= set(methods):
            p = wilcoxon_p(wide["threshold"], wide["crf"])
            rows.append({"panel": panel, "method": "threshold vs crf", "stat": "wilcoxon_p",
                         "value": p})
            ax.set_title(f"threshold vs CRF: {format_p(p)}", fontsize=8)

    bars(ax_iou, iou, "iou", ["threshold", "crf"], "IOU (test), mean ± SEM", "iou")
    bars(ax_tr, transitions, "transitions", ["target", "threshold", "crf"],
         "label transitions per sequence (%)", "transitions")
    save_figure(fig, path)
    return pd.DataFrame(rows)
