"""Prediction: HDF5 layout, untrained (TF, cell) pairs, variants, bigWig tracks, and the glue
over nettime.data.dataset (when that module is present)."""


import h5py
import numpy as np
import pandas as pd
import pyBigWig
import pytest
import torch
from helpers import write_random_dataset

from nettime.calls.tracks import write_track
from nettime.files import read_chrom_sizes
from nettime.models.network import ModelConfig, ModelError, build_model, save_model
from nettime.models.prediction import predict_condition, write_predictions

L = 30
K = 6


def tiny_model(mode="both"):
    config = ModelConfig(n_features=K, embedding_dim=3, tf_table_size=4, cell_table_size=4,
                         embeddings=mode, tf_vocab=("JUND", "CTCF", "FOXA1"),
                         cell_vocab=("K562", "HepG2"))
    return build_model(config, seed=0)


def features(n=7, seed=0):
    return np.random.default_rng(seed).standard_normal((n, L, K)).astype(np.float32)


def test_predict_condition_matches_the_model_in_blocks():
    model = tiny_model()
    x = features()
    blocks = list(predict_condition(model, lambda a, b: x[a:b], len(x), tf=1, cell=0,
                                    batch_size=3))
    assert [start for start, _ in blocks] == [0, 3, 6]
    prob = np.concatenate([p for _, p in blocks])
    assert prob.dtype == np.float16 and prob.shape == (7, L)
    with torch.no_grad():
        logits = model.eval()(torch.from_numpy(x), torch.full((7,), 1), torch.zeros(7).long())
    expected = torch.softmax(logits, -1)[..., 1].numpy()
    np.testing.assert_allclose(prob, expected, atol=1e-3)


def test_head_of_trunk_is_the_whole_network():
    model = tiny_model().eval()
    x = torch.from_numpy(features(n=3))
    tf, cell = torch.tensor([0, 1, 2]), torch.tensor([1, 0, 1])
    with torch.no_grad():
        torch.testing.assert_close(model.head(model.trunk(x), tf, cell), model(x, tf, cell))


@pytest.mark.parametrize("batch_size", [1, 2, 3, 64])
def test_conditions_sharing_their_input_predict_as_each_alone(tmp_path, batch_size):
    """Conditions of one cell type share the trunk, with any number of conditions per pass
    (fewer or more than the batch), Average Train included; probabilities equal those of each
    condition predicted alone, and the trunk sees each example once per cell type."""
    model = tiny_model()
    x = {"K562": features(n=7, seed=1), "HepG2": features(n=7, seed=2)}
    conditions = ["JUND.K562", "CTCF.K562", "FOXA1.K562", "JUND.HepG2", "CTCF.HepG2"]
    average = {"FOXA1.K562": ["K562", "HepG2"]}
    trunk_rows = []
    trunk = model.trunk
    model.trunk = lambda features: trunk_rows.append(len(features)) or trunk(features)

    def predict(name, key):
        write_predictions(tmp_path / name, model, conditions, 7, L,
                          lambda tf, cell: (lambda a, b: x[cell][a:b]), "m", "test",
                          batch_size=batch_size, device="cpu", progress=False,
                          embedding_cells=average, input_key=key)
        with h5py.File(tmp_path / name) as h5:
            return {c: h5[f"prob/{c}"][:].astype(np.float32) for c in conditions}

    alone = predict("alone.h5", None)
    assert sum(trunk_rows) == 7 * len(conditions)
    trunk_rows.clear()
    shared = predict("shared.h5", lambda tf, cell: cell)
    assert sum(trunk_rows) == 7 * 2  # once per example and cell type
    for condition in conditions:
        np.testing.assert_allclose(shared[condition], alone[condition], atol=1e-3,
                                   err_msg=condition)
    # Average Train: the mean of the two cell types' embeddings on K562's features.
    own = [np.concatenate([p for _, p in predict_condition(
        model, lambda a, b: x["K562"][a:b], 7, 2, c)]) for c in (0, 1)]
    expected = (own[0].astype(np.float32) + own[1].astype(np.float32)) / 2
    np.testing.assert_allclose(shared["FOXA1.K562"], expected, atol=2e-3)


def test_hdf5_layout_including_a_never_trained_pair(tmp_path):
    model = tiny_model()
    x = features(n=5)
    # FOXA1 in K562 is no training condition of any model here: any known TF x known cell.
    conditions = ["JUND.K562", "FOXA1.K562", "CTCF.HepG2"]
    seen = []

    def reader_for(tf, cell):
        seen.append((tf, cell))
        return lambda a, b: x[a:b]

    write_predictions(tmp_path / "p.h5", model, conditions, 5, L, reader_for, "m", "test",
                      batch_size=2, device="cpu", progress=False)
    assert seen == [("JUND", "K562"), ("FOXA1", "K562"), ("CTCF", "HepG2")]
    with h5py.File(tmp_path / "p.h5") as h5:
        assert h5.attrs["model"] == "m" and h5.attrs["split"] == "test"
        assert list(h5.attrs["conditions"]) == conditions
        for condition in conditions:
            ds = h5[f"prob/{condition}"]
            assert ds.dtype == np.float16 and ds.shape == (5, L)
            assert np.all((ds[:] >= 0) & (ds[:] <= 1))
        # Same input, different condition embeddings: different predictions.
        assert not np.array_equal(h5["prob/JUND.K562"][:], h5["prob/FOXA1.K562"][:])
    with pytest.raises(ModelError, match="unknown TF"):
        write_predictions(tmp_path / "q.h5", model, ["GATA1.K562"], 5, L, reader_for, "m",
                          "test", device="cpu", progress=False)
    assert not (tmp_path / "q.h5").exists()


