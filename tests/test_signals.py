"""Cell-type signals: in-peak extraction against direct pyBigWig reads, statistics."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pyBigWig
import pytest
from conftest import SIZES, write_bigwig, write_narrowpeak

from nettime.data import signals
from nettime.data.peaks import read_narrowpeak
from nettime.data.signals import (
    INPEAK_FORMAT,
    InPeakSignal,
    Stats,
    inpeak_runs,
    window_stats,
    write_inpeak,
    zscore,
)
from nettime.files import DataError


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


def dense_inpeak(bigwig, peaks: list[tuple[str, int, int]], chrom: str, size: int) -> np.ndarray:
    """The signal of every base of a chromosome read whole, 0 outside the peaks (the reference)."""
    bw = pyBigWig.open(str(bigwig))
    values = np.nan_to_num(bw.values(chrom, 0, size, numpy=True))
    bw.close()
    inside = np.zeros(size, dtype=bool)
    for c, a, b in peaks:
        if c == chrom:
            inside[a:b] = True
    values[~inside] = 0
    return values


@pytest.mark.parametrize(("block", "write_runs"), [(37, 1), (1000, 1 << 20), (1 << 24, 1 << 20)])
def test_runs_round_trip_against_dense_values(tmp_path, monkeypatch, block, write_runs):
    """Every base of every chromosome, with peaks at both chromosome ends, overlapping and
    touching peaks, per-base values, constant runs crossing peak edges, zeros and a gap without
    data inside peaks, read in blocks that cut runs and peaks, written at once or per
    chromosome."""
    monkeypatch.setattr(signals, "WRITE_RUNS", write_runs)
    sizes = {"chrA": 3000, "chrB": 2500, "chrC": 800}
    bigwig = tmp_path / "x.bigWig"
    bw = pyBigWig.open(str(bigwig), "w")
    bw.addHeader(list(sizes.items()))
    rng = np.random.default_rng(3)
    for chrom, size in sizes.items():
        ends = np.unique(np.concatenate([rng.integers(1, size, size // 8), [size]]))
        ends = np.union1d(ends[(ends <= 1400) | (ends >= 1700)], [1400, 1700])  # one long run
        starts = np.concatenate([[0], ends[:-1]])
        values = np.round(rng.gamma(1.0, 2.0, len(starts)), 1)  # some runs are 0
        values[rng.random(len(starts)) < 0.1] = 0
        keep = (starts < 400) | (starts >= 460)  # bases 4xx without data (NaN)
        bw.addEntries([chrom] * int(keep.sum()), starts[keep].tolist(),
                      ends=ends[keep].tolist(), values=values[keep].tolist())
    bw.close()
    peaks = [("chrA", 0, 150), ("chrA", 100, 300), ("chrA", 300, 320), ("chrA", 380, 700),
             ("chrA", 1000, 1001), ("chrA", 1450, 1500), ("chrA", 1510, 1600),
             ("chrA", 2900, 3000),
             ("chrB", 5, 2495), ("chrB", 2000, 2500),
             ("chrC", 0, 800)]
    path = tmp_path / "x.narrowPeak"
    write_narrowpeak(path, peaks[::-1])  # any order
    write_inpeak(bigwig, path, sizes, tmp_path / "x.h5", block=block, progress=False)
    with InPeakSignal(tmp_path / "x.h5") as signal:
        for chrom, size in sizes.items():
            expected = dense_inpeak(bigwig, peaks, chrom, size)
            whole = signal.windows(chrom, np.array([0]), size)[0]
            np.testing.assert_array_equal(whole, expected)
            # Overlapping windows in any order, at both ends of the chromosome.
            starts = np.array([size - 100, 0, 50, 3, size - 100, size // 2])
            np.testing.assert_array_equal(signal.windows(chrom, starts, 100),
                                          expected[starts[:, None] + np.arange(100)])
    with h5py.File(tmp_path / "x.h5", "r") as h5:
        assert h5.attrs["format"] == "runs"
        assert (h5["value"][:] != 0).all() and (h5["length"][:] > 0).all()
        assert h5["length"][:].max() <= block


def test_inpeak_runs_split_at_intervals_and_drop_zeros():
    # bases 99..108
    values = np.array([1, 1, 1, 1, 1, 0, 2, np.nan, 3, 3], dtype=np.float32)
    start, length, value = inpeak_runs(values, np.array([100, 103]), np.array([102, 109]),
                                       origin=99)
    # [100, 102): 1, 1; [103, 109): 1, 0, 2, NaN, 3, 3. The 1s of both intervals are two runs.
    np.testing.assert_array_equal(start, [100, 103, 105, 107])
    np.testing.assert_array_equal(length, [2, 1, 1, 2])
    np.testing.assert_array_equal(value, np.array([1, 1, 2, 3], dtype=np.float32))
    assert start.dtype == np.int64 and length.dtype == np.int32 and value.dtype == np.float32


def test_old_format_is_refused(tmp_path):
    path = tmp_path / "old.h5"
    with h5py.File(path, "w") as h5:
        h5["value"] = np.zeros(3, np.float32)
    with pytest.raises(DataError, match=r"old\.h5: not an in-peak signal file"):
        InPeakSignal(path)


def test_rule_reruns_on_a_new_format():
    rule = (Path(__file__).parents[1] / "workflow/rules/features.smk").read_text()
    assert f'file_format="{INPEAK_FORMAT}"' in rule
