"""The Catchitt-style baseline (nettime.baselines.catchitt): features by hand, noisy-OR and
averaging, learning a planted signal, the predictions file, Average Train, determinism,
resumption and the registry's kind interface."""

from __future__ import annotations

import math
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import yaml

from nettime.baselines import catchitt, kinds
from nettime.baselines import catchitt_features as cf
from nettime.baselines.catchitt_training import Settings
from nettime.data.dataset import open_dataset
from nettime.data.writer import write_dataset_arrays
from nettime.metrics import auprc
from nettime.models.registry import paper_spec

LENGTH, BIN = 200, 20
OPTIONS = {"bin": BIN, "neighbours": 2, "rounds": 3, "negatives": 2}
BUDGET = {"steps": None, "epochs": 1, "valid_examples": 40}


def planted(path: Path, rng: np.random.Generator, n: int, cells=("K562", "HepG2", "GM12878"),
            shuffle_labels: bool = False) -> None:
    """A data set where JUND binds a motif hit (motif channel high) that is open in the cell
    type (DNase high); open regions without a hit and hits in closed chromatin are unbound."""
    hits = np.zeros((n, LENGTH), bool)
    for i in range(n):
        for _ in range(rng.integers(0, 3)):
            a = int(rng.integers(0, LENGTH - 30))
            hits[i, a:a + 30] = True
    motifs = rng.standard_normal((n, LENGTH, 2)).astype(np.float32) * 0.5
    motifs[..., 0] += 2.5 * hits
    signals, labels = {}, {}
    for cell in cells:
        opened = hits & (rng.random((n, 1)) < 0.5)
        decoy = np.zeros_like(hits)
        for i in np.flatnonzero(rng.random(n) < 0.5):
            a = int(rng.integers(0, LENGTH - 40))
            decoy[i, a:a + 40] = True
        dnase = rng.standard_normal((n, LENGTH)) * 0.5 + 2.0 * (opened | decoy)
        signals[(cell, "DNase")] = dnase.astype(np.float32)
        bound = opened.astype(np.uint8)
        relaxed = np.maximum(bound, np.roll(bound, 10, axis=1))
        if shuffle_labels:
            order = rng.permutation(n)
            bound, relaxed = bound[order], relaxed[order]
        labels[f"JUND.{cell}"] = {"conserved": bound, "relaxed": relaxed}
    sequence = rng.integers(0, 4, (n, LENGTH)).astype(np.uint8)
    write_dataset_arrays(path, sequence, labels, signals, motifs={"JUND": motifs})


def spec_for(conditions, seed=3, **changes):
    return paper_spec("catchitt_test", list(conditions), kind="catchitt", seed=seed,
                      budget=changes.pop("budget", BUDGET),
                      options=changes.pop("options", OPTIONS), **changes)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("catchitt")
    rng = np.random.default_rng(11)
    for split, n in (("train", 300), ("valid", 60), ("test", 150)):
        planted(root / f"{split}.h5", rng, n)
    planted(root / "shuffled.h5", rng, 300, shuffle_labels=True)
    return root


@pytest.fixture(scope="module")
def trained(data):
    """A model of JUND in K562 and HepG2 (GM12878 left out for Average Train)."""
    spec = spec_for(["JUND.K562", "JUND.HepG2"])
    catchitt.train_catchitt(spec, data / "train.h5", data / "valid.h5", data / "model",
                            progress=False)
    return data / "model" / "model.pt"


# ---- features, by hand ---------------------------------------------------------------------


