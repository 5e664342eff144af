"""The DeepBind-style baseline: network, per-base scores, balanced windows, a planted motif
learnt, the predictions file, determinism, resumption and the kinds dispatcher."""

from functools import partial

import h5py
import numpy as np
import pytest
import torch
import yaml
from helpers import (
    baseline_spec,
    check_seeded_training,
    condition_auprc,
    planted_splits,
    same_weights,
)

from nettime.baselines import kinds
from nettime.baselines.common import BaselineError
from nettime.baselines.deepbind import (
    DeepBindConfig,
    TrainingWindows,
    build_deepbind,
    draw_centres,
    example_inputs,
    reverse_complement,
    train_model,
)
from nettime.config import split_condition
from nettime.data.dataset import open_dataset
from nettime.data.writer import write_dataset_arrays

L = 200
MOTIFS = {"A": np.array([3, 2, 0, 1, 3, 1, 0, 2, 1, 0, 3, 2], np.uint8),
          "B": np.array([1, 1, 2, 2, 0, 0, 3, 3, 1, 2, 1, 2], np.uint8)}
CONFIG = {"training": {"device": "cpu", "threads": 1, "predict_batch_size": 32}}


def planted(path, n, seed, conditions=("A.c1", "A.c2", "B.c1"), shuffle_labels=False):
    """A TF's motif planted in 60% of the examples; conserved labels: the motif +- 10 bp,
    relaxed +- 20 bp; the conditions of a TF share its sites."""
    rng = np.random.default_rng(seed)
    sequence = rng.integers(0, 4, (n, L)).astype(np.uint8)
    sites = {}
    for tf in dict.fromkeys(split_condition(c)[0] for c in conditions):
        conserved = np.zeros((n, L), np.uint8)
        relaxed = np.zeros((n, L), np.uint8)
        for i in range(n):
            if rng.random() < 0.6:
                s = int(rng.integers(25, L - 40))
                sequence[i, s:s + 12] = MOTIFS[tf]
                conserved[i, s - 10:s + 22] = 1
                relaxed[i, s - 20:s + 32] = 1
        if shuffle_labels:
            order = rng.permutation(n)
            conserved, relaxed = conserved[order], relaxed[order]
        sites[tf] = {"conserved": conserved, "relaxed": relaxed}
    labels = {c: sites[split_condition(c)[0]] for c in conditions}
    write_dataset_arrays(path, sequence, labels)
    return path


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return planted_splits(tmp_path_factory.mktemp("deepbind-data"), planted, 128)


spec = partial(baseline_spec, "db", "deepbind", steps=150, batch_size=32, eval_every=50, lr=1e-2)


# ---- network ----------------------------------------------------------------------------------

def test_network_shapes_and_config():
    config = DeepBindConfig()
    assert (config.window, config.filters, config.filter_width, config.hidden) == (101, 16, 24,
                                                                                   32)
    assert DeepBindConfig.from_dict(config.to_dict()) == config
    for hidden in (32, 0):
        net = build_deepbind(DeepBindConfig(hidden=hidden), seed=0).eval()
        assert net(torch.zeros(5, 4, 101)).shape == (5,)
        assert net.per_base(torch.zeros(2, 4, L)).shape == (2, L)
    assert DeepBindConfig.from_options({"filters": 8}, dropout=0.3).dropout == 0.3
    with pytest.raises(BaselineError, match="odd"):
        DeepBindConfig(window=100)
    with pytest.raises(BaselineError, match="unknown option"):
        DeepBindConfig.from_options({"augment": True})


