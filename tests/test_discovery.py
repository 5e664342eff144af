"""De novo motif discovery: the STREME-like engine (reimplemented), its statistics and shuffle,
STREME's MEME files, the engine choice (a fake ``streme`` program on the PATH), TOMTOM."""

from __future__ import annotations

import logging
import os
import stat
import sys
from pathlib import Path

import numpy as np
import pytest
from memelite.io import read_meme as memelite_read_meme
from scipy.stats import binom, hypergeom

from nettime.motifs.compare import benjamini_hochberg, best_jaspar_match, compare_motifs
from nettime.motifs.discovery import (
    ENGINE,
    DiscoveredMotif,
    background_frequencies,
    consensus,
    streme_like,
)
from nettime.motifs.enrichment import (
    EnrichmentTest,
    best_threshold,
    log_binomial_greater,
    log_fisher_greater,
)
from nettime.motifs.matrices import load_jaspar, planted_sequences, read_meme
from nettime.motifs.shuffle import decode, encode, shuffle_codes, shuffle_sequences, word_counts
from nettime.motifs.streme import (
    StremeError,
    discover,
    format_log10,
    parse_log10,
    read_streme_txt,
    write_streme_meme,
)

JUND = "MA0492.2"


@pytest.fixture(scope="module")
def jund_result():
    """The builtin engine on 300 random 100-bp sequences, 60% holding a JUND site."""
    seqs = planted_sequences(300, 100, 0.6, load_jaspar(JUND), seed=0)
    return streme_like(seqs, seed=1, progress=False)


# --- statistics -------------------------------------------------------------------------------

def test_fisher_and_binomial_tails_match_scipy():
    rng = np.random.default_rng(3)
    n_pos, n_neg = rng.integers(1, 300, 400), rng.integers(1, 300, 400)
    a, b = rng.integers(0, n_pos + 1), rng.integers(0, n_neg + 1)
    expected = hypergeom.logsf(a - 1, n_pos + n_neg, a + b, n_pos)
    np.testing.assert_allclose(log_fisher_greater(a, n_pos, b, n_neg), expected,
                               rtol=1e-9, atol=1e-9)
    rho = 0.37
    expected = binom.logsf(a - 1, a + b, rho)
    np.testing.assert_allclose(log_binomial_greater(a, b, rho), expected, rtol=1e-9, atol=1e-9)
    # Far past the float range the log stays finite and ordered.
    extreme = log_fisher_greater(np.array([5000, 4000]), 5000, np.array([0, 0]), 5000)
    assert np.isfinite(extreme).all() and extreme[0] < extreme[1] < -1000


def test_test_choice_follows_average_lengths():
    assert EnrichmentTest(np.full(10, 100), np.full(20, 100)).fisher
    assert not EnrichmentTest(np.full(10, 100), np.full(20, 120)).fisher


def test_best_threshold_separates_scores():
    test = EnrichmentTest(np.full(6, 50), np.full(6, 50))
    pos = np.array([9.0, 8.0, 7.0, 6.5, 1.0, -np.inf])
    neg = np.array([6.0, 2.0, 1.5, 0.5, 0.0, -1.0])
    threshold, log_p, a, b = best_threshold(pos, neg, test)
    assert (threshold, a, b) == (6.5, 4, 0)
    assert log_p == pytest.approx(float(hypergeom.logsf(3, 12, 4, 6)))
    assert best_threshold(pos, pos, test) == (float("inf"), 0.0, 0, 0)  # nothing enriched


def test_benjamini_hochberg():
    q = benjamini_hochberg(np.array([0.01, 0.04, 0.03, 0.5]))
    np.testing.assert_allclose(q, [0.04, 0.04 * 4 / 3, 0.04 * 4 / 3, 0.5])


# --- shuffle and sequences --------------------------------------------------------------------