def test_bin_features_by_hand():
    dnase = np.array([[0, 0, 1, 1, 2, 3, 3, 1, 5, 5, 5, 5]], np.float32)
    fwd = np.array([0, 2, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0], np.float32)
    rev = np.array([1, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0], np.float32)
    motifs = np.stack([fwd, rev], axis=-1)[None]
    got = cf.bin_features(dnase, motifs, width=4, context=8)
    assert got.shape == (1, 3, len(cf.FEATURE_NAMES)) and got.dtype == np.float32
    table = pd.DataFrame(got[0], columns=cf.FEATURE_NAMES)
    # Bins [0 0 1 1], [2 3 3 1], [5 5 5 5]; context of 8 bases = 2 bins, cut at the edges and
    # 0 where a side has none.
    expected = {
        "dnase_min": [0, 1, 5], "dnase_median": [0.5, 2.5, 5],
        "dnase_before_min": [0, 0, 0], "dnase_before_max": [0, 1, 3],
        "dnase_after_min": [1, 5, 0], "dnase_after_max": [5, 5, 0],
        "dnase_steps": [1, 2, 0], "dnase_steps_up": [1, 1, 0], "dnase_steps_down": [0, 1, 0],
        "motif_max": [2, 3, 0],
        "motif_log_mean_exp": [math.log((math.e + math.e ** 2 + 2) / 4),
                               math.log((3 * math.e + math.e ** 3) / 4), 0.0]}
    for name, values in expected.items():
        np.testing.assert_allclose(table[name], values, rtol=1e-6, atol=1e-6, err_msg=name)
    # A context of one bin: the last bin sees only the middle one before it.
    one = pd.DataFrame(cf.bin_features(dnase, motifs, 4, context=4)[0],
                       columns=cf.FEATURE_NAMES)
    np.testing.assert_allclose(one["dnase_before_min"], [0, 0, 1])
    np.testing.assert_allclose(one["dnase_before_max"], [0, 1, 3])
    np.testing.assert_allclose(one["dnase_after_min"], [1, 5, 0])


def test_bin_width_must_divide_the_length():
    with pytest.raises(ValueError, match="does not divide the example length 10"):
        cf.bin_features(np.zeros((1, 10)), np.zeros((1, 10, 2)), 4)


def test_stack_neighbours_zero_pads_past_the_edges():
    features = np.arange(1, 7, dtype=np.float32).reshape(1, 3, 2)  # bins (1,2) (3,4) (5,6)
    got = cf.stack_neighbours(features, 1)
    np.testing.assert_array_equal(got[0], [[0, 0, 1, 2, 3, 4], [1, 2, 3, 4, 5, 6],
                                           [3, 4, 5, 6, 0, 0]])
    assert cf.stack_neighbours(features, 0) is features


def test_bin_targets():
    conserved = np.array([[0, 1, 0, 0, 0, 0]], np.uint8)
    relaxed = np.array([[0, 1, 1, 1, 0, 0]], np.uint8)
    np.testing.assert_array_equal(cf.bin_targets(conserved, relaxed, 2), [[1, -1, 0]])


# ---- noisy-OR and averaging ----------------------------------------------------------------


def test_noisy_or_over_bins_j_minus_1_to_j_plus_4():
    p = np.array([[0.5, 0, 0, 0, 0, 0.2, 0, 0]])
    np.testing.assert_allclose(cf.noisy_or(p), [[0.5, 0.6, 0.2, 0.2, 0.2, 0.2, 0.2, 0]])
    rng = np.random.default_rng(0)
    q = rng.random((3, 9))
    brute = np.array([[1 - np.prod([1 - row[k] for k in range(max(j - 1, 0), min(j + 5, 9))])
                       for j in range(9)] for row in q])
    np.testing.assert_allclose(cf.noisy_or(q), brute)
    np.testing.assert_array_equal(cf.noisy_or(np.ones((1, 3))), np.ones((1, 3)))


def test_average_over_rounds_and_cell_types():
    rng = np.random.default_rng(1)
    k562 = [rng.random((2, 6)) for _ in range(3)]
    hepg2 = [rng.random((2, 6)) for _ in range(3)]
    got = cf.average_scores([k562, hepg2])
    per_cell = [np.mean([cf.noisy_or(p) for p in rounds], axis=0)
                for rounds in (k562, hepg2)]
    np.testing.assert_allclose(got, (per_cell[0] + per_cell[1]) / 2)
    np.testing.assert_allclose(cf.average_scores([k562[:1]]), cf.noisy_or(k562[0]))


def test_classifier_is_quadratic_in_the_features():
    # Positives in the middle of the range: a linear model cannot separate them, [x, x^2] can.
    rng = np.random.default_rng(2)
    x = rng.standard_normal((600, 1))
    y = (np.abs(x[:, 0]) < 0.5).astype(int)
    classifier = cf.fit_classifier(x, y)
    assert auprc(classifier.predict_proba(x), y) > 0.9
    assert classifier.coef[1] < 0  # the squared term carries the class


# ---- training and prediction ---------------------------------------------------------------


