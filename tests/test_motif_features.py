"""Motif features: strand channels against a direct memelite FIMO call."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import TGASTCA
from memelite import fimo

from nettime.data.genome import Genome, one_hot
from nettime.data.motif_features import hits_to_channels, motif_channels, motif_stats


def test_channels_match_direct_fimo(warm_fimo):
    rng = np.random.default_rng(2)
    codes = rng.integers(0, 4, (6, 300)).astype(np.uint8)
    codes[0, 100:107] = [3, 2, 0, 1, 3, 1, 0]  # a planted TGACTCA
    channels = motif_channels(codes, TGASTCA)
    assert channels.shape == (6, 300, 2) and channels.dtype == np.float32
    hits = fimo({"m": TGASTCA.T.copy()}, one_hot(codes).transpose(0, 2, 1).copy(),
                threshold=1e-2)[0]
    assert len(hits) > 0 and (hits["p-value"] < 1e-2).all()
    expected = np.zeros((6, 300, 2))
    for hit in hits.itertuples(index=False):
        strand = 0 if hit.strand == "+" else 1
        for pos in range(hit.start, hit.end):
            row = int(hit.sequence_name)
            expected[row, pos, strand] = max(expected[row, pos, strand], 1 - hit[7])
    np.testing.assert_allclose(channels, expected, rtol=1e-6, atol=1e-7)
    assert channels[0, 100:107].max() > 0.99
    assert (channels[..., 0] > 0).any() and (channels[..., 1] > 0).any()
    assert (channels == 0).mean() > 0.5  # most bases are under no hit at p < 1e-2


def test_hits_to_channels_takes_the_best_hit():
    hits = pd.DataFrame({"sequence_name": [0, 0, 1], "start": [2, 4, 0], "end": [6, 8, 3],
                         "strand": ["+", "+", "-"], "p-value": [0.005, 0.001, 0.002]})
    out = hits_to_channels(hits, 2, 10)
    np.testing.assert_allclose(out[0, :, 0], [0, 0, .995, .995, .999, .999, .999, .999, 0, 0])
    np.testing.assert_allclose(out[1, :, 1], [.998] * 3 + [0] * 7)
    assert not out[0, :, 1].any() and not out[1, :, 0].any()


def test_motif_stats_over_examples(resources, warm_fimo):
    root = resources["root"]
    examples = pd.DataFrame({"chrom": ["chr1", "chr1", "chr3"], "start": [0, 7000, 100],
                             "end": [1000, 8000, 1100]})
    with Genome(root / "genome/genome.fa") as genome:
        (m0, s0), (m1, s1) = motif_stats(genome, examples, 1000, TGASTCA, block=2)
        codes = np.stack([genome.codes(c, s, e) for c, s, e in examples.itertuples(index=False)])
    channels = motif_channels(codes, TGASTCA)
    assert m0 == pytest.approx(channels[..., 0].mean(dtype=np.float64))
    assert s1 == pytest.approx(channels[..., 1].std(dtype=np.float64), rel=1e-5)
    assert s0 > 0 and m1 > 0