@pytest.mark.parametrize("hidden", [32, 0])
def test_per_base_scores_equal_window_by_window_scoring(hidden):
    config = DeepBindConfig(hidden=hidden)
    net = build_deepbind(config, seed=1).eval()
    with torch.no_grad():  # random weights give every filter some signal
        net.threshold.uniform_(-0.5, 0.5)
    codes = np.random.default_rng(0).integers(0, 5, (3, 150)).astype(np.uint8)  # with N
    half = config.window // 2
    padded = np.pad(codes, ((0, 0), (half, half)), constant_values=4)
    windows = np.stack([padded[:, i:i + config.window] for i in range(150)], axis=1)
    with torch.no_grad():
        per_base = net.per_base(torch.from_numpy(example_inputs(codes))).numpy()
        one_by_one = net(torch.from_numpy(example_inputs(windows.reshape(-1, config.window))))
    np.testing.assert_allclose(per_base, one_by_one.numpy().reshape(3, 150), atol=1e-5)
    # Both strands: the reverse complement scores the same bases in reverse order.
    with torch.no_grad():
        x = torch.from_numpy(example_inputs(codes))
        np.testing.assert_allclose(net.per_base(reverse_complement(x)).numpy()[:, ::-1],
                                   per_base, atol=1e-5)


def test_draw_centres_are_distinct_candidates():
    rng = np.random.default_rng(0)
    candidates = rng.random((6, 50)) < 0.2
    counts = np.minimum(candidates.sum(1), 3)
    rows, positions = draw_centres(candidates, counts, rng)
    assert np.bincount(rows, minlength=6).tolist() == counts.tolist()
    assert candidates[rows, positions].all()
    assert len(set(zip(rows.tolist(), positions.tolist(), strict=True))) == len(rows)


def test_training_windows_are_balanced_and_centred_as_documented(tmp_path):
    # Bound bases are A, relaxed-only bases C, the rest G or T: the centre tells the class.
    n = 40
    rng = np.random.default_rng(0)
    conserved = np.zeros((n, L), np.uint8)
    relaxed = np.zeros((n, L), np.uint8)
    for i in range(n):
        s = int(rng.integers(0, L - 40))
        conserved[i, s + 10:s + 30] = 1
        relaxed[i, s:s + 40] = 1
    conserved[:5] = 0  # examples without a site give no window
    relaxed[:5] = 0
    sequence = (2 + rng.integers(0, 2, (n, L))).astype(np.uint8)
    sequence[relaxed == 1] = 1
    sequence[conserved == 1] = 0
    path = tmp_path / "d"
    write_dataset_arrays(path, sequence, {"A.c1": {"conserved": conserved, "relaxed": relaxed}})
    windows = TrainingWindows(path, ["A.c1"], 101, batch_size=16, seed=0, per_example=3)
    batches = list(windows(0, 0))
    x = torch.cat([b["x"] for b in batches])
    y = torch.cat([b["y"] for b in batches])
    assert x.shape == (35 * 6, 4, 101) and y.sum() == 35 * 3
    centre = x[:, :, 50].argmax(1)
    assert (centre[y == 1] == 0).all() and (centre[y == 0] >= 2).all()
    again = list(windows(0, 2))
    assert torch.equal(again[0]["x"], batches[2]["x"])
    assert not torch.equal(next(iter(windows(1, 0)))["x"], batches[0]["x"])


# ---- training and prediction ------------------------------------------------------------------

def test_learns_the_planted_motif_and_writes_the_predictions_file(data, tmp_path):
    scores = {}
    for name, train_path in (("real", data["train"]), ("shuffled", data["shuffled"])):
        out = tmp_path / name
        summary = train_model(spec(["A.c1", "A.c2"]), CONFIG, train_path, data["valid"],
                              out / "model.pt", out / "spec.yaml", progress=False)
        assert summary["tfs"]["A"]["steps"] == 150
        asked = ["A.c1", "A.c2", "A.c7"]  # A.c7: a cell type the data set does not have
        kinds.predict_with_settings(out / "model.pt", data["test"], out / "test.h5", asked,
                                    "db", "test", CONFIG, progress=False)
        with h5py.File(out / "test.h5") as handle:
            assert handle.attrs["model"] == "db" and handle.attrs["split"] == "test"
            assert handle.attrs["method"] == "deepbind"
            probs = [handle[f"prob/{c}"][:] for c in asked]
        assert all(p.dtype == np.float16 and p.shape == (48, L) for p in probs)
        assert all(np.array_equal(probs[0], p) for p in probs[1:])  # not cell-type specific
        scores[name] = condition_auprc(out / "test.h5", data["test"], "A.c1")
    with open_dataset(data["test"]) as test:
        base_rate = test.read_labels("A.c1", "conserved").mean()
    assert scores["real"] > scores["shuffled"] + 0.15 and scores["real"] > base_rate + 0.15
    record = yaml.safe_load((tmp_path / "real/spec.yaml").read_text())
    assert record["kind"] == "deepbind" and record["result"]["tfs"]["A"]["steps"] == 150
    assert record["result"]["tfs"]["A"]["best_valid_auprc"] > base_rate


