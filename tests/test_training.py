"""Training: loss, overfitting, resumption, determinism, variants, devices, auPRC."""

import math

import numpy as np
import pytest
import torch
from sklearn.metrics import auc, precision_recall_curve

from nettime.metrics import GroupedPRAccumulator
from nettime.models.device import DeviceError, resolve_device
from nettime.models.network import EMBEDDING_MODES, ModelConfig, build_model, grow_vocab, load_model
from nettime.models.training import (
    LOG_COLUMNS,
    TrainingError,
    TrainSettings,
    data_identity,
    sequence_loss,
    train,
)

L = 40
K = 5


def make_data(n=12, seed=0, n_tfs=2, n_cells=2):
    """Examples whose label is a learnable function of the input and the condition."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, L, K, generator=g)
    tf = torch.randint(0, n_tfs, (n,), generator=g)
    cell = torch.randint(0, n_cells, (n,), generator=g)
    y = ((x[..., 0] + x[..., 1] * (tf[:, None] * 2 - 1)) > 0.5).long()
    condition = tf * n_cells + cell
    return {"x": x, "y": y, "tf": tf, "cell": cell, "condition": condition,
            "example": torch.arange(n), "label_set": torch.zeros(n, dtype=torch.long)}


def batch_source(data, batch_size=4, seed=0, fail_at=None):
    """Shuffled per epoch from (seed, epoch); optionally raises at a global batch count."""
    n = len(data["y"])
    served = {"count": 0}

    def batches(epoch, start):
        order = torch.randperm(n, generator=torch.Generator().manual_seed(seed * 1000 + epoch))
        for i in range(start * batch_size, n, batch_size):
            if fail_at is not None and served["count"] == fail_at:
                raise KeyboardInterrupt("killed")
            served["count"] += 1
            rows = order[i:i + batch_size]
            yield {k: v[rows] for k, v in data.items()}

    return batches


def tiny_model(seed=0, mode="both", dropout=0.1):
    return build_model(ModelConfig(n_features=K, embedding_dim=4, tf_table_size=3,
                                   cell_table_size=3, embeddings=mode, dropout=dropout,
                                   tf_vocab=("A", "B"), cell_vocab=("c1", "c2")), seed=seed)


def settings(**kw):
    base = {"lr": 1e-3, "max_steps": 12, "eval_every": 4, "seed": 7, "device": "cpu",
            "progress": False}
    return TrainSettings(**{**base, **kw})


def test_loss_is_summed_over_positions_and_averaged_over_the_batch():
    logits = torch.zeros(3, 10, 2)
    y = torch.ones(3, 10, dtype=torch.long)
    assert math.isclose(float(sequence_loss(logits, y)), 10 * math.log(2), rel_tol=1e-6)


def test_a_tiny_model_overfits_a_few_examples(tmp_path):
    data = make_data(n=4)
    model = tiny_model(dropout=0.0)
    with torch.no_grad():
        first = float(sequence_loss(model.train()(data["x"], data["tf"], data["cell"]),
                                    data["y"]))
    train(model, batch_source(data, batch_size=4), settings(lr=1e-2, max_steps=150,
                                                            eval_every=150), tmp_path)
    model.train()
    with torch.no_grad():
        last = float(sequence_loss(model(data["x"], data["tf"], data["cell"]), data["y"]))
    assert last < 0.1 * first


def test_outputs_best_checkpoint_and_log(tmp_path):
    data = make_data()
    valid = make_data(n=6, seed=1)
    model = tiny_model()
    result = train(model, batch_source(data), settings(), tmp_path,
                   valid=lambda: [valid], n_valid_conditions=4)
    assert result.steps == 12
    lines = (tmp_path / "log.tsv").read_text().splitlines()
    assert lines[0].split("\t") == list(LOG_COLUMNS)
    assert [line.split("\t")[0] for line in lines[1:]] == ["4", "8", "12"]
    best = torch.load(tmp_path / "model.pt", weights_only=False)
    assert best["step"] == result.best_step
    assert math.isclose(best["valid_auprc"], result.best_auprc)
    assert load_model(tmp_path / "model.pt").config == model.config


def run_uninterrupted(path, **kw):
    model = tiny_model()
    train(model, batch_source(make_data()), settings(**kw), path,
          valid=lambda: [make_data(n=6, seed=1)], n_valid_conditions=4)
    return model.state_dict()


def test_a_killed_run_resumes_to_the_same_weights(tmp_path):
    reference = run_uninterrupted(tmp_path / "a", epochs=None)
    # Killed (an exception from the data) in the middle of the second epoch, after the step-4
    # checkpoint and before the step-8 one; then restarted with the same command.
    with pytest.raises(KeyboardInterrupt):
        train(tiny_model(), batch_source(make_data(), fail_at=6), settings(), tmp_path / "b",
              valid=lambda: [make_data(n=6, seed=1)], n_valid_conditions=4)
    assert (tmp_path / "b" / "checkpoint.pt").exists()
    (tmp_path / "b" / "model.pt").unlink()  # as Snakemake does with a failed job's outputs
    model = tiny_model(seed=99)  # the checkpoint, not the fresh weights, must win
    train(model, batch_source(make_data()), settings(), tmp_path / "b",
          valid=lambda: [make_data(n=6, seed=1)], n_valid_conditions=4)
    for key, value in reference.items():
        assert torch.equal(model.state_dict()[key], value), key
    log_a = (tmp_path / "a" / "log.tsv").read_text()
    assert (tmp_path / "b" / "log.tsv").read_text() == log_a
    best_a = torch.load(tmp_path / "a" / "model.pt", weights_only=False)
    best_b = torch.load(tmp_path / "b" / "model.pt", weights_only=False)
    assert best_a["step"] == best_b["step"]
    for key, value in best_a["state_dict"].items():
        assert torch.equal(best_b["state_dict"][key], value), key


def test_a_finished_run_whose_outputs_were_deleted_writes_them_again(tmp_path):
    # Killed after the last checkpoint, before Snakemake saw the job end: the rerun finds the
    # run finished and must still leave every output of the rule.
    run_uninterrupted(tmp_path, epochs=None)
    log = (tmp_path / "log.tsv").read_text()
    best = torch.load(tmp_path / "model.pt", weights_only=False)
    for name in ("model.pt", "log.tsv"):
        (tmp_path / name).unlink()
    run_uninterrupted(tmp_path, epochs=None)
    assert (tmp_path / "log.tsv").read_text() == log
    again = torch.load(tmp_path / "model.pt", weights_only=False)
    assert again["step"] == best["step"]
    for key, value in best["state_dict"].items():
        assert torch.equal(again["state_dict"][key], value), key


def test_a_step_limited_run_resumes_to_the_same_weights(tmp_path):
    reference = run_uninterrupted(tmp_path / "a", epochs=None)
    model = tiny_model()
    for _ in range(4):  # 5 + 5 + 2 steps (+ one call that finds the run finished)
        model = tiny_model()
        train(model, batch_source(make_data()), settings(), tmp_path / "b",
              valid=lambda: [make_data(n=6, seed=1)], n_valid_conditions=4, stop_after=5)
    for key, value in reference.items():
        assert torch.equal(model.state_dict()[key], value), key


def test_a_finished_run_is_not_repeated_unless_its_data_changed(tmp_path, capsys):
    data = tmp_path / "train.txt"
    data.write_text("first")
    first = tiny_model()
    done = train(first, batch_source(make_data()), settings(), tmp_path / "m",
                 identity=data_identity([data]))
    again = tiny_model(seed=99)
    capsys.readouterr()
    result = train(again, batch_source(make_data()), settings(), tmp_path / "m",
                   identity=data_identity([data]))
    assert "nothing to do" in capsys.readouterr().err
    assert torch.equal(again.state_dict()["input_fc.weight"], first.state_dict()["input_fc.weight"])
    data.write_text("rebuilt with other contents")  # e.g. the data set was made anew
    changed = tiny_model(seed=99)
    train(changed, batch_source(make_data()), settings(), tmp_path / "m",
          identity=data_identity([data]))
    assert "other data; starting afresh" in capsys.readouterr().err
    assert result.steps == done.steps


def test_the_seed_decides_the_weights(tmp_path):
    a = run_uninterrupted(tmp_path / "a", max_steps=3)
    b = run_uninterrupted(tmp_path / "b", max_steps=3)
    c = run_uninterrupted(tmp_path / "c", max_steps=3, seed=8)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_epoch_budget_and_changed_settings(tmp_path):
    model = tiny_model()
    result = train(model, batch_source(make_data(n=12)), settings(max_steps=None, epochs=2),
                   tmp_path)
    assert result.steps == 6 and result.epochs_completed == 2
    # Another budget is a new run: it starts afresh instead of continuing the old one.
    again = train(tiny_model(), batch_source(make_data()), settings(max_steps=None, epochs=3),
                  tmp_path)
    assert again.steps == 9 and again.epochs_completed == 3
    with pytest.raises(TrainingError, match="budget"):
        TrainSettings(max_steps=None, epochs=None)


def test_early_stopping_stops_after_patience(tmp_path):
    data = make_data()
    # A validation set on which every model scores exactly 1: all positives, in one condition,
    # 4 x 32 positions so that every recall k / 128 and the area's sum are exact (with 4 x 40
    # the sum's rounding, 1 - 1e-16 or 1, depended on how the scores tied).
    flat = {**make_data(n=4, seed=3), "y": torch.ones(4, 32, dtype=torch.long)}
    flat.update(x=flat["x"][:, :32], condition=torch.zeros(4, dtype=torch.long))
    result = train(tiny_model(), batch_source(data), settings(max_steps=40, eval_every=2,
                                                              patience=2), tmp_path,
                   valid=lambda: [flat], n_valid_conditions=4)
    assert result.stopped_early and result.steps == 6 and result.best_step == 2


@pytest.mark.parametrize("mode", list(EMBEDDING_MODES))
def test_every_variant_trains_a_step_and_predicts(tmp_path, mode):
    model = tiny_model(mode=mode)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    train(model, batch_source(make_data()), settings(max_steps=1, eval_every=1), tmp_path)
    after = model.state_dict()
    assert not torch.equal(before["input_fc.weight"], after["input_fc.weight"])
    for buffer in ("tf_random", "cell_random"):
        if buffer in before:  # fixed random vectors never train
            assert torch.equal(before[buffer], after[buffer])
    model.eval()
    with torch.inference_mode():
        out = model(torch.randn(2, L, K), torch.tensor([0, 2]), torch.tensor([2, 0]))
    assert out.shape == (2, L, 2)


def test_fine_tuning_a_grown_model_on_a_new_condition(tmp_path):
    base = tiny_model()
    train(base, batch_source(make_data()), settings(max_steps=2, eval_every=2), tmp_path / "a")
    tuned = grow_vocab(load_model(tmp_path / "a" / "model.pt"), tfs=["NEW"], cells=["c3"])
    assert tuned.config.tf_vocab == ("A", "B", "NEW")
    data = make_data(n=8, seed=4)
    data["tf"][:] = 2
    data["cell"][:] = 2
    trained_row = tuned.tf_embed.weight[0].detach().clone()
    train(tuned, batch_source(data), settings(max_steps=2, eval_every=2), tmp_path / "b")
    # Only the new condition was seen: the old TF's row got no gradient, so Adam left it.
    assert torch.equal(tuned.tf_embed.weight[0], trained_row)


def test_device_auto_never_tries_cuda_without_a_gpu(monkeypatch, tmp_path):
    def refuse(*args, **kwargs):
        raise AssertionError("CUDA was touched on a machine without a GPU")

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    for name in ("init", "get_rng_state_all", "set_rng_state_all", "synchronize"):
        monkeypatch.setattr(torch.cuda, name, refuse)
    assert resolve_device("auto") == torch.device("cpu")
    with pytest.raises(DeviceError, match="no CUDA"):
        resolve_device("cuda")
    model = tiny_model()
    train(model, batch_source(make_data()), settings(device="auto", max_steps=2, eval_every=1),
          tmp_path)
    assert next(model.parameters()).device.type == "cpu"


def test_streaming_auprc_equals_sklearn_on_float16_scores():
    rng = np.random.default_rng(0)
    scores = rng.random((30, 50)).astype(np.float32) ** 3
    labels = (rng.random((30, 50)) < scores * 0.8).astype(np.uint8)
    group = np.repeat([0, 1, 2], 10)
    acc = GroupedPRAccumulator(4)
    for a in range(0, 30, 7):  # in pieces, as batches arrive
        acc.update(group[a:a + 7], scores[a:a + 7], labels[a:a + 7])
    got = acc.auprc()
    rounded = scores.astype(np.float16).astype(np.float64)
    for g in range(3):
        rows = group == g
        precision, recall, _ = precision_recall_curve(labels[rows].ravel(), rounded[rows].ravel())
        assert math.isclose(got[g], auc(recall, precision), rel_tol=1e-12)
    assert math.isnan(got[3])
    # A diverged model's NaN scores make its condition NaN, not a number.
    acc.update(np.array([1]), np.full((1, 50), np.nan), labels[:1])
    assert math.isnan(acc.auprc()[1]) and acc.auprc()[0] == got[0]


def loader_source(data, batch_size=4, fail_at=None):
    """Batches from a torch DataLoader, which draws a seed from the global RNG per iter()."""
    dataset = torch.utils.data.TensorDataset(*(data[k] for k in sorted(data)))
    keys = sorted(data)
    served = {"count": 0}

    def batches(epoch, start):
        loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=False)
        iterator = iter(loader)

        def gen():
            for i, parts in enumerate(iterator):
                if i < start:
                    continue
                if fail_at is not None and served["count"] == fail_at:
                    raise KeyboardInterrupt("killed")
                served["count"] += 1
                yield dict(zip(keys, parts, strict=True))

        return gen()

    return batches


def test_resumption_is_exact_with_a_dataloader_source(tmp_path):
    data = make_data()
    reference = tiny_model()
    train(reference, loader_source(data), settings(), tmp_path / "a")
    with pytest.raises(KeyboardInterrupt):
        train(tiny_model(), loader_source(data, fail_at=6), settings(), tmp_path / "b")
    resumed = tiny_model()
    train(resumed, loader_source(data), settings(), tmp_path / "b")
    for key, value in reference.state_dict().items():
        assert torch.equal(resumed.state_dict()[key], value), key
