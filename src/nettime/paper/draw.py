"""Draw one figure from its input files: read the tidy metric tables
(:mod:`nettime.evaluation.evaluate`) and other tables a figure reads, shape them for
:mod:`nettime.paper.plots`, draw the PDF and save the numbers shown as a TSV beside it.

Every ``draw_*`` function has the signature of :attr:`nettime.paper.figures.Figure.draw`:
``(files, params, pdf, tsv) -> numbers``, where ``files`` holds the figure's input files by role
and ``params`` what else it needs, both as planned by the figure's declaration. Outputs are
written atomically.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from nettime.files import PathLike, atomic_output
from nettime.layout import RANDOM_EMBEDDING_VARIANTS
from nettime.paper import comparisons, plots, transfer_plots


class FigureError(ValueError):
    """An input file lacks what a figure needs; the message names the file."""


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


def read_embeddings(path: PathLike, kind: str = "tf") -> tuple[np.ndarray, list[str]]:
    """Rows of one kind (``tf`` or ``cell``) of an embeddings table
    (:func:`nettime.models.network.export_embeddings`): float64 (n, d) and the names."""
    table = pd.read_csv(path, sep="\t", float_precision="round_trip")
    rows = table[table["kind"] == kind]
    if rows.empty:
        raise FigureError(f"{path}: no trained {kind} embeddings (the model's embedding mode "
                          "has none)")
    vectors = rows.drop(columns=["kind", "name"]).to_numpy(np.float64)
    return vectors, list(rows["name"])


def write_numbers(numbers: pd.DataFrame, path: PathLike) -> None:
    """A figure's numbers as TSV, atomically."""
    with atomic_output(path) as tmp:
        numbers.to_csv(tmp, sep="\t", index=False)


def _finish(numbers: pd.DataFrame, tsv: PathLike) -> pd.DataFrame:
    write_numbers(numbers, tsv)
    return numbers


def draw_multitask(files: Mapping[str, Any], params: Mapping[str, Any], pdf: PathLike,
                   tsv: PathLike) -> pd.DataFrame:
    """Fig 2: ``files["arms"]`` maps MTL / MTL-sampled to metric files (every panel
    condition); ``files["stl"]`` maps each condition to its single-task model's metric file;
    ``params``: ``title``, ``group_by``."""
    parts = []
    conditions = list(files["stl"])
    for arm, path in files["arms"].items():
        table = auprc(path)
        parts.append(table[table["condition"].isin(conditions)].assign(arm=arm))
    for condition, path in files["stl"].items():
        table = auprc(path)
        parts.append(table[table["condition"] == condition].assign(arm="STL"))
    table = pd.concat(parts, ignore_index=True)
    table["tf"] = table["condition"].str.split(".").str[0]
    return _finish(plots.plot_multitask(table, pdf, params["title"],
                                        group_by=params["group_by"]), tsv)


def draw_feature_settings(files: Mapping[str, Any], params: Mapping[str, Any], pdf: PathLike,
                          tsv: PathLike) -> pd.DataFrame:
    """Fig 3a / Table 4.1: ``files["settings"]`` maps a feature set to its model's metric
    file."""
    settings = files["settings"]
    table = pd.concat([auprc(path).assign(feature_set=name)
                       for name, path in settings.items()], ignore_index=True)
    return _finish(plots.plot_feature_settings(table, pdf, order=list(settings)), tsv)


def draw_embeddings_at_prediction(files: Mapping[str, Any], params: Mapping[str, Any],
                                  pdf: PathLike, tsv: PathLike) -> pd.DataFrame:
    """Fig 4a / Table 4.2: ``files["trained"]`` is a model's metric file, ``files["variants"]``
    maps random_tf / random_cell / random_both to its variant metric files."""
    parts = [auprc(files["trained"]).assign(tf_embedding="trained", ct_embedding="trained")]
    for variant, path in files["variants"].items():
        tf_random, cell_random = RANDOM_EMBEDDING_VARIANTS[variant]
        parts.append(auprc(path, method=variant).assign(
            tf_embedding="random" if tf_random else "trained",
            ct_embedding="random" if cell_random else "trained"))
    return _finish(plots.plot_embeddings_at_prediction(pd.concat(parts, ignore_index=True),
                                                       pdf), tsv)


def draw_embeddings_at_training(files: Mapping[str, Any], params: Mapping[str, Any],
                                pdf: PathLike, tsv: PathLike) -> pd.DataFrame:
    """Fig 4b: ``files["variants"]`` maps trained / random TF / random CT / random both to
    metric files."""
    table = pd.concat([auprc(path).assign(variant=name)
                       for name, path in files["variants"].items()], ignore_index=True)
    return _finish(plots.plot_embeddings_at_training(table, pdf), tsv)


def draw_tf_embedding_map(files: Mapping[str, Any], params: Mapping[str, Any], pdf: PathLike,
                          tsv: PathLike) -> pd.DataFrame:
    """Fig 4c: t-SNE of a model's trained TF embeddings (``files["embeddings"]``), families
    (``params["families"]``: TF -> family) marked."""
    weights, names = read_embeddings(files["embeddings"])
    return _finish(plots.plot_tf_embedding_map(weights, names, params["families"], pdf), tsv)


