"""Peaks: narrowPeak reading, the greedy merge, example windows, base labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pybedtools
import pytest
from conftest import write_fasta, write_narrowpeak

from nettime.data.genome import Genome, split_regions
from nettime.data.peaks import (
    base_labels,
    build_examples,
    drop_non_acgt,
    example_windows,
    filter_regions,
    merge_peaks,
    read_bed,
    read_narrowpeak,
    write_bed,
)
from nettime.files import DataError, read_chrom_sizes


def frame(rows):
    return pd.DataFrame(rows, columns=["chrom", "start", "end"]).astype(
        {"start": np.int64, "end": np.int64})


def merged(rows, **kwargs):
    return [tuple(r) for r in merge_peaks(frame(rows), **kwargs).itertuples(index=False)]


def test_contained_peak_is_dropped():
    assert merged([("c", 0, 500), ("c", 100, 300)]) == [("c", 0, 500)]


@pytest.mark.parametrize(("overlap", "expect_merge"), [(199, False), (200, True), (201, True)])
def test_min_overlap_boundary(overlap, expect_merge):
    # Peaks of 300 bp: union = 600 - overlap <= 600, so only the overlap decides.
    rows = [("c", 1000, 1300), ("c", 1300 - overlap, 1600 - overlap)]
    expected = [("c", 1000, 1600 - overlap)] if expect_merge else rows
    assert merged(rows) == expected


@pytest.mark.parametrize(("union", "expect_merge"), [(599, True), (600, True), (601, False)])
def test_max_union_boundary(union, expect_merge):
    # Peaks of 450 bp overlap by 900 - union >= 299 bases, so only the union decides.
    rows = [("c", 0, 450), ("c", union - 450, union)]
    expected = [("c", 0, union)] if expect_merge else rows
    assert merged(rows) == expected


def test_chain_of_merges_and_new_start():
    rows = [("c", 0, 300), ("c", 100, 400), ("c", 200, 500), ("c", 250, 650)]
    # 0-300 + 100-400 -> 0-400; + 200-500 -> 0-500; 250-650 union 650 > 600 -> new interval.
    assert merged(rows) == [("c", 0, 500), ("c", 250, 650)]
    # The comparison is always against the current interval, not the original first peak.
    assert merged([("c", 0, 300), ("c", 90, 390), ("c", 180, 480)]) == [("c", 0, 480)]


def test_unsorted_input_and_chromosomes_apart():
    rows = [("b", 500, 800), ("a", 100, 400), ("b", 0, 300), ("a", 0, 300)]
    assert merged(rows) == [("a", 0, 400), ("b", 0, 300), ("b", 500, 800)]


def test_merge_parameters_are_configurable():
    rows = [("c", 0, 300), ("c", 150, 450)]
    assert merged(rows, min_overlap=100) == [("c", 0, 450)]
    assert merged(rows, min_overlap=100, max_union=400) == rows


def test_intervals_must_lie_inside_the_split_regions():
    sizes = {"a": 5000, "b": 5000, "c": 5000}
    regions = split_regions(sizes, ["a", "b"], frame([("a", 1000, 1200)]))
    assert [tuple(r) for r in regions.itertuples(index=False)] == [
        ("a", 0, 1000), ("a", 1200, 5000), ("b", 0, 5000)]
    intervals = frame([("a", 700, 1000), ("a", 900, 1001), ("a", 1199, 1300), ("a", 1200, 1500),
                       ("b", 10, 20), ("c", 10, 20)])
    kept = filter_regions(intervals, regions)
    assert [tuple(r) for r in kept.itertuples(index=False)] == [
        ("a", 700, 1000), ("a", 1200, 1500), ("b", 10, 20)]


def test_windows_at_chromosome_ends():
    sizes = {"c": 3000}
    intervals = frame([("c", 0, 100), ("c", 450, 550), ("c", 2400, 2500), ("c", 2900, 3000)])
    windows = example_windows(intervals, sizes, length=1000)
    # mid 50 -> [-450, 550) out; mid 500 -> [0, 1000) in; mid 2450 -> [1950, 2950) in;
    # mid 2950 -> [2450, 3450) out.
    assert [tuple(r) for r in windows.itertuples(index=False)] == [("c", 0, 1000),
                                                                  ("c", 1950, 2950)]
    odd = example_windows(frame([("c", 1000, 1001)]), sizes, length=1000)
    assert (odd["start"].iloc[0], odd["end"].iloc[0]) == (500, 1500)


def test_windows_over_n_bases_are_dropped(tmp_path):
    write_fasta(tmp_path / "g.fa", {"c": 5000}, np.random.default_rng(0), n_runs={"c": (2000, 2001)})
    with Genome(tmp_path / "g.fa") as genome:
        windows = frame([("c", 0, 1000), ("c", 1001, 2001), ("c", 2000, 3000), ("c", 2001, 3001)])
        kept = drop_non_acgt(windows, genome)
    assert list(kept["start"]) == [0, 2001]


def test_build_examples_respects_split_and_blacklist(resources):
    root = resources["root"]
    sizes = read_chrom_sizes(root / "genome/chrom.sizes")
    from nettime.data.genome import read_blacklist

    blacklist = read_blacklist(root / "genome/blacklist.bed", sizes)
    files = [root / f"peaks/{c}.{s}.narrowPeak.gz" for c in resources["conditions"]
             for s in ("conserved", "relaxed")]
    with Genome(root / "genome/genome.fa") as genome:
        examples = build_examples(files, genome, sizes, ["chr1", "chr2"], blacklist)
        assert set(examples["chrom"]) <= {"chr1", "chr2"}
        assert np.all(examples["end"] - examples["start"] == 1000)
        # Every example is centred on a merged interval that avoids the blacklist.
        for chrom, start, end in examples.itertuples(index=False):
            codes = genome.codes(chrom, start, end)
            assert codes.max() < 4
    assert len(examples) > 10
    path = tmp_path_bed = root / "examples.bed"
    write_bed(examples, tmp_path_bed)
    pd.testing.assert_frame_equal(read_bed(path), examples)


def test_labels_match_bedtools_intersect(resources, tmp_path):
    root = resources["root"]
    sizes = read_chrom_sizes(root / "genome/chrom.sizes")
    peaks_path = root / "peaks/TFA.c1.relaxed.narrowPeak.gz"
    peaks = read_narrowpeak(peaks_path, sizes)
    rng = np.random.default_rng(3)
    chroms = rng.choice(list(sizes), 40)
    starts = [int(rng.integers(0, sizes[c] - 1000)) for c in chroms]
    windows = frame(list(zip(chroms, starts, [s + 1000 for s in starts], strict=True)))
    labels = base_labels(windows, peaks, 1000)
    # Independent: one BED line per base, bedtools intersect -u against the peak file.
    bases = "".join(f"{c}\t{s + i}\t{s + i + 1}\t{w}\t{i}\n"
                    for w, (c, s) in enumerate(zip(chroms, starts, strict=True))
                    for i in range(1000))
    try:
        hits = pybedtools.BedTool(bases, from_string=True).intersect(str(peaks_path), u=True)
        expected = np.zeros_like(labels)
        for f in hits:
            expected[int(f.fields[3]), int(f.fields[4])] = 1
    finally:
        pybedtools.cleanup()
    assert expected.sum() > 0
    np.testing.assert_array_equal(labels, expected)


def test_narrowpeak_tolerates_track_and_comment_lines(tmp_path):
    path = tmp_path / "p.narrowPeak"
    write_narrowpeak(path, [("chr1", 5, 10)], header=True)
    assert read_narrowpeak(path).values.tolist() == [["chr1", 5, 10]]


@pytest.mark.parametrize(("line", "message"), [
    ("chr1\t50\t40\tp\t0\t.\t1\t-1\t1\t5", r"p\.narrowPeak:3: field 'start' \(50\)"),
    ("chrX\t1\t40\tp\t0\t.\t1\t-1\t1\t5", r"p\.narrowPeak:3: field 'chrom': unknown chromosome 'chrX'"),
    ("1\t1\t40\tp\t0\t.\t1\t-1\t1\t5", r"p\.narrowPeak:3: .*genome names it 'chr1' \(UCSC naming\)"),
    ("chr1\t1\t40\tp", r"p\.narrowPeak:3: expected 10 .* found 4"),
    ("chr1\tx\t40\tp\t0\t.\t1\t-1\t1\t5", r"p\.narrowPeak:3: fields 'start' and 'end'"),
    ("chr1\t1\t400000\tp\t0\t.\t1\t-1\t1\t5", r"p\.narrowPeak:3: field 'end' .* past the end"),
])
def test_bad_narrowpeak_names_file_and_line(tmp_path, line, message):
    path = tmp_path / "p.narrowPeak"
    path.write_text("track name=x\nchr1\t1\t40\tp\t0\t.\t1\t-1\t1\t5\n" + line + "\n")
    with pytest.raises(DataError, match=message):
        read_narrowpeak(path, {"chr1": 1000, "chr2": 1000})