def test_same_seed_same_weights_and_resumption(data, tmp_path, capsys):
    conditions = ["A.c1", "B.c1"]

    def run(name, seed=3, stop_after=None):
        out = tmp_path / name
        return out, train_model(spec(conditions, steps=10, seed=seed), CONFIG, data["train"],
                                data["valid"], out / "model.pt", out / "spec.yaml",
                                progress=False, stop_after=stop_after)

    first, second = check_seeded_training(run)
    broken = tmp_path / "broken"
    assert run("broken", stop_after=4)[1] is None
    assert run("broken", stop_after=7)[1] is None
    capsys.readouterr()
    run("broken")
    assert "parts/B/checkpoint.pt: resuming at step 7" in capsys.readouterr().err
    assert same_weights(first / "model.pt", broken / "model.pt")
    for out in (first, second):
        kinds.predict_with_settings(out / "model.pt", data["test"], out / "p.h5", ["B.c1"],
                                    "db", "test", CONFIG, progress=False)
    with h5py.File(first / "p.h5") as a, h5py.File(second / "p.h5") as b:
        assert np.array_equal(a["prob/B.c1"][:], b["prob/B.c1"][:])
    with pytest.raises(BaselineError, match="no trained network for the TF of C.c1"):
        kinds.predict_with_settings(first / "model.pt", data["test"], first / "q.h5",
                                    ["C.c1"], "db", "test", CONFIG, progress=False)
    with pytest.raises(ValueError, match="variant"):
        kinds.predict_with_settings(first / "model.pt", data["test"], first / "q.h5",
                                    ["A.c1"], "db", "test", CONFIG, variant="random_tf",
                                    progress=False)


def test_the_kinds_dispatcher_trains_and_predicts_a_deepbind_spec(data, tmp_path, capsys):
    model_spec = spec(["A.c1", "B.c1"], steps=4, hidden=0)
    params = {"spec": {k: v for k, v in model_spec.to_dict().items() if k != "predict"},
              "tf_vocab": ["A", "B"], "cell_vocab": ["c1"]}
    model = tmp_path / "results/models/db/model.pt"
    args = (params, CONFIG, str(data["train"]), None, None, str(model),
            str(model.parent / "spec.yaml"))
    kinds.train_registry_model(*args, threads=1, progress=False)
    assert kinds.checkpoint_kind(model) == "deepbind"
    capsys.readouterr()
    kinds.train_registry_model(*args, threads=1, progress=False)
    assert "nothing to do" in capsys.readouterr().err
    with pytest.raises(BaselineError, match="fine-tuning"):
        kinds.train_registry_model(params, CONFIG, str(data["train"]), None, str(model),
                                   str(model), str(model.parent / "spec.yaml"))
    out = tmp_path / "results/predictions/db/test.h5"
    kinds.predict_with_settings(str(model), str(data["test"]), str(out), ["B.c1", "A.c1"],
                                "db", "test", CONFIG, threads=1, progress=False)
    with h5py.File(out) as handle:
        assert sorted(handle["prob"]) == ["A.c1", "B.c1"]
        assert handle["prob/A.c1"].shape == (48, L)


def test_a_part_over_rebuilt_data_starts_afresh(tmp_path, capsys):
    train_path = planted(tmp_path / "train", 32, 5, conditions=("A.c1",))
    run = (spec(["A.c1"], steps=3), CONFIG, train_path, None, tmp_path / "m/model.pt",
           tmp_path / "m/spec.yaml")
    train_model(*run, progress=False)
    planted(train_path, 32, 6, conditions=("A.c1",))  # the data set is rebuilt
    capsys.readouterr()
    train_model(*run, progress=False)
    err = capsys.readouterr().err
    assert "starting afresh" in err and "nothing to do" not in err
