"""Cell-type signals: in-peak extraction against direct pyBigWig reads, statistics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyBigWig
import pytest
from conftest import SIZES, write_bigwig, write_narrowpeak

from nettime.genome import DataError
from nettime.peaks import read_narrowpeak
from nettime.signals import InPeakSignal, Stats, window_stats, write_inpeak, zscore


@pytest.fixture(scope="module")
def inpeak(resources, tmp_path_factory):
    root = resources["root"]
    out = tmp_path_factory.mktemp("inpeak") / "c1.DNase.h5"
    # A small read block makes the blocked reads cross block boundaries.
    write_inpeak(root / "features/c1.DNase.bigWig", root / "features/c1.DNase.narrowPeak.gz",
                 SIZES, out, block=3000, progress=False)
    return out


def test_extraction_matches_direct_pybigwig_reads(resources, inpeak):
    root = resources["root"]
    peaks = read_narrowpeak(root / "features/c1.DNase.narrowPeak.gz")
    bw = pyBigWig.open(str(root / "features/c1.DNase.bigWig"))
    rng = np.random.default_rng(11)
    with InPeakSignal(inpeak) as signal:
        for chrom in SIZES:
            starts = np.sort(rng.integers(0, SIZES[chrom] - 1000, 15))
            got = signal.windows(chrom, starts, 1000)
            for row, start in enumerate(starts):
                expected = np.nan_to_num(np.array(bw.values(chrom, int(start), int(start) + 1000)))
                inside = np.zeros(1000, dtype=bool)
                for _, p in peaks[peaks["chrom"] == chrom].iterrows():
                    inside[max(p.start - start, 0):max(min(p.end - start, 1000), 0)] = True
                expected[~inside] = 0
                np.testing.assert_allclose(got[row], expected, rtol=1e-6)
                assert np.all(got[row][~inside] == 0)
    bw.close()


def test_window_with_no_peak_is_zero(inpeak):
    with InPeakSignal(inpeak) as signal:
        assert not signal.windows("chrUn", np.array([0, 10]), 100).any()


def test_training_statistics_applied_to_validation(resources, inpeak):
    rng = np.random.default_rng(5)
    train = pd.DataFrame({"chrom": "chr1", "start": np.sort(rng.integers(0, 20000, 30))})
    valid = pd.DataFrame({"chrom": "chr2", "start": np.sort(rng.integers(0, 12000, 30))})
    mean, std = window_stats(inpeak, train, 1000, block=7)
    with InPeakSignal(inpeak) as signal:
        raw_train = signal.windows("chr1", train["start"].to_numpy(), 1000)
        raw_valid = signal.windows("chr2", valid["start"].to_numpy(), 1000)
    assert mean == pytest.approx(raw_train.mean(dtype=np.float64), rel=1e-9)
    assert std == pytest.approx(raw_train.std(dtype=np.float64), rel=1e-6)
    normalised = zscore(raw_valid, mean, std)
    np.testing.assert_allclose(normalised, (raw_valid - raw_train.mean()) / raw_train.std(),
                               rtol=1e-4, atol=1e-5)
    # Validation values are not centred on themselves: the training statistics were used.
    assert abs(normalised.mean() - zscore(raw_valid, raw_valid.mean(), raw_valid.std()).mean()) > 0


def test_stats_accumulate_blocks():
    stats = Stats()
    a, b = np.arange(10.0), np.arange(5.0) * 3
    stats.update(a)
    stats.update(b)
    both = np.concatenate([a, b])
    assert stats.mean == pytest.approx(both.mean()) and stats.std == pytest.approx(both.std())


def test_bigwig_missing_a_chromosome(resources, tmp_path):
    bigwig = tmp_path / "x.bigWig"
    write_bigwig(bigwig, SIZES, np.random.default_rng(0), skip=("chr2",))
    peaks = tmp_path / "x.narrowPeak"
    write_narrowpeak(peaks, [("chr1", 10, 500), ("chr2", 10, 500)])
    with pytest.raises(DataError, match=r"x\.bigWig: chromosome 'chr2' is missing"):
        write_inpeak(bigwig, peaks, SIZES, tmp_path / "out.h5", progress=False)


def test_bigwig_with_other_naming(resources, tmp_path):
    bigwig = tmp_path / "ensembl.bigWig"
    bw = pyBigWig.open(str(bigwig), "w")
    bw.addHeader([("1", SIZES["chr1"])])
    bw.addEntries(["1"], [0], ends=[100], values=[1.0])
    bw.close()
    peaks = tmp_path / "x.narrowPeak"
    write_narrowpeak(peaks, [("chr1", 10, 500)])
    with pytest.raises(DataError, match=r"ensembl\.bigWig: chromosome 'chr1' is missing.*'1'"):
        write_inpeak(bigwig, peaks, SIZES, tmp_path / "out.h5", progress=False)


def test_not_a_bigwig(tmp_path):
    path = tmp_path / "bad.bigWig"
    path.write_text("hello")
    peaks = tmp_path / "x.narrowPeak"
    write_narrowpeak(peaks, [("chr1", 10, 500)])
    with pytest.raises(DataError, match=r"bad\.bigWig: not a bigWig"):
        write_inpeak(path, peaks, SIZES, tmp_path / "out.h5", progress=False)