def test_learns_a_planted_signal(data, trained, tmp_path):
    spec = spec_for(["JUND.K562"])
    catchitt.train_catchitt(spec, data / "shuffled.h5", None, tmp_path / "shuffled",
                            progress=False)
    scores = {}
    for name, model in (("planted", trained), ("shuffled", tmp_path / "shuffled/model.pt")):
        out = tmp_path / f"{name}.h5"
        catchitt.predict_split(model, data / "test.h5", out, ["JUND.K562"], name, "test",
                               progress=False)
        with h5py.File(out) as handle, open_dataset(data / "test.h5") as test:
            scores[name] = auprc(handle["prob/JUND.K562"][:],
                                 test.read_labels("JUND.K562", "conserved"))
    # At 1 bp each base carries its bin's noisy-OR score, so the planted model's area stays
    # well below 1; labels shuffled across examples leave the base rate (about 0.07).
    assert scores["planted"] > 0.4
    assert scores["planted"] > scores["shuffled"] + 0.3


def test_log_and_validation(trained):
    log = pd.read_csv(trained.parent / "log.tsv", sep="\t")
    assert list(log.columns) == list(catchitt.LOG_COLUMNS)
    assert list(log["condition"]) == ["JUND.K562"] * 3 + ["JUND.HepG2"] * 3
    assert list(log["round"]) == [1, 2, 3, 1, 2, 3]
    first = log[log["round"] == 1]
    assert (first["negatives"] == 2 * first["positives"]).all()
    assert (log.groupby("condition")["negatives"].diff().dropna() > 0).all()  # hard negatives
    assert log["valid_auprc"].between(0.5, 1).all() and log["train_auprc"].between(0.5, 1).all()


def test_cap_on_training_bins(data, tmp_path):
    spec = spec_for(["JUND.K562"], budget={"steps": 10, "batch_size": 30, "epochs": None})
    saved = catchitt.train_catchitt(spec, data / "train.h5", None, tmp_path, progress=False)
    last = saved["log"][-1]
    assert last["positives"] + last["negatives"] <= 300
    assert math.isnan(last["valid_auprc"])


def test_predictions_file_and_average_train(data, trained, tmp_path):
    out = tmp_path / "test.h5"
    conditions = ["JUND.K562", "JUND.GM12878"]
    catchitt.predict_split(trained, data / "test.h5", out, conditions, "m", "test",
                           progress=False)
    saved = catchitt.load_model(trained)
    with h5py.File(out) as handle, open_dataset(data / "test.h5") as test:
        assert handle.attrs["method"] == "catchitt" and handle.attrs["bin_width"] == BIN
        assert list(handle.attrs["conditions"]) == conditions
        for condition in conditions:
            prob = handle[f"prob/{condition}"]
            assert prob.dtype == np.float16 and prob.shape == (test.n_examples, LENGTH)
        prob = handle["prob/JUND.GM12878"][:]
        # Each base carries its bin's score.
        assert (prob.reshape(len(prob), -1, BIN) == prob[:, ::BIN, None]).all()
        # Average Train: GM12878 was not trained, so the K562 and HepG2 models are averaged,
        # applied to GM12878's own features.
        assert catchitt.default_cells(saved, "JUND.GM12878") == ["K562", "HepG2"]
        assert catchitt.default_cells(saved, "JUND.K562") == ["K562"]
        feats = cf.stack_neighbours(cf.bin_features(
            test.read_signal("GM12878", "DNase"), test.read_motifs("JUND"), BIN), 2)
        by_hand = np.mean([np.mean([cf.noisy_or(c.predict_proba(feats))
                                    for c in cf.classifiers_of(
                                        saved["conditions"][f"JUND.{cell}"])], axis=0)
                           for cell in ("K562", "HepG2")], axis=0)
        np.testing.assert_allclose(prob[:, ::BIN], by_hand, atol=1e-3)
        only_k562 = catchitt.condition_scores(saved, test, "JUND.GM12878", cells=["K562"])
        assert not np.allclose(only_k562, by_hand)
    with pytest.raises(ValueError, match="no trained condition JUND.GM12878"):
        catchitt.predict_split(trained, data / "test.h5", tmp_path / "x.h5", ["JUND.K562"],
                               "m", "test", cells={"JUND.K562": ["GM12878"]}, progress=False)
    with pytest.raises(ValueError, match="trained no condition of TF 'CTCF'"):
        catchitt.predict_split(trained, data / "test.h5", tmp_path / "x.h5", ["CTCF.K562"],
                               "m", "test", progress=False)
    assert not (tmp_path / "x.h5").exists()


