"""The paper's figures from metric files: read the tidy metric tables
(:mod:`nettime.evaluation`), shape them for :mod:`nettime.plots`, draw, and save the numbers.

Each ``figure_*`` function writes a PDF and a TSV of the numbers shown (atomically) and
returns those numbers.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np
import pandas as pd

from nettime import findings as claims
from nettime import plots
from nettime.files import atomic_output

PathLike = str | os.PathLike[str]


class FigureError(ValueError):
    """A metric file lacks what a figure needs."""


def read_metric(path: PathLike, method: str, metric: str) -> pd.DataFrame:
    """Per-condition values of one method and metric at 1 bp from a metric table.

    Returns
    -------
    pandas.DataFrame
        Columns ``condition``, ``value`` (float64), one row per condition.
    """
    table = pd.read_csv(path, sep="\t")
    rows = table[(table["method"] == method) & (table["metric"] == metric)
                 & (table["resolution"] == 1)]
    if rows.empty:
        raise FigureError(f"{path}: no rows with method {method!r}, metric {metric!r} at "
                          "resolution 1")
    return rows[["condition", "value"]].reset_index(drop=True)


def auprc(path: PathLike, method: str = "probability") -> pd.DataFrame:
    """Columns ``condition``, ``auprc`` of a metric table (method ``probability`` or a
    prediction-time variant)."""
    return read_metric(path, method, "auprc").rename(columns={"value": "auprc"})


def _write(numbers: pd.DataFrame, path: PathLike) -> None:
    with atomic_output(path) as tmp:
        numbers.to_csv(tmp, sep="\t", index=False)


def figure_multitask(arms: Mapping[str, PathLike], stl: Mapping[str, PathLike], pdf: PathLike,
                     tsv: PathLike, title: str, group_by: str = "condition") -> pd.DataFrame:
    """Fig 2: ``arms`` maps MTL / MTL-sampled to metric files (every panel condition);
    ``stl`` maps each condition to its single-task model's metric file."""
    parts = []
    conditions = list(stl)
    for arm, path in arms.items():
        table = auprc(path)
        parts.append(table[table["condition"].isin(conditions)].assign(arm=arm))
    for condition, path in stl.items():
        table = auprc(path)
        parts.append(table[table["condition"] == condition].assign(arm="STL"))
    table = pd.concat(parts, ignore_index=True)
    table["tf"] = table["condition"].str.split(".").str[0]
    numbers = plots.plot_multitask(table, pdf, title, group_by=group_by)
    _write(numbers, tsv)
    return numbers


def figure_feature_settings(settings: Mapping[str, PathLike], pdf: PathLike,
                            tsv: PathLike) -> pd.DataFrame:
    """Fig 3a / Table 4.1: ``settings`` maps a feature set to its model's metric file."""
    table = pd.concat([auprc(path).assign(feature_set=name)
                       for name, path in settings.items()], ignore_index=True)
    numbers = plots.plot_feature_settings(table, pdf, order=list(settings))
    _write(numbers, tsv)
    return numbers


def figure_embeddings_at_prediction(trained: PathLike, variants: Mapping[str, PathLike],
                                    pdf: PathLike, tsv: PathLike) -> pd.DataFrame:
    """Fig 4a / Table 4.2: ``variants`` maps random_tf / random_cell / random_both to the
    variant metric files of the model whose plain metric file is ``trained``."""
    from nettime.experiments import PREDICTION_VARIANTS

    parts = [auprc(trained).assign(tf_embedding="trained", ct_embedding="trained")]
    for variant, path in variants.items():
        tf_state, ct_state = PREDICTION_VARIANTS[variant]
        parts.append(auprc(path, method=variant).assign(tf_embedding=tf_state,
                                                        ct_embedding=ct_state))
    numbers = plots.plot_embeddings_at_prediction(pd.concat(parts, ignore_index=True), pdf)
    _write(numbers, tsv)
    return numbers


def figure_embeddings_at_training(variants: Mapping[str, PathLike], pdf: PathLike,
                                  tsv: PathLike) -> pd.DataFrame:
    """Fig 4b: ``variants`` maps trained / random TF / random CT / random both to metric
    files."""
    table = pd.concat([auprc(path).assign(variant=name) for name, path in variants.items()],
                      ignore_index=True)
    numbers = plots.plot_embeddings_at_training(table, pdf)
    _write(numbers, tsv)
    return numbers


