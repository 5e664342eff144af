"""The Leopard-style baseline: U-Net, tiling, a planted signal learnt, the predictions file,
determinism, resumption and the kinds dispatcher."""

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
from nettime.baselines.leopard import (
    INPUT_CHANNELS,
    LeopardConfig,
    UNet,
    build_unet,
    leopard_inputs,
    tile_plan,
    tile_predict,
    train_model,
)
from nettime.config import split_condition
from nettime.data.dataset import open_dataset
from nettime.data.writer import write_dataset_arrays

L = 200
MOTIFS = {"A": np.array([3, 2, 0, 1, 3, 1, 0, 2], np.uint8),   # TGACTCAG
          "B": np.array([1, 1, 2, 2, 0, 0, 3, 3], np.uint8)}
SMALL = {"window": 256, "levels": 3, "channels": [6, 9, 13, 19], "kernel": 7}
CONFIG = {"training": {"device": "cpu", "threads": 1, "predict_batch_size": 32}}


def planted(path, n, seed, conditions=("A.c1", "A.c2", "B.c1"), cells=("c1", "c2", "c3"),
            shuffle_labels=False):
    """Binding where a cell type's DNase is high and the TF's motif lies; relaxed peaks 10 bp
    wider than conserved ones."""
    rng = np.random.default_rng(seed)
    sequence = rng.integers(0, 4, (n, L)).astype(np.uint8)
    dnase = {c: 0.5 * rng.standard_normal((n, L)).astype(np.float32) for c in cells}
    labels = {}
    for condition in conditions:
        tf, cell = split_condition(condition)
        conserved = np.zeros((n, L), np.uint8)
        relaxed = np.zeros((n, L), np.uint8)
        for i in range(n):
            if rng.random() < 0.7:
                s = int(rng.integers(15, L - 45))
                conserved[i, s:s + 30] = 1
                relaxed[i, s - 10:s + 40] = 1
                dnase[cell][i, s:s + 30] += 3.0
                sequence[i, s + 11:s + 19] = MOTIFS[tf]
        if shuffle_labels:
            order = rng.permutation(n)
            conserved, relaxed = conserved[order], relaxed[order]
        labels[condition] = {"conserved": conserved, "relaxed": relaxed}
    write_dataset_arrays(path, sequence, labels,
                         signals={(c, "DNase"): v for c, v in dnase.items()})
    return path


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return planted_splits(tmp_path_factory.mktemp("leopard-data"), planted, 96)


spec = partial(baseline_spec, "leo", "leopard", steps=120, batch_size=16, eval_every=40, lr=3e-3,
               **SMALL)


# ---- network and tiling -----------------------------------------------------------------------

def test_unet_has_the_original_size_and_keeps_the_window_length():
    net = UNet(LeopardConfig())
    assert LeopardConfig().channels == (15, 22, 33, 49, 73, 109)
    assert sum(p.numel() for p in net.parameters()) == pytest.approx(0.48e6, rel=0.02)
    assert net(torch.zeros(2, len(INPUT_CHANNELS), 1024)).shape == (2, 1024)
    small = UNet(LeopardConfig(**{**SMALL, "channels": tuple(SMALL["channels"])}))
    assert small(torch.zeros(3, 6, 512)).shape == (3, 512)
    with pytest.raises(BaselineError, match="multiple of"):
        small(torch.zeros(1, 6, 100))


def test_config_round_trip_and_bad_options():
    config = LeopardConfig.from_options(SMALL)
    assert LeopardConfig.from_dict(config.to_dict()) == config
    assert LeopardConfig.from_options({"levels": 2}).channels == (15, 22, 33)
    with pytest.raises(BaselineError, match="multiple of"):
        LeopardConfig(window=1000)
    with pytest.raises(BaselineError, match="unknown option"):
        LeopardConfig.from_options({"bins": 3})


