"""File glue: threshold search, CRF fitting, calls (HDF5 + BED) and the metric table.

Predictions and data sets are real HDF5 files made here (the data set through the pipeline's
writer, :func:`nettime.data.writer.write_dataset_arrays`).
"""

import h5py
import numpy as np
import pandas as pd
import pytest

from nettime import metrics
from nettime.calls.crf import crf_calls, fit_crf
from nettime.calls.sites import call_split, merge_sorted, runs, write_sites
from nettime.calls.thresholds import search_threshold
from nettime.data.predictions import PredictionError
from nettime.data.writer import write_dataset_arrays
from nettime.evaluation.evaluate import COLUMNS, evaluate_split
from nettime.evaluation.statistics import summarize, wilcoxon_table

CONDITIONS = ["JUND.K562", "CTCF.HepG2"]
LENGTH = 60


@pytest.fixture
def split_files(tmp_path):
    rng = np.random.default_rng(0)
    n = 40
    labels, probabilities = {}, {}
    for condition in CONDITIONS:
        y = np.zeros((n, LENGTH), dtype=np.uint8)
        for row in y:
            start = rng.integers(0, LENGTH - 20)
            row[start:start + rng.integers(8, 20)] = 1
        logits = np.where(y == 1, 1.0, -1.0) + rng.normal(0, 1.0, y.shape)
        labels[condition] = y
        probabilities[condition] = (1 / (1 + np.exp(-logits))).astype(np.float16)
    data = tmp_path / "data.h5"
    # Overlapping windows on chr1 (step 40 < LENGTH) to exercise the merge.
    starts = np.r_[np.arange(30) * 40, np.arange(10) * 1000].astype(np.int64)
    coordinates = pd.DataFrame({"chrom": ["chr1"] * 30 + ["chr8"] * 10, "start": starts,
                                "end": starts + LENGTH})
    sequence = rng.integers(0, 4, (n, LENGTH)).astype(np.uint8)
    write_dataset_arrays(data, sequence, labels, coordinates=coordinates)
    predictions = tmp_path / "pred.h5"
    with h5py.File(predictions, "w") as handle:
        for condition, p in probabilities.items():
            handle[f"prob/{condition}"] = p
    return predictions, data, labels, probabilities


def test_runs_and_merge():
    row, start, end = runs(np.array([[1, 1, 0, 1], [0, 0, 0, 0], [0, 1, 1, 1]]))
    np.testing.assert_array_equal(row, [0, 0, 2])
    np.testing.assert_array_equal(start, [0, 3, 1])
    np.testing.assert_array_equal(end, [2, 4, 4])
    lines = ["chr1\t0\t5\ta", "chr1\t10\t25\ta", "chr1\t12\t20\ta", "chr1\t25\t30\ta",
             "chr2\t0\t5\ta", "chr1\t12\t25\tb"]  # sorted by name, chrom, start
    assert list(merge_sorted(lines)) == [
        ("chr1", 0, 5, "a"), ("chr1", 10, 30, "a"), ("chr2", 0, 5, "a"), ("chr1", 12, 25, "b")]


def test_write_sites_sorts_and_merges_on_disk(tmp_path):
    raw = tmp_path / "raw.bed"
    raw.write_text("chr2\t5\t9\ta\nchr1\t100\t110\tb\nchr1\t20\t30\ta\n"
                   "chr1\t105\t120\tb\nchr1\t9\t20\ta\n")
    assert write_sites(raw, tmp_path / "out.bed") == 3
    assert (tmp_path / "out.bed").read_text() == (
        "chr1\t9\t30\ta\nchr1\t100\t120\tb\nchr2\t5\t9\ta\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bed", "raw.bed"]


def test_threshold_search_pools_conditions(split_files):
    predictions, data, labels, probabilities = split_files
    table, best, best_iou = search_threshold(predictions, data, 50, seed=3, block_size=7)
    assert len(table) == 50
    p = np.concatenate(list(probabilities.values()))
    y = np.concatenate(list(labels.values()))
    assert best_iou == pytest.approx(metrics.iou(p > best, y))
    assert best_iou == pytest.approx(table["iou"].max())


