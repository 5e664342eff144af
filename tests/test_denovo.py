"""nettime.evaluation.denovo: sequences under predicted sites and peak summits, matched
background, and the de novo motif comparison of one condition (real pyfaidx, real memelite)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyfaidx
import pytest

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
from nettime.motifs.compare import tomtom
from nettime.motifs.discovery import ENGINE
from nettime.motifs.matrices import Motif, load_jaspar, read_meme
from nettime.motifs.streme import read_streme_txt

SIZES = {"chr1": 60000, "chr2": 30000}
CONDITION = "JUND.c1"


@pytest.fixture(scope="session")
def warm_tomtom():
    """memelite compiles TOMTOM with numba on first use (~30 s): pay it once per session."""
    rng = np.random.default_rng(0)
    targets = [Motif("t", f"t{i}", rng.dirichlet(np.ones(4), 8)) for i in range(3)]
    tomtom(targets[0], targets)
    return True


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A random genome with JUND sites planted every ~600 bp; sites BED4 of two conditions
    (JUND.c1 at the planted sites, RANDOM.c1 anywhere), JUND peaks around the sites with their
    summits on them, and 1000-bp example windows tiling the genome."""
    root = tmp_path_factory.mktemp("denovo")
    rng = np.random.default_rng(21)
    jund = load_jaspar("MA0492.2")
    cumulative = np.cumsum(jund.ppm, axis=1)
    genome = {c: rng.integers(0, 4, n).astype(np.uint8) for c, n in SIZES.items()}
    sites, peaks, random_sites = [], [], []
    for chrom, codes in genome.items():
        for at in range(300, len(codes) - 300, 600):
            at += int(rng.integers(-50, 50))
            site = (rng.random((jund.width, 1)) > cumulative).sum(axis=1).astype(np.uint8)
            codes[at:at + jund.width] = site if rng.random() < 0.5 else 3 - site[::-1]
            sites.append((chrom, at - int(rng.integers(0, 4)), at + jund.width))
            start = at - int(rng.integers(60, 120))
            peaks.append((chrom, start, at + 150, at + jund.width // 2 - start))
            other = int(rng.integers(0, len(codes) - 20))
            random_sites.append((chrom, other, other + 12))
    with open(root / "genome.fa", "w") as handle:
        for chrom, codes in genome.items():
            text = "".join(np.array(list("ACGT"))[codes])
            handle.write(f">{chrom}\n" + "".join(text[i:i + 70] + "\n"
                                                 for i in range(0, len(text), 70)))
    pyfaidx.Faidx(str(root / "genome.fa")).close()
    rows = [(*s, CONDITION) for s in sites] + [(*s, "RANDOM.c1") for s in random_sites]
    rows.sort(key=lambda r: (r[0], r[1]))
    (root / "sites.bed").write_text("".join(f"{c}\t{s}\t{e}\t{n}\n" for c, s, e, n in rows))
    (root / "peaks.narrowPeak").write_text("".join(
        f"{c}\t{s}\t{e}\tpeak{i}\t0\t.\t5.0\t-1\t3.0\t{summit}\n"
        for i, (c, s, e, summit) in enumerate(peaks)))
    (root / "examples.bed").write_text("".join(
        f"{c}\t{s}\t{s + 1000}\n" for c, n in SIZES.items() for s in range(0, n - 999, 1000)))
    letters = {c: "".join(np.array(list("ACGT"))[codes]) for c, codes in genome.items()}
    return {"root": root, "genome": letters, "sites": sites, "peaks": peaks}


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
