"""nettime.evaluation.denovo: sequences under predicted sites and peak summits, matched
background, and the de novo motif comparison of one condition (real pyfaidx, real memelite)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyfaidx
import pytest
from helpers import write_motif_world

from nettime.evaluation.denovo import (
    background_windows,
    denovo_condition,
    denovo_paths,
    read_denovo_table,
    read_sites,
    read_summits,
    widen_sites,
    write_background_fasta,
    write_interval_fasta,
    write_peak_fasta,
    write_site_fasta,
)
from nettime.files import DataError
from nettime.motifs.discovery import ENGINE
from nettime.motifs.matrices import read_meme
from nettime.motifs.streme import read_streme_txt

SIZES = {"chr1": 60000, "chr2": 30000}
CONDITION = "JUND.c1"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A random genome with JUND sites planted every ~600 bp; sites BED4 of two conditions
    (JUND.c1 at the planted sites, RANDOM.c1 anywhere), JUND peaks around the sites with their
    summits on them, and 1000-bp example windows tiling the genome."""
    return write_motif_world(tmp_path_factory.mktemp("denovo"), SIZES, seed=21, spacing=600,
                             jitter=50)


def test_read_sites_keeps_one_condition_and_names_bad_lines(world, tmp_path: Path):
    sites = read_sites(world["root"] / "sites.bed", CONDITION)
    assert len(sites) == len(world["sites"])
    assert sites["start"].dtype == np.int64
    bad = tmp_path / "bad.bed"
    bad.write_text("chr1\t10\t20\tA\nchr1\tten\t20\tA\n")
    with pytest.raises(DataError, match=r"bad.bed:2: fields 'start' and 'end'"):
        read_sites(bad, "A")
    bad.write_text("chr1\t10\t20\n")
    with pytest.raises(DataError, match=r"bad.bed:1: expected 4"):
        read_sites(bad, "A")


def test_site_widening_is_centred():
    sites = pd.DataFrame({"chrom": ["c", "c", "c"], "start": [100, 200, 300],
                          "end": [110, 211, 350]})
    wide = widen_sites(sites, min_length=30)
    assert wide["start"].tolist() == [90, 190, 300]
    assert wide["end"].tolist() == [120, 220, 350]
    centre = (wide["start"] + wide["end"]) / 2
    assert (abs(centre[:2] - (sites["start"] + sites["end"])[:2] / 2) <= 0.5).all()


def test_summit_sequences(world, tmp_path: Path):
    out = tmp_path / "peaks.fa"
    frame = write_peak_fasta(world["root"] / "genome.fa", world["root"] / "peaks.narrowPeak",
                             out, flank=50, chromosomes={"chr2"})
    peaks = [p for p in world["peaks"] if p[0] == "chr2"]
    assert len(frame) == len(peaks)
    for (chrom, start, _, summit), row in zip(peaks, frame.itertuples(), strict=True):
        at = start + summit
        assert (row.start, row.end) == (at - 50, at + 51)
        assert row.sequence == world["genome"][chrom][at - 50:at + 51]
    fasta = pyfaidx.Fasta(str(out))
    assert list(fasta.keys()) == frame["name"].tolist()
    assert str(fasta[frame["name"][0]]) == frame["sequence"][0]
    assert not list(tmp_path.glob(".*.tmp"))


def test_summit_minus_one_is_the_midpoint_and_bad_summits_are_named(tmp_path: Path):
    path = tmp_path / "p.narrowPeak"
    path.write_text("chr1\t100\t200\tp\t0\t.\t1\t-1\t1\t-1\nchr1\t300\t400\tp\t0\t.\t1\t-1\t1\t7\n")
    assert read_summits(path)["summit"].tolist() == [150, 307]
    path.write_text("chr1\t100\t200\tp\t0\t.\t1\t-1\t1\t100\n")
    with pytest.raises(DataError, match=r"p.narrowPeak:1: field 'peak' \(100\)"):
        read_summits(path)


def test_site_sequences_are_widened_genome_slices(world, tmp_path: Path):
    frame = write_site_fasta(world["root"] / "genome.fa", world["root"] / "sites.bed",
                             CONDITION, tmp_path / "sites.fa", min_length=30)
    assert (frame["end"] - frame["start"] == 30).all()
    for row in frame.head(20).itertuples():
        assert row.sequence == world["genome"][row.chrom][row.start:row.end]
        assert row.name == f"{row.chrom}:{row.start}-{row.end}"