def test_fit_call_and_evaluate(split_files, tmp_path):
    predictions, data, labels, probabilities = split_files
    model, history = fit_crf(predictions, data, lr=0.05, steps=40, batch_size=16,
                                   eval_every=10, max_sequences=50, block_size=9)
    assert history["best"].sum() == 1
    threshold = 0.5
    beds = {"threshold": tmp_path / "t.bed", "crf": tmp_path / "c.bed"}
    call_split(predictions, data, threshold, model, tmp_path / "h5", beds,
                     block_size=16)
    with h5py.File(tmp_path / "h5", "r") as handle:
        for condition in CONDITIONS:
            np.testing.assert_array_equal(handle[f"threshold/{condition}"][:],
                                          probabilities[condition] > threshold)
            np.testing.assert_array_equal(handle[f"crf/{condition}"][:],
                                          crf_calls(model, probabilities[condition]))
    bed = pd.read_csv(beds["threshold"], sep="\t", header=None,
                      names=["chrom", "start", "end", "name"])
    assert set(bed["name"]) <= set(CONDITIONS)
    # Every called base of the chr8 examples (no overlap) is covered by exactly one BED row.
    for condition in CONDITIONS:
        sites = bed[(bed["name"] == condition) & (bed["chrom"] == "chr8")]
        called = probabilities[condition][30:] > threshold
        assert (sites["end"] - sites["start"]).sum() == called.sum()
        assert runs(called)[0].size == len(sites)
    # Sorted by position, and disjoint per condition.
    assert bed.sort_values(["chrom", "start"], kind="stable").index.tolist() == bed.index.tolist()
    for _, group in bed.groupby(["name", "chrom"]):
        assert (group["start"].to_numpy()[1:] > group["end"].to_numpy()[:-1]).all()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []

    table = evaluate_split(predictions, data, "m", "test", tmp_path / "h5",
                           bin_widths=[20, 60], centre_widths=[20, 500], block_size=16)
    assert list(table.columns) == COLUMNS
    y = labels[CONDITIONS[0]]
    p = probabilities[CONDITIONS[0]]
    rows = table[table["condition"] == CONDITIONS[0]].set_index(
        ["method", "resolution", "metric"])["value"]
    assert rows[("probability", 1, "auprc")] == pytest.approx(metrics.auprc(p, y), abs=1e-12)
    assert rows[("probability", 20, "average_precision")] == pytest.approx(
        metrics.average_precision(metrics.bin_scores(p, 20), metrics.bin_labels(y, 20)))
    assert rows[("threshold", 1, "iou")] == pytest.approx(metrics.iou(p > threshold, y))
    assert rows[("target", 1, "transitions_pct")] == pytest.approx(
        metrics.transition_percentage(y).mean())
    assert rows[("target", 1, "positive_pct")] == pytest.approx(100 * y.mean())
    # The centre 20 bp of each example as one score; a centre wider than L is not scored.
    centre = slice((LENGTH - 20) // 2, (LENGTH - 20) // 2 + 20)
    assert rows[("probability", 20, "auprc_centre")] == pytest.approx(
        metrics.auprc(p[:, centre].max(axis=1), y[:, centre].max(axis=1)), abs=1e-12)
    assert ("probability", 500, "auprc_centre") not in rows.index
    assert len(table) == len(CONDITIONS) * (3 * 2 + 1 + 2 + 3 * 2)

    tests = wilcoxon_table(table)
    assert set(tests["metric"]) == {"iou", "transitions_pct"}
    assert (tests["n"] == 2).all()
    summary = summarize(table)
    assert (summary["n"] == 2).all()


def test_binned_predictions_have_no_score_finer_than_their_bins(split_files, tmp_path):
    predictions, data, labels, probabilities = split_files
    with h5py.File(predictions, "a") as handle:
        handle.attrs["bin_width"] = 30  # as a method scoring 30-bp bins would record
    table = evaluate_split(predictions, data, "m", "test", bin_widths=[20, 30, 60],
                           centre_widths=[], progress=False)
    rows = table[(table["condition"] == CONDITIONS[0]) & (table["metric"] == "auprc")]
    value = rows.set_index("resolution")["value"]
    assert np.isnan(value[20]) and np.isfinite(value[30]) and np.isfinite(value[60])
    # At 1 bp each base carries its bin's score (how the paper compared binned methods).
    assert value[1] == pytest.approx(metrics.auprc(probabilities[CONDITIONS[0]],
                                                   labels[CONDITIONS[0]]), abs=1e-12)


def test_mismatched_predictions_are_named(split_files, tmp_path):
    predictions, data, labels, _ = split_files
    with h5py.File(predictions, "a") as handle:
        handle["prob/NEW.K562"] = np.zeros((40, LENGTH), dtype=np.float16)
    with pytest.raises(PredictionError, match="no labels for condition NEW.K562"):
        search_threshold(predictions, data, 10)


def test_cli_verbs(split_files, tmp_path, capsys):
    from nettime import cli

    predictions, data, _, _ = split_files
    files = {"--predictions": str(predictions), "--data": str(data)}
    common = [item for pair in files.items() for item in pair]
    assert cli.main(["search-threshold", *common, "--n-thresholds", "20",
                     "--out", str(tmp_path / "t.tsv")]) == 0
    assert cli.main(["train-crf", *common, "--steps", "5", "--lr", "0.05",
                     "--out", str(tmp_path / "pt")]) == 0
    assert cli.main(["call", *common, "--thresholds", str(tmp_path / "t.tsv"),
                     "--crf", str(tmp_path / "pt"), "--out", str(tmp_path / "c.h5"),
                     "--threshold-bed", str(tmp_path / "t.bed"),
                     "--crf-bed", str(tmp_path / "c.bed")]) == 0
    assert cli.main(["evaluate", *common, "--calls", str(tmp_path / "c.h5"), "--model", "m",
                     "--split", "test", "--out", str(tmp_path / "m.tsv")]) == 0
    assert len(pd.read_csv(tmp_path / "m.tsv", sep="\t")) == len(CONDITIONS) * (7 * 2 + 2 + 3 * 2)
    capsys.readouterr()
    with h5py.File(predictions, "a") as handle:
        handle["prob/NEW.K562"] = np.zeros((40, LENGTH), dtype=np.float16)
    assert cli.main(["search-threshold", *common, "--out", str(tmp_path / "x.tsv")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "NEW.K562" in err