def test_order2_shuffle_preserves_trinucleotide_counts():
    rng = np.random.default_rng(5)
    seqs = [rng.integers(0, 4, n).astype(np.uint8) for n in (5, 40, 100, 257)]
    seqs[2][30:34] = 4  # a run of N splits the sequence; it stays in place
    shuffled = shuffle_sequences(seqs, order=2, seed=9)
    for original, new in zip(seqs, shuffled, strict=True):
        assert len(new) == len(original)
        np.testing.assert_array_equal(word_counts(new, 3), word_counts(original, 3))
        np.testing.assert_array_equal(new == 4, original == 4)
        np.testing.assert_array_equal(new[:2], original[:2])
    assert any((a != b).any() for a, b in zip(seqs, shuffled, strict=True))
    again = shuffle_sequences(seqs, order=2, seed=9)
    assert all((a == b).all() for a, b in zip(shuffled, again, strict=True))
    for order in (0, 1, 3):
        new = shuffle_codes(seqs[3], order, rng)
        np.testing.assert_array_equal(word_counts(new, order + 1),
                                      word_counts(seqs[3], order + 1))


def test_sequence_codes():
    np.testing.assert_array_equal(encode("ACgtNR"), [0, 1, 2, 3, 4, 4])
    assert decode(np.array([0, 1, 2, 3, 4], np.uint8)) == "ACGTN"
    with pytest.raises(ValueError, match=r"primary\[1\].*0\.\.4"):
        streme_like([np.zeros(10, np.uint8), np.full(10, 7, np.uint8)], progress=False)
    with pytest.raises(ValueError, match="minw"):
        streme_like(["ACGT"] * 5, minw=9, maxw=8, progress=False)


def test_consensus_and_background():
    ppm = np.array([[0.9, 0.05, 0.03, 0.02], [0.45, 0.45, 0.05, 0.05], [0.25] * 4])
    assert consensus(ppm) == "AMN"
    np.testing.assert_allclose(background_frequencies(["AAAC"]), [0.375, 0.125, 0.125, 0.375])


# --- the engine -------------------------------------------------------------------------------

def test_builtin_engine_recovers_planted_motif(jund_result, warm_tomtom):
    top = jund_result[0]
    assert isinstance(top, DiscoveredMotif)
    assert top.engine == ENGINE and "reimplemented" in top.engine
    assert top.significant(0.05) and top.e_value < 1e-3
    assert top.matrix_id == f"1-{top.consensus}" and top.name == "STREME-1"
    assert 150 <= top.nsites <= 200
    assert (top.n_train_primary, top.n_holdout_primary) == (270, 30)
    assert top.train_primary_hits > 5 * top.train_control_hits
    match = compare_motifs(top, load_jaspar(JUND))
    assert match.q_value < 0.05, match
    assert best_jaspar_match(top)[0].target_name.upper().startswith(("JUN", "FOS", "ATF",
                                                                    "BATF"))
    # E-value = p-value x number of motifs reported.
    assert top.e_value == pytest.approx(top.p_value * len(jund_result))


def test_builtin_engine_is_deterministic(jund_result):
    again = streme_like(planted_sequences(300, 100, 0.6, load_jaspar(JUND), seed=0), seed=1,
                        progress=False)
    assert [m.matrix_id for m in again] == [m.matrix_id for m in jund_result]
    np.testing.assert_array_equal(again[0].ppm, jund_result[0].ppm)


@pytest.mark.parametrize("given_control", [False, True])
def test_builtin_engine_finds_nothing_in_random_sequences(given_control):
    rng = np.random.default_rng(11)
    primary = rng.integers(0, 4, (300, 100)).astype(np.uint8)
    control = rng.integers(0, 4, (300, 100)).astype(np.uint8) if given_control else None
    found = streme_like(primary, control, seed=2, progress=False)
    assert len(found) >= 3  # patience: three misses in a row end the search
    assert not any(m.significant(0.05) for m in found)
    assert all(m.e_value > 0.05 for m in found)


