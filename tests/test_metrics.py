"""Metrics against scikit-learn, scipy and hand-worked examples."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import auc, average_precision_score, precision_recall_curve

from nettime import metrics
from nettime.evaluation.statistics import paired_wilcoxon, summarize


def _random_scores(rng, n, positive_rate=0.2):
    labels = (rng.random(n) < positive_rate).astype(np.uint8)
    # Scores that depend on labels, with many ties once rounded to float16.
    scores = np.clip(rng.normal(0.3 + 0.3 * labels, 0.2), 0, 1).astype(np.float16)
    return scores, labels


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_auprc_and_ap_equal_sklearn(seed):
    rng = np.random.default_rng(seed)
    scores, labels = _random_scores(rng, 5000)
    precision, recall, thresholds = precision_recall_curve(labels, scores.astype(np.float64))
    expected_auprc = auc(recall, precision)
    expected_ap = average_precision_score(labels, scores.astype(np.float64))

    ours = metrics.pr_curve(scores, labels)
    for got, want in zip(ours, (precision, recall, thresholds), strict=True):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    assert metrics.auprc(scores, labels) == pytest.approx(expected_auprc, abs=1e-9)
    assert metrics.average_precision(scores, labels) == pytest.approx(expected_ap, abs=1e-9)

    # Streaming over blocks gives the same numbers.
    accumulator = metrics.PRAccumulator()
    for block in np.array_split(np.arange(len(scores)), 7):
        accumulator.add(scores[block], labels[block])
    assert accumulator.n_positive == labels.sum()
    assert accumulator.auprc() == pytest.approx(expected_auprc, abs=1e-9)
    assert accumulator.average_precision() == pytest.approx(expected_ap, abs=1e-9)


def test_accumulator_on_2d_blocks_and_signed_zero():
    scores = np.array([[0.0, -0.0, 0.5], [0.5, 1.0, 0.25]], dtype=np.float16)
    labels = np.array([[0, 1, 1], [0, 1, 0]], dtype=np.uint8)
    accumulator = metrics.PRAccumulator()
    accumulator.add(scores, labels)
    want = auc(*precision_recall_curve(labels.ravel(), scores.ravel().astype(float))[1::-1])
    assert accumulator.auprc() == pytest.approx(want, abs=1e-12)
    assert len(accumulator.curve()[2]) == 4  # 0, 0.25, 0.5, 1: +0 and -0 are one score


def test_accumulator_refuses_other_dtypes_and_no_positives_is_nan():
    accumulator = metrics.PRAccumulator()
    assert math.isnan(accumulator.auprc()) and math.isnan(accumulator.average_precision())
    with pytest.raises(TypeError):
        accumulator.add(np.zeros(3, dtype=np.float32), np.zeros(3))
    accumulator.add(np.array([0.1, 0.2], dtype=np.float16), np.array([0, 0]))
    assert math.isnan(accumulator.auprc())
    assert math.isnan(metrics.average_precision(np.array([0.1, 0.2]), np.array([0, 0])))


def test_binning_by_hand():
    scores = np.array([[0.1, 0.7, 0.2, 0.3, 0.9],
                       [0.0, 0.0, 0.4, 0.5, 0.1]], dtype=np.float16)
    labels = np.array([[0, 0, 0, 1, 0],
                       [0, 0, 0, 0, 0]], dtype=np.uint8)
    np.testing.assert_array_equal(
        metrics.bin_scores(scores, 2),
        np.array([[0.7, 0.3, 0.9], [0.0, 0.5, 0.1]], dtype=np.float16))
    np.testing.assert_array_equal(metrics.bin_labels(labels, 2), [[0, 1, 0], [0, 0, 0]])
    np.testing.assert_array_equal(metrics.bin_scores(scores, 5),
                                  np.array([[0.9], [0.5]], dtype=np.float16))
    np.testing.assert_array_equal(metrics.bin_labels(labels, 5), [[1], [0]])
    assert metrics.bin_scores(scores, 2).dtype == np.float16
    np.testing.assert_array_equal(metrics.bin_scores(scores, 1), scores)
    with pytest.raises(ValueError):
        metrics.bin_labels(labels, 0)
    assert metrics.resolutions([20, 1, 50, 20]) == [1, 20, 50]


def test_iou_edge_cases():
    empty = np.zeros((2, 4), dtype=np.uint8)
    some = np.array([[0, 1, 1, 0], [0, 0, 0, 1]], dtype=np.uint8)
    other = np.array([[0, 0, 1, 1], [0, 0, 0, 1]], dtype=np.uint8)
    assert metrics.iou(empty, empty) == 1.0
    assert metrics.iou(empty, some) == 0.0
    assert metrics.iou(some, empty) == 0.0
    assert metrics.iou(some, some) == 1.0
    assert metrics.iou(some, other) == pytest.approx(2 / 4)
    with pytest.raises(ValueError):
        metrics.iou(some, some[:, :3])


def test_transition_percentage():
    labels = np.array([[0, 0, 0, 0, 0], [0, 1, 1, 0, 0], [1, 0, 1, 0, 1]])
    np.testing.assert_allclose(metrics.transition_percentage(labels), [0.0, 50.0, 100.0])


def _table():
    rng = np.random.default_rng(3)
    rows = []
    for i in range(12):
        base = rng.random()
        for method, shift in (("threshold", 0.0), ("crf", 0.05)):
            rows.append({"model": "m", "condition": f"TF{i}.C", "split": "test",
                         "method": method, "resolution": 1, "metric": "iou",
                         "value": base + shift + rng.normal(0, 0.03)})
    return pd.DataFrame(rows)


def test_summary_mean_sd_sem():
    table = _table()
    summary = summarize(table)
    crf = summary[summary["method"] == "crf"].iloc[0]
    values = table[table["method"] == "crf"]["value"].to_numpy()
    assert crf["n"] == 12
    assert crf["mean"] == pytest.approx(values.mean())
    assert crf["sd"] == pytest.approx(values.std(ddof=1))
    assert crf["sem"] == pytest.approx(stats.sem(values))


def test_wilcoxon_matches_scipy_with_pairing_by_condition():
    table = _table().sample(frac=1.0, random_state=0)  # rows out of order
    result = paired_wilcoxon(table, "iou", {"method": "crf"}, {"method": "threshold"})
    ordered = _table()
    a = ordered[ordered["method"] == "crf"]["value"].to_numpy()
    b = ordered[ordered["method"] == "threshold"]["value"].to_numpy()
    expected = stats.wilcoxon(a, b)
    assert result["n"] == 12
    assert result["statistic"] == pytest.approx(expected.statistic)
    assert result["pvalue"] == pytest.approx(expected.pvalue)
    with pytest.raises(ValueError, match="no condition"):
        paired_wilcoxon(table, "auprc", {"method": "crf"}, {"method": "threshold"})


def test_centre_scores_take_the_maximum_over_the_centre():
    scores = np.array([[0.1, 0.9, 0.2, 0.3, 0.8, 0.0], [0.5, 0.1, 0.2, 0.1, 0.4, 0.6]])
    labels = np.array([[1, 0, 0, 0, 0, 0], [0, 0, 1, 0, 0, 0]])
    best, bound = metrics.centre_scores(scores, labels, 2)  # bases 2 and 3
    np.testing.assert_array_equal(best, [0.3, 0.2])
    np.testing.assert_array_equal(bound, [0, 1])
    with pytest.raises(ValueError, match="centre width 7"):
        metrics.centre_scores(scores, labels, 7)