def tf_embeddings(model_path: PathLike) -> tuple[np.ndarray, list[str]]:
    """Trained TF embedding rows float64 (n_tfs, d) of a model's TF vocabulary, and the names."""
    from nettime.model import load_model

    model = load_model(model_path)
    if model.tf_embed is None:
        raise FigureError(f"{model_path}: the model has no trained TF embeddings "
                          f"(embedding mode {model.config.embeddings!r})")
    names = list(model.config.tf_vocab)
    weights = model.tf_embed.weight.detach().double().numpy()[: len(names)]
    return weights, names


def figure_tf_embedding_map(model_path: PathLike, families: Mapping[str, str], pdf: PathLike,
                            tsv: PathLike) -> pd.DataFrame:
    """Fig 4c: t-SNE of a model's trained TF embeddings, families marked."""
    weights, names = tf_embeddings(model_path)
    numbers = plots.plot_tf_embedding_map(weights, names, families, pdf)
    _write(numbers, tsv)
    return numbers


def figure_binary_calls(metrics: PathLike, thresholds: PathLike, pdf: PathLike,
                        tsv: PathLike) -> pd.DataFrame:
    """Fig 7 / thesis Figs 4.9-4.10 from a model's test metric table and threshold curve."""
    iou = pd.concat([read_metric(metrics, m, "iou").assign(method=m)
                     for m in ("threshold", "crf")], ignore_index=True)
    transitions = pd.concat([read_metric(metrics, m, "transitions_pct").assign(method=m)
                             for m in ("target", "threshold", "crf")], ignore_index=True)
    curve = pd.read_csv(thresholds, sep="\t")
    best = curve.loc[curve["best"].astype(bool), "threshold"]
    if len(best) != 1:
        raise FigureError(f"{thresholds}: expected one row marked best, found {len(best)}")
    numbers = plots.plot_binary_calls(iou.rename(columns={"value": "iou"}),
                                      transitions.rename(columns={"value": "transitions"}),
                                      curve[["threshold", "iou"]], float(best.iloc[0]), pdf)
    _write(numbers, tsv)
    return numbers


def findings(fig2: Mapping[str, PathLike], features: PathLike | None,
             at_prediction: PathLike | None, at_training: PathLike | None,
             embedding_model: PathLike | None, families: Mapping[str, str],
             crf: PathLike | None, out: PathLike) -> pd.DataFrame:
    """The findings table (:func:`nettime.findings.findings_table`) from the figures' TSVs.

    ``fig2`` maps a panel name to its Fig 2 numbers; the claims of a figure not given are
    left out.
    """
    paper_fig2 = {"jund": ("Fig 2a", "MTL > STL, p < 0.05 (paper)"),
                  "jun_family": ("Fig 2b", "MTL > STL, p < 0.05 (paper)")}
    rows = []
    for panel, path in fig2.items():
        numbers = pd.read_csv(path, sep="\t")
        figure, paper = paper_fig2.get(panel, ("thesis Fig 4.4", "MTL > STL (thesis)"))
        rows.append(claims.mtl_beats_stl(numbers, f"mtl_{panel}", panel, figure, paper))
        rows.append(claims.sampled_does_not_beat_stl(numbers, f"sampled_{panel}", panel,
                                                     figure, "no significant gain (paper)"))
    if features is not None:
        settings = pd.read_csv(features, sep="\t")
        rows.append(claims.cell_type_features_help(settings))
        rows.append(claims.motif_features_add_little(settings))
    if at_prediction is not None:
        rows.append(claims.random_at_prediction_hurts(pd.read_csv(at_prediction, sep="\t")))
    if at_training is not None:
        rows.append(claims.tf_embeddings_matter_more(pd.read_csv(at_training, sep="\t")))
    if embedding_model is not None:
        weights, names = tf_embeddings(embedding_model)
        rows.append(claims.related_tfs_are_closer(weights, names, families))
    if crf is not None:
        rows.append(claims.crf_matches_threshold(pd.read_csv(crf, sep="\t")))
    table = claims.findings_table(rows)
    _write(table, out)
    return table


__all__ = ["FigureError", "auprc", "figure_binary_calls", "figure_embeddings_at_prediction",
           "figure_embeddings_at_training", "figure_feature_settings", "figure_multitask",
           "figure_tf_embedding_map", "findings", "read_metric", "tf_embeddings"]