def test_deterministic_and_resumable(data, trained, tmp_path, monkeypatch, capsys):
    spec = spec_for(["JUND.K562", "JUND.HepG2"])
    real = catchitt.train_condition

    def killed_after_first(train, condition, *args, **kwargs):
        if condition == "JUND.HepG2":
            raise KeyboardInterrupt("killed")
        return real(train, condition, *args, **kwargs)

    monkeypatch.setattr(catchitt, "train_condition", killed_after_first)
    with pytest.raises(KeyboardInterrupt):
        catchitt.train_catchitt(spec, data / "train.h5", data / "valid.h5", tmp_path,
                                progress=False)
    assert (tmp_path / "parts/JUND.K562.pt").exists() and not (tmp_path / "model.pt").exists()
    monkeypatch.setattr(catchitt, "train_condition", real)
    resumed = catchitt.train_catchitt(spec, data / "train.h5", data / "valid.h5", tmp_path,
                                      progress=False)
    assert "JUND.K562 already trained; kept" in capsys.readouterr().err
    unbroken = catchitt.load_model(trained)
    for condition in spec.conditions:
        for key, value in unbroken["conditions"][condition].items():
            np.testing.assert_array_equal(resumed["conditions"][condition][key], value)
    assert pd.DataFrame(resumed["log"]).equals(pd.DataFrame(unbroken["log"]))
    catchitt.train_catchitt(spec, data / "train.h5", data / "valid.h5", tmp_path,
                            progress=False)
    assert "nothing to do" in capsys.readouterr().err
    # Another seed draws other negatives.
    other = catchitt.train_catchitt(spec_for(["JUND.K562"], seed=4), data / "train.h5", None,
                                    tmp_path / "other", progress=False)
    assert not np.array_equal(other["conditions"]["JUND.K562"]["coef"],
                              unbroken["conditions"]["JUND.K562"]["coef"])


def test_bad_options_and_inputs(data, tmp_path):
    with pytest.raises(ValueError, match="options.rounds must be at least 1"):
        Settings.from_spec(spec_for(["JUND.K562"], options={"rounds": 0}))
    with pytest.raises(ValueError, match="options window are not Catchitt's"):
        Settings.from_spec(spec_for(["JUND.K562"], options={"window": 5}))
    with pytest.raises(ValueError, match="does not divide the example length 200"):
        catchitt.train_catchitt(spec_for(["JUND.K562"], options={"bin": 30}),
                                data / "train.h5", None, tmp_path, progress=False)
    with pytest.raises(ValueError, match="no motif channels for TF 'CTCF'"):
        catchitt.train_catchitt(spec_for(["CTCF.K562"]), data / "train.h5", None, tmp_path,
                                progress=False)


def test_end_to_end_through_the_registry_kinds(data, tmp_path):
    spec = spec_for(["JUND.K562"]).to_dict()
    spec.pop("predict")
    params = {"spec": spec, "tf_vocab": ["JUND"], "cell_vocab": ["K562"]}
    config = {"training": {"threads": 1}}
    model = tmp_path / "models/catchitt/model.pt"
    result = kinds.train_registry_model(params, config, data / "train.h5", data / "valid.h5",
                                        None, model, model.parent / "spec.yaml",
                                        progress=False)
    assert result["method"] == "catchitt" and result["rounds"] == 3
    record = yaml.safe_load((model.parent / "spec.yaml").read_text())
    assert record["kind"] == "catchitt" and record["tf_vocab"] == ["JUND"]
    assert record["result"]["conditions"]["JUND.K562"]["valid_auprc"] > 0.5
    assert (model.parent / "log.tsv").read_text().startswith("condition\tround\t")
    assert kinds.checkpoint_kind(model) == "catchitt"
    out = tmp_path / "predictions/catchitt/test.h5"
    kinds.predict_with_settings(model, data / "test.h5", out, ["JUND.K562", "JUND.HepG2"],
                                "catchitt", "test", config, progress=False)
    with h5py.File(out) as handle:
        assert handle.attrs["method"] == "catchitt" and handle.attrs["bin_width"] == BIN
        assert handle["prob/JUND.HepG2"].shape == (150, LENGTH)
    with pytest.raises(ValueError, match="variant 'random_tf' is not supported"):
        kinds.predict_with_settings(model, data / "test.h5", tmp_path / "v.h5", ["JUND.K562"],
                                    "catchitt", "test", config, variant="random_tf",
                                    progress=False)
    with pytest.raises(ValueError, match="train from scratch"):
        kinds.train_registry_model(params, config, data / "train.h5", None, model, model,
                                   tmp_path / "s.yaml", progress=False)