def test_bigwig_track_over_overlapping_examples(tmp_path):
    examples = pd.DataFrame({"chrom": ["chr2", "chr1", "chr1"], "start": [50, 100, 20],
                             "end": [50 + L, 100 + L, 20 + L]})
    prob = np.random.default_rng(1).random((3, L)).astype(np.float16)
    (tmp_path / "chrom.sizes").write_text("chr1\t1000\nchr2\t500\n")
    # Examples 1 and 2 do not overlap; add one overlapping example 2 (chr1:30-60).
    examples.loc[3] = ["chr1", 30, 30 + L]
    prob = np.vstack([prob, np.full((1, L), 0.5, np.float16)])
    write_track(tmp_path / "t.bigWig", examples, prob, read_chrom_sizes(tmp_path / "chrom.sizes"),
                block=2)
    bw = pyBigWig.open(str(tmp_path / "t.bigWig"))
    try:
        np.testing.assert_allclose(bw.values("chr2", 50, 50 + L), prob[0].astype(np.float32))
        np.testing.assert_allclose(bw.values("chr1", 100, 100 + L), prob[1].astype(np.float32))
        # chr1:20-50 from example 2; the overlapping example 3 fills only 50-60.
        np.testing.assert_allclose(bw.values("chr1", 20, 50), prob[2].astype(np.float32))
        np.testing.assert_allclose(bw.values("chr1", 50, 60), 0.5)
        assert np.isnan(bw.values("chr1", 60, 61)[0])
    finally:
        bw.close()
    examples.loc[4] = ["chrX", 0, L]
    with pytest.raises(ValueError, match="chrX"):
        write_track(tmp_path / "u.bigWig", examples, np.vstack([prob, prob[:1]]),
                    read_chrom_sizes(tmp_path / "chrom.sizes"))


# ---- the glue over the data set --------------------------------------------------------------


def test_train_and_predict_glue_over_the_data_set(tmp_path):
    from nettime.calls.tracks import track_from_predictions
    from nettime.models.fit import train_model
    from nettime.models.prediction import predict_split
    from nettime.models.registry import ModelSpec

    rng = np.random.default_rng(0)
    conditions = ["JUND.K562", "CTCF.HepG2"]
    for split, n in (("train", 12), ("valid", 6), ("test", 5)):
        write_random_dataset(tmp_path / f"{split}.h5", n, L, conditions, ["K562", "HepG2"],
                             ["DNase"], rng)
    config = {"feature_sets": {"Seq+DNase": {"assays": ["DNase"], "motifs": False}},
              "training": {"device": "cpu", "threads": 1}}
    spec = ModelSpec(name="m", feature_set="Seq+DNase", conditions=tuple(conditions),
                     embeddings="both", sample_count=10, init_from=None,
                     sizes={"embedding_dim": 2, "tf_table_size": 4, "cell_table_size": 4},
                     budget={"steps": 3, "epochs": None, "batch_size": 4, "eval_every": 2,
                             "lr": 1e-3, "valid_examples": 4, "patience": None},
                     seed=1, predict=tuple(conditions))
    result = train_model(spec, config, tmp_path / "train.h5", tmp_path / "valid.h5",
                         tmp_path / "m", ["JUND", "CTCF"], ["K562", "HepG2"], progress=False)
    assert result.steps == 3
    # Fine-tuning from it on one condition, with a new TF in the vocabulary.
    tuned = ModelSpec(**{**spec.__dict__, "name": "t", "conditions": ("CTCF.HepG2",),
                         "init_from": "m", "sample_count": None})
    train_model(tuned, config, tmp_path / "train.h5", tmp_path / "valid.h5", tmp_path / "t",
                ["JUND", "CTCF", "NEW"], ["K562", "HepG2"], init_path=tmp_path / "m/model.pt",
                progress=False)
    untrained = "JUND.HepG2"  # never measured, never trained: still predictable
    predict_split(tmp_path / "t/model.pt", tmp_path / "test.h5", tmp_path / "p.h5",
                  conditions + [untrained], "t", "test", device="cpu", progress=False)
    predict_split(tmp_path / "t/model.pt", tmp_path / "test.h5", tmp_path / "r.h5",
                  [untrained], "t", "test", variant="random_both", device="cpu",
                  progress=False)
    with h5py.File(tmp_path / "p.h5") as h5, h5py.File(tmp_path / "r.h5") as r:
        assert h5[f"prob/{untrained}"].shape == (5, L)
        assert not np.array_equal(h5[f"prob/{untrained}"][:], r[f"prob/{untrained}"][:])
    (tmp_path / "chrom.sizes").write_text("chr1\t100000\n")
    track_from_predictions(tmp_path / "p.h5", tmp_path / "test.h5", tmp_path / "chrom.sizes",
                           untrained, tmp_path / "t.bigWig")
    bw = pyBigWig.open(str(tmp_path / "t.bigWig"))
    assert bw.values("chr1", 100, 100 + L) is not None
    bw.close()
    save_model(build_model(ModelConfig(n_features=K)), tmp_path / "bare.pt")
    with pytest.raises(ModelError, match="feature set"):
        predict_split(tmp_path / "bare.pt", tmp_path / "test.h5", tmp_path / "x.h5",
                      ["JUND.K562"], "x", "test", device="cpu", progress=False)


def test_bfloat16_cpu_inference_stays_within_float16_resolution():
    model = tiny_model()
    x = features(n=4)
    exact = next(predict_condition(model, lambda a, b: x[a:b], 4, 0, 1, batch_size=4))[1]
    fast = next(predict_condition(model, lambda a, b: x[a:b], 4, 0, 1, batch_size=4,
                                  cpu_bf16=True))[1]
    np.testing.assert_allclose(fast.astype(np.float32), exact.astype(np.float32), atol=2e-2)