# --- STREME's files ---------------------------------------------------------------------------

def test_meme_writer_round_trip(jund_result, tmp_path: Path):
    path = tmp_path / "streme.txt"
    write_streme_meme(jund_result, path, background=np.array([0.3, 0.2, 0.2, 0.3]),
                      stop_reason="3 consecutive motifs exceeded the p-value threshold (0.05)")
    text = path.read_text()
    assert "MEME version" in text and "ALPHABET= ACGT" in text and "strands: + -" in text
    assert "Background letter frequencies\nA 0.300 C 0.200 G 0.200 T 0.300" in text
    assert f"MOTIF {jund_result[0].matrix_id} STREME-1\n" in text
    assert ENGINE in text
    assert not list(tmp_path.glob(".*tmp"))
    by_memelite = memelite_read_meme(str(path))
    ours = read_meme(path)
    parsed = read_streme_txt(path)
    assert list(by_memelite) == [f"{m.matrix_id} {m.name}" for m in jund_result]
    for motif, lite, mine, back in zip(jund_result, by_memelite.values(), ours, parsed,
                                       strict=True):
        np.testing.assert_allclose(lite.T, motif.ppm, atol=1e-6)
        np.testing.assert_allclose(mine.ppm, motif.ppm, atol=2e-6)
        assert (back.matrix_id, back.name, back.nsites) == (motif.matrix_id, motif.name,
                                                            motif.nsites)
        assert back.e_value == pytest.approx(motif.e_value, rel=0.06)
        assert back.engine == ENGINE and back.consensus == motif.consensus
        line = f"letter-probability matrix: alength= 4 w= {motif.width} nsites= {motif.nsites}"
        assert f"{line} E= {format_log10(motif.log10_e_value)}\n" in text


STREME_TXT = """\
********************************************************************************
STREME - Sensitive, Thorough, Rapid, Enriched Motif Elicitation
********************************************************************************
MEME version 5.5.5 (Release date: Thu Sep 14 08:48:04 2023 +1000)

********************************************************************************


ALPHABET= ACGT

strands: + -

Background letter frequencies
A 0.286 C 0.214 G 0.214 T 0.286

MOTIF 1-TGASTCA STREME-1
letter-probability matrix: alength= 4 w= 7 nsites= 42 E= 1.2e-010
 0.010000 0.010000 0.010000 0.970000
 0.010000 0.010000 0.970000 0.010000
 0.970000 0.010000 0.010000 0.010000
 0.010000 0.490000 0.490000 0.010000
 0.010000 0.010000 0.010000 0.970000
 0.010000 0.970000 0.010000 0.010000
 0.970000 0.010000 0.010000 0.010000

MOTIF 2-CCAAT STREME-2
letter-probability matrix: alength= 4 w= 5 nsites= 52413 S= 2.7e-9718
 0.000000 1.000000 0.000000 0.000000
 0.000000 1.000000 0.000000 0.000000
 1.000000 0.000000 0.000000 0.000000
 1.000000 0.000000 0.000000 0.000000
 0.000000 0.000000 0.000000 1.000000

********************************************************************************
Stopped because 3 consecutive motifs exceeded the p-value threshold (0.05).
********************************************************************************
"""


def test_streme_txt_written_from_the_format_parses(tmp_path: Path):
    path = tmp_path / "streme.txt"
    path.write_text(STREME_TXT)
    first, second = read_streme_txt(path)
    expected = np.full((7, 4), 0.01)
    expected[[0, 1, 2, 4, 5, 6], [3, 2, 0, 3, 1, 0]] = 0.97
    expected[3] = [0.01, 0.49, 0.49, 0.01]
    np.testing.assert_allclose(first.ppm, expected)
    assert (first.matrix_id, first.name, first.consensus) == ("1-TGASTCA", "STREME-1",
                                                              "TGASTCA")
    assert first.nsites == 42 and first.e_value == pytest.approx(1.2e-10)
    assert first.p_value is None and first.score is None and first.significant()
    assert first.engine == "streme (MEME Suite 5.5.5)"
    # S= is a score, not an E-value; far past the float range its log10 stays exact.
    assert second.nsites == 52413 and second.e_value is None and not second.significant()
    assert second.log10_score == pytest.approx(np.log10(2.7) - 9718)
    assert second.score == 0.0
    assert parse_log10("1.0e+000") == 0.0 and format_log10(-9.92) == "1.2e-010"


