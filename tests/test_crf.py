"""The CRF against brute-force enumeration, and the threshold search."""

import itertools

import numpy as np
import pytest
import torch

from nettime import metrics
from nettime.calls.crf import (
    LinearChainCRF,
    crf_calls,
    emissions_from_probabilities,
    load_crf,
    save_crf,
    train_crf,
)
from nettime.calls.thresholds import iou_curve, random_thresholds, threshold_calls


@pytest.fixture
def one_thread():
    """Small tensors: one torch thread is much faster than several on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _random_crf(seed):
    torch.manual_seed(seed)
    model = LinearChainCRF()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.normal_(0, 1.5)
    return model


def _all_paths(length):
    return torch.tensor(list(itertools.product([0, 1], repeat=length)), dtype=torch.long)


@pytest.mark.parametrize("length", [1, 2, 5, 8])
def test_nll_and_viterbi_equal_brute_force(length):
    model = _random_crf(length)
    emissions = torch.randn(4, length, 2, generator=torch.Generator().manual_seed(length))
    paths = _all_paths(length)  # (2**L, L)
    for b in range(len(emissions)):
        repeated = emissions[b].expand(len(paths), length, 2)
        scores = model.score(repeated, paths)
        log_z = torch.logsumexp(scores, 0)
        tags = torch.randint(0, 2, (1, length))
        nll = model.nll(emissions[b:b + 1], tags)
        brute = log_z - model.score(emissions[b:b + 1], tags)
        torch.testing.assert_close(nll, brute, atol=1e-5, rtol=0)
        decoded = model.decode(emissions)[b]
        torch.testing.assert_close(decoded, paths[scores.argmax()])
    # The batch computation equals the per-sequence one.
    all_tags = torch.randint(0, 2, (4, length))
    per_seq = torch.cat([model.nll(emissions[i:i + 1], all_tags[i:i + 1]) for i in range(4)])
    torch.testing.assert_close(model.nll(emissions, all_tags), per_seq)


def test_nll_gradients_flow_and_bad_shapes_fail():
    model = _random_crf(0)
    emissions = torch.randn(3, 6, 2)
    model.nll(emissions, torch.zeros(3, 6, dtype=torch.long)).sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
    with pytest.raises(ValueError):
        model.nll(torch.randn(3, 6), torch.zeros(3, 6, dtype=torch.long))


def test_zero_crf_decodes_per_base_argmax():
    p = np.array([[0.1, 0.6, 0.4, 0.9, 0.51]])
    calls = crf_calls(LinearChainCRF(), p)
    np.testing.assert_array_equal(calls, [[0, 1, 0, 1, 1]])


def test_emissions_are_clipped_log_probabilities():
    e = emissions_from_probabilities(np.array([[0.0, 0.25, 1.0]], dtype=np.float16),
                                            class_log_prior=(0.0, np.log(0.5)))
    assert torch.isfinite(e).all()
    assert e.shape == (1, 3, 2)
    assert float(e[0, 1, 0]) == pytest.approx(np.log(0.75), abs=1e-6)
    assert float(e[0, 1, 1]) == pytest.approx(np.log(0.25) - np.log(0.5), abs=1e-6)


def _smooth_problem(seed, n, length=200):
    """Smooth true labels (a few long runs) and noisy probabilities around them."""
    rng = np.random.default_rng(seed)
    labels = np.zeros((n, length), dtype=np.uint8)
    for row in labels:
        for _ in range(rng.integers(1, 3)):
            start = rng.integers(0, length - 40)
            row[start:start + rng.integers(15, 40)] = 1
    logits = np.where(labels == 1, 0.8, -0.8) + rng.normal(0, 1.2, labels.shape)
    return (1 / (1 + np.exp(-logits))).astype(np.float16), labels


def test_trained_crf_is_smoother_than_best_threshold_at_comparable_iou(one_thread):
    train = _smooth_problem(0, 96)
    select = _smooth_problem(1, 32)
    test_p, test_y = _smooth_problem(2, 64)
    model, history = train_crf(train, select, lr=0.05, steps=150, batch_size=32,
                                      eval_every=25, seed=0)
    assert history["best"].sum() == 1
    assert history["select_nll"].min() < history["select_nll"].iloc[0]

    curve = iou_curve([select], random_thresholds(300, 7))
    threshold, _ = curve.best()
    by_threshold = threshold_calls(test_p, threshold)
    by_crf = crf_calls(model, test_p)

    crf_iou, threshold_iou = metrics.iou(by_crf, test_y), metrics.iou(by_threshold, test_y)
    crf_tr = metrics.transition_percentage(by_crf).mean()
    threshold_tr = metrics.transition_percentage(by_threshold).mean()
    target_tr = metrics.transition_percentage(test_y).mean()
    assert crf_iou > threshold_iou - 0.05
    assert crf_tr < threshold_tr / 3
    assert abs(crf_tr - target_tr) < abs(threshold_tr - target_tr)


def test_threshold_search_is_deterministic_and_exact():
    a = random_thresholds(300, 11)
    np.testing.assert_array_equal(a, random_thresholds(300, 11))
    assert not np.array_equal(a, random_thresholds(300, 12))
    assert len(a) == 300 and (a > 0).all() and (a < 1).all() and (np.diff(a) > 0).all()

    rng = np.random.default_rng(0)
    p = rng.random((10, 50)).astype(np.float16)
    y = (rng.random((10, 50)) < p).astype(np.uint8)
    curve = iou_curve([(p[:4], y[:4]), (p[4:], y[4:])], a)
    table = curve.table()
    for i in (0, 150, 299):
        assert table["iou"][i] == pytest.approx(metrics.iou(p > a[i], y))
    best, best_iou = curve.best()
    assert best_iou == pytest.approx(max(metrics.iou(p > t, y) for t in a))
    # float16 (counted by bit pattern) and float64 inputs give the same counts.
    wide = iou_curve([(p.astype(np.float64), y)], a)
    np.testing.assert_array_equal(wide.intersection, curve.intersection)
    np.testing.assert_array_equal(wide.union, curve.union)
    assert metrics.iou(threshold_calls(p, best), y) == pytest.approx(best_iou)


def test_save_and_load_round_trip(tmp_path):
    model = _random_crf(5)
    model.class_log_prior = (-0.1, -2.3)
    save_crf(model, tmp_path / "crf.pt")
    loaded = load_crf(tmp_path / "crf.pt")
    assert loaded.class_log_prior == (-0.1, -2.3)
    for name, value in model.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[name], value)