def test_background_windows_avoid_sites_and_match_lengths(world, tmp_path: Path):
    avoid = pd.DataFrame(world["peaks"], columns=["chrom", "start", "end", "summit"])
    lengths = np.array([30] * 50 + [101] * 50)
    examples = pd.read_csv(world["root"] / "examples.bed", sep="\t",
                           names=["chrom", "start", "end"])
    windows = background_windows(examples, lengths, avoid, seed=3)
    np.testing.assert_array_equal(windows["end"] - windows["start"], lengths)
    for row in windows.itertuples():
        on = avoid[avoid["chrom"] == row.chrom]
        assert not ((on["start"] < row.end) & (on["end"] > row.start)).any()
        assert row.start // 1000 == (row.end - 1) // 1000  # inside one example window
    again = background_windows(examples, lengths, avoid, seed=3)
    pd.testing.assert_frame_equal(windows, again)
    frame = write_background_fasta(world["root"] / "genome.fa", world["root"] / "examples.bed",
                                   lengths, avoid, tmp_path / "bg.fa", seed=3)
    assert [len(s) for s in frame["sequence"]] == lengths.tolist()
    with pytest.raises(DataError, match="no example window holds"):
        background_windows(examples, np.array([5000]), avoid)


def test_fasta_is_written_atomically(world, tmp_path: Path):
    out = tmp_path / "x.fa"
    bad = pd.DataFrame({"chrom": ["chrZ"], "start": [0], "end": [10]})
    with pytest.raises(DataError, match="chrZ"):
        write_interval_fasta(world["root"] / "genome.fa", bad, out)
    assert not out.exists() and not list(tmp_path.iterdir())


def test_denovo_condition_compares_site_and_peak_motifs(world, tmp_path: Path, warm_tomtom):
    table = denovo_condition(CONDITION, world["root"] / "genome.fa", world["root"] / "sites.bed",
                             world["root"] / "peaks.narrowPeak", world["root"] / "examples.bed",
                             tmp_path, engine="builtin", progress=False, seed=1)
    paths = denovo_paths(tmp_path, CONDITION)
    assert all(p.exists() for p in paths.values())
    row = read_denovo_table(paths["table"]).iloc[0]
    assert row["status"] == "compared"
    assert row["sites_engine"] == ENGINE and row["peaks_engine"] == ENGINE
    assert row["sites_control"] == row["peaks_control"] == "matched background"
    assert row["sites_n_sequences"] == len(world["sites"])
    assert row["tomtom_q_value"] < 0.05
    assert row["sites_e_value"] < 0.05 and row["peaks_e_value"] < 0.05
    for key in ("sites", "peaks"):
        assert row[f"{key}_jaspar_name"].upper().startswith(("JUN", "FOS", "ATF", "BATF"))
        motifs = read_streme_txt(paths[f"{key}_meme"])
        assert motifs[0].matrix_id == row[f"{key}_motif_id"]
        assert len(read_meme(paths[f"{key}_meme"])) == row[f"{key}_n_motifs"]
    assert table["condition"].tolist() == [CONDITION]


def test_denovo_condition_says_when_a_set_has_no_motif(world, tmp_path: Path, warm_tomtom):
    denovo_condition("RANDOM.c1", world["root"] / "genome.fa", world["root"] / "sites.bed",
                     world["root"] / "peaks.narrowPeak", world["root"] / "examples.bed",
                     tmp_path, engine="builtin", progress=False, seed=1)
    row = read_denovo_table(denovo_paths(tmp_path, "RANDOM.c1")["table"]).iloc[0]
    assert row["status"].startswith("no significant motif") and "predicted sites" in row["status"]
    assert "ChIP-seq peaks" not in row["status"]
    for column in ("sites_motif_id", "sites_e_value", "sites_jaspar_id", "tomtom_p_value",
                   "tomtom_q_value"):
        assert pd.isna(row[column]), column
    assert not pd.isna(row["peaks_motif_id"])


def test_long_sites_are_cut_to_the_longest_length_around_their_centre():
    sites = pd.DataFrame({"chrom": ["chr1", "chr1"], "start": [100, 1000],
                          "end": [110, 2200]})
    out = widen_sites(sites, min_length=30, max_length=500)
    assert list(out["end"] - out["start"]) == [30, 500]
    assert list(out["start"]) == [105 - 15, 1600 - 250]


def test_without_room_for_a_background_the_sets_are_searched_against_shuffles(
        world, tmp_path: Path, warm_tomtom):
    # Examples that are the peaks themselves: every place a background could go is a peak.
    examples = tmp_path / "examples.bed"
    examples.write_text("".join(f"{c}\t{s}\t{e}\n" for c, s, e, _ in world["peaks"]))
    denovo_condition(CONDITION, world["root"] / "genome.fa", world["root"] / "sites.bed",
                     world["root"] / "peaks.narrowPeak", examples, tmp_path / "out",
                     engine="builtin", progress=False, seed=1)
    paths = denovo_paths(tmp_path / "out", CONDITION)
    row = read_denovo_table(paths["table"]).iloc[0]
    for key in ("sites", "peaks"):
        assert row[f"{key}_control"].startswith("shuffled")
        assert paths[f"{key}_background"].read_text() == ""
    # The planted motif is still found against shuffled sequences.
    assert row["sites_jaspar_name"].upper().startswith(("JUN", "FOS", "ATF", "BATF"))