def draw_binary_calls(files: Mapping[str, Any], params: Mapping[str, Any], pdf: PathLike,
                      tsv: PathLike) -> pd.DataFrame:
    """Fig 7 / thesis Figs 4.9-4.10 from a model's test metric table (``files["metrics"]``)
    and validation threshold curve (``files["thresholds"]``)."""
    metrics, thresholds = files["metrics"], files["thresholds"]
    iou = pd.concat([read_metric(metrics, m, "iou").assign(method=m)
                     for m in ("threshold", "crf")], ignore_index=True)
    transitions = pd.concat([read_metric(metrics, m, "transitions_pct").assign(method=m)
                             for m in ("target", "threshold", "crf")], ignore_index=True)
    curve = pd.read_csv(thresholds, sep="\t")
    best = curve.loc[curve["best"].astype(bool), "threshold"]
    if len(best) != 1:
        raise FigureError(f"{thresholds}: expected one row marked best, found {len(best)}")
    return _finish(plots.plot_binary_calls(iou.rename(columns={"value": "iou"}),
                                           transitions.rename(columns={"value": "transitions"}),
                                           curve[["threshold", "iou"]], float(best.iloc[0]),
                                           pdf), tsv)


def read_scores(path: PathLike, metric: str = "auprc", method: str = "probability"
                ) -> pd.DataFrame:
    """Per-condition values of one method and metric at every resolution of a metric table.

    Returns
    -------
    pandas.DataFrame
        Columns ``condition``, ``resolution`` (int), ``auprc`` (float64; NaN where the method
        has no score at that resolution).
    """
    table = pd.read_csv(path, sep="\t")
    rows = table[(table["method"] == method) & (table["metric"] == metric)]
    if rows.empty:
        raise FigureError(f"{path}: no rows with method {method!r}, metric {metric!r}")
    return rows[["condition", "resolution", "value"]].rename(columns={"value": "auprc"})


def _methods(files: Mapping[str, PathLike], metric: str) -> pd.DataFrame:
    return pd.concat([read_scores(path, metric).assign(method=name)
                      for name, path in files.items()], ignore_index=True)


def draw_centre_resolutions(files: Mapping[str, Any], params: Mapping[str, Any], pdf: PathLike,
                            tsv: PathLike) -> pd.DataFrame:
    """Fig 3b: ``files["methods"]`` maps a method's label to its metric file (NetTIME's
    first); auPRC of the centre of each example at every centre width."""
    table = _methods(files["methods"], "auprc_centre")
    return _finish(comparisons.plot_centre_resolutions(table, pdf, params["reference"]), tsv)


def draw_paired_methods(files: Mapping[str, Any], params: Mapping[str, Any], pdf: PathLike,
                        tsv: PathLike) -> pd.DataFrame:
    """Fig 3c: the auPRC at ``params["resolution"]`` of ``params["reference"]`` against
    ``params["other"]``, from the metric files of ``files["methods"]``."""
    table = _methods(files["methods"], "auprc")
    table = table[table["resolution"] == params["resolution"]]
    return _finish(comparisons.plot_paired_methods(table, pdf, params["reference"],
                                                   params["other"], params["resolution"]), tsv)


def draw_resolution_curves(files: Mapping[str, Any], params: Mapping[str, Any], pdf: PathLike,
                           tsv: PathLike) -> pd.DataFrame:
    """Thesis Fig 4.5: auPRC at every bin width of each method of ``files["methods"]``, each
    tested against ``params["reference"]``."""
    return _finish(comparisons.plot_resolution_curves(_methods(files["methods"], "auprc"),
                                                      pdf, params["reference"]), tsv)


def draw_method_table(files: Mapping[str, Any], params: Mapping[str, Any], pdf: PathLike,
                      tsv: PathLike) -> pd.DataFrame:
    """Thesis Table 4.1: ``files["cells"]`` maps a method to {feature setting: metric file};
    auPRC at 1 bp; columns in the order of ``params["columns"]``."""
    table = pd.concat([auprc(path).assign(method=method, feature_set=feature_set)
                       for method, settings in files["cells"].items()
                       for feature_set, path in settings.items()], ignore_index=True)
    return _finish(comparisons.plot_method_table(table, pdf, params["columns"]), tsv)


def draw_transfer(files: Mapping[str, Any], params: Mapping[str, Any], pdf: PathLike,
                  tsv: PathLike) -> pd.DataFrame:
    """Fig 5b, Supp Fig S5, thesis Fig 4.7, Fig 6a: ``files["arms"]`` maps an arm's label to
    a metric table or to {target: metric table}; ``params``: ``conditions`` (the targets),
    ``methods`` (label -> method rows, e.g. ``average_train``), ``tests`` (pairs), ``title``,
    ``note``."""
    table = transfer_plots.read_arms(files["arms"], params["conditions"],
                                     params.get("methods"))
    tests = [tuple(pair) for pair in params["tests"]]
    return _finish(transfer_plots.plot_arms(table, pdf, params["title"], tests,
                                            params.get("note", "")), tsv)
