"""Figures from tidy metric files (nettime.paper.draw): the right rows reach each plot."""

import numpy as np
import pandas as pd
import pytest

from nettime.paper import draw

CONDITIONS = ["JUND.K562", "JUND.HepG2", "JUND.A549", "JUN.K562", "JUN.HepG2"]


def metric_file(path, scores, method="probability", extra=()):
    rows = [("m", c, "test", method, 1, "auprc", s) for c, s in scores.items()]
    rows += [("m", c, "test", method, 100, "auprc", 0.99) for c in scores]  # other resolution
    rows += list(extra)
    pd.DataFrame(rows, columns=["model", "condition", "split", "method", "resolution",
                                "metric", "value"]).to_csv(path, sep="\t", index=False)
    return path


def test_multitask_reads_each_stl_condition_from_its_own_model(tmp_path):
    jund = CONDITIONS[:3]
    mtl = metric_file(tmp_path / "mtl.tsv", {c: 0.5 for c in jund})
    sampled = metric_file(tmp_path / "sampled.tsv", {c: 0.3 for c in jund})
    stl = {c: metric_file(tmp_path / f"{c}.tsv", {c: 0.1 * (i + 1), "JUN.K562": 0.9})
           for i, c in enumerate(jund)}
    numbers = draw.draw_multitask({"arms": {"MTL": mtl, "MTL-sampled": sampled}, "stl": stl},
                                  {"title": "JUND", "group_by": "condition"},
                                  tmp_path / "f.pdf", tmp_path / "f.tsv")
    scores = numbers[numbers["kind"] == "score"].set_index(["group", "arm"])["value"]
    assert scores[("JUND.A549", "STL")] == pytest.approx(0.3)
    assert scores[("JUND.K562", "MTL")] == pytest.approx(0.5)
    assert len(scores) == 9  # JUN.K562 of an STL file is not a panel condition
    assert pd.read_csv(tmp_path / "f.tsv", sep="\t").shape == numbers.shape


def test_embeddings_at_prediction_reads_the_variant_method(tmp_path):
    trained = metric_file(tmp_path / "t.tsv", {c: 0.6 for c in CONDITIONS})
    variants = {v: metric_file(tmp_path / f"{v}.tsv", {c: s for c in CONDITIONS}, method=v)
                for v, s in (("random_tf", 0.3), ("random_cell", 0.5), ("random_both", 0.2))}
    numbers = draw.draw_embeddings_at_prediction({"trained": trained, "variants": variants}, {},
                                                 tmp_path / "a.pdf", tmp_path / "a.tsv")
    cell = numbers.set_index(["tf_embedding", "ct_embedding"])["mean"]
    assert cell[("random", "random")] == pytest.approx(0.2)
    assert cell[("random", "trained")] == pytest.approx(0.3)


def test_binary_calls_and_a_missing_metric(tmp_path):
    extra = [("m", c, "test", m, 1, "iou", 0.4) for c in CONDITIONS for m in ("threshold", "crf")]
    extra += [("m", c, "test", m, 1, "transitions_pct", v) for c in CONDITIONS
              for m, v in (("target", 0.1), ("threshold", 0.9), ("crf", 0.2))]
    metrics = metric_file(tmp_path / "m.tsv", {c: 0.5 for c in CONDITIONS}, extra=extra)
    curve = pd.DataFrame({"threshold": np.linspace(0.1, 0.9, 5),
                          "iou": [0.1, 0.3, 0.4, 0.2, 0.1]})
    curve["best"] = curve["iou"] == 0.4
    curve.to_csv(tmp_path / "thr.tsv", sep="\t", index=False)
    numbers = draw.draw_binary_calls({"metrics": metrics, "thresholds": tmp_path / "thr.tsv"}, {},
                                     tmp_path / "c.pdf", tmp_path / "c.tsv")
    stat = numbers.set_index(["panel", "method", "stat"])["value"]
    assert stat[("transitions", "crf", "mean")] == pytest.approx(0.2)
    assert stat[("threshold_curve", "best", "threshold")] == pytest.approx(0.5)
    with pytest.raises(draw.FigureError, match="no rows with method 'crf'"):
        draw.read_metric(metrics, "crf", "auprc")


def method_file(path, scores_by_resolution, metric="auprc"):
    """A metric table with one method's per-condition scores at several resolutions."""
    rows = [("m", c, "test", "probability", w, metric, s)
            for w, scores in scores_by_resolution.items() for c, s in scores.items()]
    pd.DataFrame(rows, columns=["model", "condition", "split", "method", "resolution",
                                "metric", "value"]).to_csv(path, sep="\t", index=False)
    return path


def test_centre_resolutions_test_the_reference_against_each_method(tmp_path):
    better = {w: {c: 0.6 + 0.01 * i for i, c in enumerate(CONDITIONS)} for w in (200, 1000)}
    worse = {w: {c: 0.3 + 0.01 * i for i, c in enumerate(CONDITIONS)} for w in (200, 1000)}
    files = {"methods": {"NetTIME": method_file(tmp_path / "n.tsv", better, "auprc_centre"),
                         "Catchitt": method_file(tmp_path / "c.tsv", worse, "auprc_centre")}}
    numbers = draw.draw_centre_resolutions(files, {"reference": "NetTIME"}, tmp_path / "b.pdf",
                                           tmp_path / "b.tsv")
    row = numbers.set_index(["resolution", "method"])
    assert row.loc[(200, "Catchitt"), "mean"] == pytest.approx(0.32)
    # Five conditions all better: the smallest one-sided exact p-value, 1/32.
    assert row.loc[(1000, "Catchitt"), "p_NetTIME_greater"] == pytest.approx(1 / 32)


def test_resolution_curves_keep_missing_scores_missing(tmp_path):
    widths = (1, 20, 50)
    nettime = {w: {c: 0.5 for c in CONDITIONS} for w in widths}
    binned = {1: {c: 0.2 for c in CONDITIONS}, 20: {c: float("nan") for c in CONDITIONS},
              50: {c: 0.4 for c in CONDITIONS}}
    files = {"methods": {"NetTIME": method_file(tmp_path / "n.tsv", nettime),
                         "Catchitt": method_file(tmp_path / "c.tsv", binned)}}
    numbers = draw.draw_resolution_curves(files, {"reference": "NetTIME"},
                                          tmp_path / "r.pdf", tmp_path / "r.tsv")
    row = numbers.set_index(["method", "resolution"])
    assert row.loc[("Catchitt", 20), "n"] == 0 and np.isnan(row.loc[("Catchitt", 20), "mean"])
    assert row.loc[("Catchitt", 50), "mean"] == pytest.approx(0.4)


def test_method_table_puts_each_method_in_its_column(tmp_path):
    cells = {"NetTIME": {"Seq": metric_file(tmp_path / "s.tsv", {c: 0.4 for c in CONDITIONS}),
                         "Seq+CT": metric_file(tmp_path / "ct.tsv",
                                               {c: 0.5 for c in CONDITIONS})},
             "DeepBind": {"Seq": metric_file(tmp_path / "d.tsv", {c: 0.1 for c in CONDITIONS})}}
    numbers = draw.draw_method_table({"cells": cells}, {"columns": ["Seq", "Seq+CT"]},
                                     tmp_path / "t.pdf", tmp_path / "t.tsv")
    table = numbers.set_index(["method", "feature_set"])
    assert table.loc[("DeepBind", "Seq"), "mean"] == pytest.approx(0.1)
    assert ("DeepBind", "Seq+CT") not in table.index and len(table) == 3