def test_inputs_centre_each_example_in_its_window():
    codes = np.array([[0, 1, 2, 3, 4, 0]], np.uint8)
    dnase = np.arange(6, dtype=np.float32)[None]
    x = leopard_inputs(codes, dnase, np.ones((1, 6), np.float32), 10)
    assert x.shape == (1, 6, 10) and x.dtype == np.float32
    assert x[0, :, :2].sum() == 0 and x[0, :, 8:].sum() == 0
    assert x[0, :4, 2:8].argmax(0)[:4].tolist() == [0, 1, 2, 3] and x[0, :4, 6].sum() == 0
    assert x[0, 4, 2:8].tolist() == list(range(6)) and x[0, 5, 2:8].tolist() == list(range(-1, 5))


def test_tiled_prediction_equals_single_windows_where_one_window_covers_a_base():
    window, trim, n = 64, 8, 300
    net = build_unet(LeopardConfig(window=window, levels=2, channels=(4, 6, 9)), seed=0).eval()
    x = np.random.default_rng(0).standard_normal((6, n)).astype(np.float32)
    tiled = tile_predict(net, x, window, trim=trim, batch_size=3)
    assert tiled.shape == (n,) and tiled.dtype == np.float32

    covered = np.zeros(n, int)
    total = np.zeros(n)
    single = {}
    for start, lo, hi in tile_plan(n, window, trim):
        piece = np.zeros((1, 6, window), np.float32)
        piece[0, :, :min(window, n - start)] = x[:, start:start + window]
        with torch.no_grad():
            prob = torch.sigmoid(net(torch.from_numpy(piece)))[0].numpy()
        single[start] = (lo, hi, prob)
        covered[lo:hi] += 1
        total[lo:hi] += prob[lo - start:hi - start]
    assert covered.min() >= 1 and covered.max() <= 2
    once = covered == 1
    assert once.sum() > 0 and (covered == 2).sum() > 0
    np.testing.assert_allclose(tiled[once], total[once], atol=1e-6)
    np.testing.assert_allclose(tiled, total / covered, atol=1e-6)
    # Windows keep their edges only at the ends of the input.
    assert single[0][0] == 0 and max(hi for _, hi, _ in single.values()) == n
    with pytest.raises(BaselineError, match="trim"):
        tile_plan(n, window, trim=window // 4 + 1)


# ---- training and prediction ------------------------------------------------------------------

def test_learns_the_planted_signal_and_writes_the_predictions_file(data, tmp_path):
    conditions = ["A.c1", "A.c2"]
    scores = {}
    for name, train_path in (("real", data["train"]), ("shuffled", data["shuffled"])):
        out = tmp_path / name
        summary = train_model(spec(conditions), CONFIG, train_path, data["valid"],
                              out / "model.pt", out / "spec.yaml", progress=False)
        assert summary["tfs"]["A"]["steps"] == 120
        asked = ["A.c1", "A.c2", "A.c3"]  # A.c3: a cell type never trained on
        kinds.predict_with_settings(out / "model.pt", data["test"], out / "test.h5", asked,
                                    "leo", "test", CONFIG, progress=False)
        with h5py.File(out / "test.h5") as handle:
            assert handle.attrs["model"] == "leo" and handle.attrs["split"] == "test"
            assert handle.attrs["method"] == "leopard"
            for condition in asked:
                assert handle[f"prob/{condition}"].dtype == np.float16
                assert handle[f"prob/{condition}"].shape == (48, L)
        scores[name] = np.mean([condition_auprc(out / "test.h5", data["test"], c)
                                for c in conditions])
    with open_dataset(data["test"]) as test:
        base_rate = np.mean([test.read_labels(c, "conserved").mean() for c in conditions])
    assert scores["real"] > 0.6 and scores["real"] > scores["shuffled"] + 0.3
    assert scores["real"] > base_rate + 0.3
    log = (tmp_path / "real/log.tsv").read_text().splitlines()
    assert log[0].startswith("tf\tstep\t") and all(r.startswith("A\t") for r in log[1:])
    record = yaml.safe_load((tmp_path / "real/spec.yaml").read_text())
    assert record["kind"] == "leopard" and record["result"]["tfs"]["A"]["steps"] == 120
    saved = torch.load(tmp_path / "real/model.pt", weights_only=False)
    assert saved["kind"] == "leopard" and saved["tfs"]["A"]["cell_types"] == ["c1", "c2"]
    assert LeopardConfig.from_dict(saved["config"]).window == 256


def test_same_seed_same_weights_and_resumption_across_parts(data, tmp_path, capsys):
    conditions = ["A.c1", "A.c2", "B.c1"]
    kwargs = {"config": CONFIG, "train_path": data["train"], "valid_path": data["valid"],
              "progress": False}

    def run(name, seed=3, stop_after=None):
        out = tmp_path / name
        return out, train_model(spec(conditions, steps=8, seed=seed), model_out=out / "model.pt",
                                spec_out=out / "spec.yaml", stop_after=stop_after, **kwargs)

    first, second = check_seeded_training(run)

    # Killed in A, then in B after A finished, then run to the end.
    broken = tmp_path / "broken"
    assert run("broken", stop_after=5)[1] is None and not (broken / "model.pt").exists()
    assert run("broken", stop_after=5)[1] is None
    capsys.readouterr()
    run("broken")
    err = capsys.readouterr().err
    assert "parts/A/checkpoint.pt: this run finished" in err and "nothing to do" in err
    assert "parts/B/checkpoint.pt: resuming at step 5" in err
    assert same_weights(first / "model.pt", broken / "model.pt")
    run("broken")
    assert "every TF of this model is trained; nothing to do" in capsys.readouterr().err

    for out in (first, second):
        kinds.predict_with_settings(out / "model.pt", data["test"], out / "p.h5", ["B.c2"],
                                    "leo", "test", CONFIG, progress=False)
    with h5py.File(first / "p.h5") as a, h5py.File(second / "p.h5") as b:
        assert np.array_equal(a["prob/B.c2"][:], b["prob/B.c2"][:])


def test_prediction_errors_name_what_is_missing(data, tmp_path):
    out = tmp_path / "m"
    train_model(spec(["A.c1"], steps=2), CONFIG, data["train"], None, out / "model.pt",
                out / "spec.yaml", progress=False)
    with pytest.raises(BaselineError, match="no trained network for the TF of C.c1"):
        kinds.predict_with_settings(out / "model.pt", data["test"], out / "p.h5",
                                    ["A.c1", "C.c1"], "m", "test", CONFIG, progress=False)
    with pytest.raises(BaselineError, match="no DNase signal for cell type.*c9, needed to predict A.c9"):
        kinds.predict_with_settings(out / "model.pt", data["test"], out / "p.h5", ["A.c9"],
                                    "m", "test", CONFIG, progress=False)
    with pytest.raises(ValueError, match="variant"):
        kinds.predict_with_settings(out / "model.pt", data["test"], out / "p.h5", ["A.c1"],
                                    "m", "test", CONFIG, variant="random_tf", progress=False)
    assert not (out / "p.h5").exists()
    with pytest.raises(BaselineError, match="no labels for condition.*Z.c1.*to train Z"):
        train_model(spec(["Z.c1"], steps=2), CONFIG, data["train"], None,
                    tmp_path / "z/model.pt", tmp_path / "z/spec.yaml", progress=False)


def test_the_kinds_dispatcher_trains_and_predicts_a_leopard_spec(data, tmp_path):
    model_spec = spec(["A.c1", "B.c1"], steps=4)
    params = {"spec": {k: v for k, v in model_spec.to_dict().items() if k != "predict"},
              "tf_vocab": ["A", "B"], "cell_vocab": ["c1"]}
    model = tmp_path / "results/models/leo/model.pt"
    kinds.train_registry_model(params, CONFIG, str(data["train"]), str(data["valid"]), None,
                               str(model), str(model.parent / "spec.yaml"), threads=1,
                               progress=False)
    assert kinds.checkpoint_kind(model) == "leopard"
    assert (model.parent / "parts/A/model.pt").exists() and (model.parent / "log.tsv").exists()
    out = tmp_path / "results/predictions/leo/test.h5"
    kinds.predict_with_settings(str(model), str(data["test"]), str(out), ["A.c1", "B.c2"],
                                "leo", "test", CONFIG, threads=1, progress=False)
    with h5py.File(out) as handle:
        assert sorted(handle["prob"]) == ["A.c1", "B.c2"]
        assert list(handle.attrs["conditions"]) == ["A.c1", "B.c2"]
