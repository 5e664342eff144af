"""Figure functions draw real PDFs and return the numbers they show."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from nettime.paper import plots


@pytest.fixture
def rng():
    return np.random.default_rng(3)


def _is_pdf(path) -> bool:
    return path.read_bytes()[:5] == b"%PDF-"


def test_multitask_figure_numbers(tmp_path, rng):
    conditions = [f"JUND.c{i}" for i in range(6)]
    stl = rng.uniform(0.2, 0.5, 6)
    table = pd.DataFrame(
        [{"condition": c, "tf": "JUND", "arm": arm, "auprc": v}
         for arm, values in (("MTL", stl + 0.1), ("MTL-sampled", stl - 0.02), ("STL", stl))
         for c, v in zip(conditions, values, strict=True)])
    numbers = plots.plot_multitask(table, tmp_path / "f.pdf", "JUND")
    assert _is_pdf(tmp_path / "f.pdf")
    means = numbers[numbers["kind"] == "mean"].set_index("arm")["value"]
    assert means["MTL"] == pytest.approx((stl + 0.1).mean())
    p = numbers[numbers["kind"] == "wilcoxon_p"].set_index("arm")["value"]
    assert p["MTL vs STL"] == pytest.approx(stats.wilcoxon(stl + 0.1, stl).pvalue)
    by_tf = plots.plot_multitask(table, tmp_path / "g.pdf", "JUND", group_by="tf")
    assert set(by_tf.loc[by_tf["kind"] == "score", "group"]) == {"JUND"}


def test_feature_settings_table(tmp_path, rng):
    base = rng.uniform(0.1, 0.3, 8)
    table = pd.DataFrame(
        [{"feature_set": fs, "condition": f"c{i}", "auprc": v + shift}
         for fs, shift in (("Seq", 0), ("Seq+TF", 0.001), ("Seq+CT", 0.2), ("Seq+CT+TF", 0.2))
         for i, v in enumerate(base)])
    result = plots.plot_feature_settings(table, tmp_path / "f.pdf").set_index("feature_set")
    assert list(result.index) == ["Seq", "Seq+TF", "Seq+CT", "Seq+CT+TF"]
    assert result.loc["Seq+CT", "mean"] == pytest.approx(base.mean() + 0.2)
    assert result.loc["Seq", "sd"] == pytest.approx(base.std(ddof=1))
    assert result.loc["Seq+CT", "p_vs_Seq"] < 0.05


def test_embedding_tables(tmp_path, rng):
    base = rng.uniform(0.3, 0.6, 7)
    rows = []
    for tf_state, ct_state, factor in (("trained", "trained", 1.0), ("random", "trained", 0.6),
                                       ("trained", "random", 0.8), ("random", "random", 0.4)):
        rows += [{"tf_embedding": tf_state, "ct_embedding": ct_state, "condition": f"c{i}",
                  "auprc": v * factor} for i, v in enumerate(base)]
    result = plots.plot_embeddings_at_prediction(pd.DataFrame(rows), tmp_path / "a.pdf")
    both = result[(result["tf_embedding"] == "random") & (result["ct_embedding"] == "random")]
    assert both["relative_drop"].item() == pytest.approx(0.6)
    variants = pd.DataFrame([{"variant": v, "condition": f"c{i}", "auprc": x * f}
                             for v, f in (("trained", 1), ("random TF", 0.7),
                                          ("random CT", 0.99), ("random both", 0.65))
                             for i, x in enumerate(base)])
    trained = plots.plot_embeddings_at_training(variants, tmp_path / "b.pdf")
    assert trained.set_index("variant").loc["random TF", "relative_drop"] == pytest.approx(0.3)
    assert _is_pdf(tmp_path / "a.pdf") and _is_pdf(tmp_path / "b.pdf")


def test_tf_embedding_map_distances(tmp_path, rng):
    names = ["JUN", "JUNB", "JUND", "FOXA1", "FOXA2", "CTCF", "SP1"]
    centre = {"JUN": 0, "JUNB": 0, "JUND": 0, "FOXA1": 1, "FOXA2": 1, "CTCF": 2, "SP1": 3}
    anchors = rng.normal(size=(4, 16))
    vectors = np.stack([anchors[centre[n]] + 0.05 * rng.normal(size=16) for n in names])
    families = {"JUN": "AP-1", "JUNB": "AP-1", "JUND": "AP-1", "FOXA1": "FOXA", "FOXA2": "FOXA"}
    result = plots.plot_tf_embedding_map(vectors, names, families, tmp_path / "c.pdf")
    assert result.loc[result["tf"] == "CTCF", "nearest_family_distance"].isna().all()
    assert (result.dropna()["nearest_family_distance"] < 0.1).all()


def test_binary_calls_figure(tmp_path, rng):
    conditions = [f"c{i}" for i in range(5)]
    iou = pd.DataFrame([{"condition": c, "method": m, "iou": rng.uniform(0.3, 0.4)}
                        for c in conditions for m in ("threshold", "crf")])
    transitions = pd.DataFrame([{"condition": c, "method": m, "transitions": t}
                                for c in conditions
                                for m, t in (("target", 0.2), ("threshold", 1.5), ("crf", 0.25))])
    curve = pd.DataFrame({"threshold": rng.uniform(0, 1, 300)})
    curve["iou"] = np.exp(-((curve["threshold"] - 0.3) ** 2) * 10)
    best = float(curve.loc[curve["iou"].idxmax(), "threshold"])
    result = plots.plot_binary_calls(iou, transitions, curve, best, tmp_path / "d.pdf")
    stat = result.set_index(["panel", "method", "stat"])["value"]
    assert stat[("transitions", "threshold", "mean")] == pytest.approx(1.5)
    assert stat[("threshold_curve", "best", "threshold")] == best
    assert _is_pdf(tmp_path / "d.pdf")
