"""nettime.motifs.matrices: JASPAR through pyjaspar, MEME reading and writing, motif similarity."""

from pathlib import Path

import numpy as np
import pytest

from nettime.motifs.matrices import (
    Motif,
    MotifError,
    load_jaspar,
    load_motif,
    motif_similarity,
    read_meme,
    write_meme,
)


def test_jaspar_motif_is_a_probability_matrix():
    motif = load_jaspar("MA0492.2")
    assert motif.name == "JUND"
    assert motif.matrix_id == "MA0492.2"
    assert motif.ppm.dtype == np.float64
    assert motif.ppm.shape == (11, 4)
    np.testing.assert_allclose(motif.ppm.sum(axis=1), 1.0)
    # The AP-1 core TGA(C/G)TCA: position with the highest T probability exists.
    assert motif.ppm[:, 3].max() > 0.8


def test_unknown_jaspar_id_raises():
    with pytest.raises(MotifError, match="MA9999.9"):
        load_motif("MA9999.9")


def test_meme_round_trip(tmp_path: Path):
    motifs = [load_jaspar("MA0148.5"), load_jaspar("MA0139.2")]
    path = tmp_path / "two.meme"
    write_meme(motifs, path)
    back = read_meme(path)
    assert [m.matrix_id for m in back] == ["MA0148.5", "MA0139.2"]
    assert [m.name for m in back] == [m.name for m in motifs]
    for a, b in zip(motifs, back, strict=True):
        np.testing.assert_allclose(a.ppm, b.ppm, atol=1e-6)
    # load_motif on a MEME path takes its first motif and renames it.
    first = load_motif(str(path), name="FOXA1")
    assert first.name == "FOXA1" and first.matrix_id == "MA0148.5"


def test_meme_without_w_and_relative_path(tmp_path: Path):
    (tmp_path / "m.meme").write_text(
        "MEME version 4\n\nALPHABET= ACGT\n\nMOTIF X1 myTF\n"
        "letter-probability matrix: alength= 4\n 1 0 0 0\n 0 2 0 0\n 0 0 0 5\n\nURL none\n")
    motif = load_motif("m.meme", base_dir=str(tmp_path))
    assert motif.name == "myTF"
    np.testing.assert_allclose(motif.ppm, [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1]])


@pytest.mark.parametrize("text, message", [
    ("MEME version 4\n", "no motif found"),
    ("MOTIF A\nletter-probability matrix: alength= 4 w= 2\n 0.5 0.5 0 0\n", "declares w=2"),
    ("MOTIF A\nletter-probability matrix: alength= 4 w= 1\n 0.5 0.5 0\n", "expected 4"),
    ("ALPHABET= ACDEFGHIKLMNPQRSTVWY\nMOTIF A\n", "only the DNA alphabet"),
    ("MOTIF A\nletter-probability matrix: alength= 4 w= 1\n 0 0 0 0\n", "sums to zero"),
    ("MOTIF A\nnothing here\n", "has no letter-probability matrix"),
])
def test_malformed_meme_names_the_file(tmp_path: Path, text: str, message: str):
    path = tmp_path / "bad.meme"
    path.write_text(text)
    with pytest.raises(MotifError, match=message) as info:
        read_meme(path)
    assert str(path) in str(info.value)


def test_unreadable_meme_file(tmp_path: Path):
    with pytest.raises(MotifError, match="cannot read the MEME file"):
        load_motif(str(tmp_path / "absent.meme"))


def test_reverse_complement_and_similarity():
    jund, jun, foxa1 = load_jaspar("MA0492.2"), load_jaspar("MA0488.2"), load_jaspar("MA0148.5")
    rc = jund.reverse_complement()
    np.testing.assert_allclose(rc.reverse_complement().ppm, jund.ppm)
    np.testing.assert_allclose(rc.ppm[0], jund.ppm[-1][::-1])
    assert motif_similarity(jund, rc) == pytest.approx(1.0)
    assert motif_similarity(jund, jun) > 0.84  # the AP-1 family
    assert motif_similarity(jund, foxa1) < 0.6


def test_log_odds_shape():
    motif = Motif("x", "x", np.array([[1.0, 0, 0, 0], [0.25, 0.25, 0.25, 0.25]]))
    lo = motif.log_odds()
    assert lo.shape == (2, 4)
    assert lo[0, 0] > 1.9 and abs(lo[1]).max() < 1e-9