def test_empty_search_writes_and_reads_no_motif(tmp_path: Path):
    path = tmp_path / "none.txt"
    write_streme_meme([], path, stop_reason="no word is enriched in the primary sequences")
    assert read_streme_txt(path) == []
    assert "Stopped because no word is enriched" in path.read_text()


def test_streme_txt_bad_number_names_the_line(tmp_path: Path):
    path = tmp_path / "streme.txt"
    path.write_text(STREME_TXT.replace("E= 1.2e-010", "E= lots"))
    with pytest.raises(ValueError, match=r"streme.txt:17: field E="):
        read_streme_txt(path)


# --- engine choice ----------------------------------------------------------------------------

FAKE_STREME = """#!{python}
import sys
from pathlib import Path

args = sys.argv[1:]
out = Path(args[args.index("--oc") + 1])
out.mkdir(parents=True, exist_ok=True)
Path(sys.argv[0]).with_name("argv.txt").write_text(" ".join(args))
primary = Path(args[args.index("--p") + 1]).read_text()
assert primary.startswith(">seq0\\n"), primary[:20]
(out / "streme.txt").write_text({text!r})
"""


def fake_streme(folder: Path) -> Path:
    script = folder / "streme"
    script.write_text(FAKE_STREME.format(python=sys.executable, text=STREME_TXT))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def test_auto_without_binary_falls_back_with_logged_reason(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("PATH", str(tmp_path))
    seqs = planted_sequences(60, 60, 0.8, load_jaspar(JUND), seed=4)
    with caplog.at_level(logging.WARNING, logger="nettime.motifs.streme"):
        found = discover(seqs, engine="auto", nmotifs=1, progress=False)
    assert "not on the PATH" in caplog.text and "reimplemented" in caplog.text
    assert found and found[0].engine == ENGINE


def test_streme_engine_without_binary_raises(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(StremeError, match="not on the PATH"):
        discover(["ACGTACGTAC"] * 10, engine="streme")
    with pytest.raises(ValueError, match="engine must be"):
        discover(["ACGTACGTAC"] * 10, engine="meme")


@pytest.mark.parametrize("engine", ["streme", "auto"])
def test_streme_binary_is_run_and_parsed(tmp_path, monkeypatch, engine):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake_streme(bin_dir)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    out = tmp_path / "run"
    found = discover(["ACGTACGTACGGT", "TTGACTCAGG"], ["GGGCCCAAATT", "CATCATCATAA"],
                     engine=engine, nmotifs=2, seed=7, outdir=out, thresh=0.01)
    assert [m.matrix_id for m in found] == ["1-TGASTCA", "2-CCAAT"]
    assert found[0].engine == "streme (MEME Suite 5.5.5)" and found[0].nsites == 42
    argv = (bin_dir / "argv.txt").read_text().split()
    assert argv[:3] == ["--p", str(out / "primary.fa"), "--dna"]
    assert argv[argv.index("--n") + 1] == str(out / "control.fa")
    for flag, value in (("--nmotifs", "2"), ("--minw", "8"), ("--maxw", "15"),
                        ("--seed", "7"), ("--thresh", "0.01"),
                        ("--oc", str(out / "streme_out"))):
        assert argv[argv.index(flag) + 1] == value
    with pytest.raises(ValueError, match="builtin engine"):
        discover(["ACGTACGTACGGT"] * 3, engine="streme", pseudocount=2.0)
