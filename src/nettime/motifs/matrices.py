"""Motif sources: JASPAR matrices read offline through pyjaspar, and MEME-format files.

A :class:`Motif` is a position probability matrix (PPM) with columns in A, C, G, T order. The
simulator plants these motifs into the genome; the planted set is written back as a MEME file so
later stages (FIMO features, de novo motif comparison) read the exact matrices that were used.
"""

from __future__ import annotations

import functools
import os
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ALPHABET = "ACGT"
#: The value of ``motifs: {TF: none}``: a TF with no known motif (its motif channels are 0).
NO_MOTIF = "none"
JASPAR_ID = re.compile(r"^(MA|UN|PB|PF|PH|CN|CI|CM|POL)[0-9]{4}\.[0-9]+$")


class MotifError(ValueError):
    """A motif that cannot be read: unknown JASPAR ID, unreadable or malformed MEME file."""


@dataclass(frozen=True, eq=False)
class Motif:
    """One motif.

    Attributes
    ----------
    name
        Display name (usually the TF).
    matrix_id
        JASPAR matrix ID, or the MEME motif identifier.
    ppm
        float64 (w, 4): letter probabilities per position, columns A, C, G, T; rows sum to 1.
    """

    name: str
    matrix_id: str
    ppm: np.ndarray

    @property
    def width(self) -> int:
        return int(self.ppm.shape[0])

    def reverse_complement(self) -> Motif:
        """The motif of the other strand (rows reversed, A<->T and C<->G swapped)."""
        return Motif(self.name, self.matrix_id, self.ppm[::-1, ::-1].copy())

    def log_odds(self, background: np.ndarray | None = None, pseudo: float = 1e-3) -> np.ndarray:
        """float64 (w, 4) log2 odds of each letter against ``background`` (uniform default)."""
        bg = np.full(4, 0.25) if background is None else np.asarray(background, dtype=float)
        ppm = (self.ppm + pseudo) / (1 + 4 * pseudo)
        return np.log2(ppm / bg)

    def sample_site(self, rng: np.random.Generator) -> np.ndarray:
        """uint8 (w,) codes of one site drawn from the PPM, on a random strand: the reverse
        complement with probability 1/2."""
        cumulative = np.cumsum(self.ppm, axis=1)
        site = (rng.random((self.width, 1)) > cumulative).sum(axis=1).astype(np.uint8)
        return 3 - site[::-1] if rng.random() < 0.5 else site


def planted_sequences(n: int, length: int, fraction: float, motif: Motif,
                      seed: int) -> np.ndarray:
    """uint8 (n, length) uniformly random sequences, each holding with probability
    ``fraction`` one site of ``motif`` (:meth:`Motif.sample_site`) at a random place: the
    sequences the discovery engine is checked and timed on."""
    rng = np.random.default_rng(seed)
    seqs = rng.integers(0, 4, (n, length)).astype(np.uint8)
    for i in np.flatnonzero(rng.random(n) < fraction):
        site = motif.sample_site(rng)
        at = rng.integers(0, length - motif.width + 1)
        seqs[i, at:at + motif.width] = site
    return seqs


def _normalise(matrix: np.ndarray, where: str) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[1] != 4 or matrix.shape[0] == 0:
        raise MotifError(f"{where}: expected a (width, 4) matrix, got shape {matrix.shape}")
    if (matrix < 0).any() or not np.isfinite(matrix).all():
        raise MotifError(f"{where}: the matrix has negative or non-finite entries")
    totals = matrix.sum(axis=1, keepdims=True)
    if (totals <= 0).any():
        raise MotifError(f"{where}: a position of the matrix sums to zero")
    return matrix / totals


@functools.lru_cache(maxsize=1)
def _jaspar():
    from pyjaspar import jaspardb

    return jaspardb()


def load_jaspar(matrix_id: str) -> Motif:
    """Read a JASPAR matrix by ID (e.g. ``"MA0492.2"``) from pyjaspar's offline database."""
    with warnings.catch_warnings():
        # pyjaspar warns and returns None for unknown IDs; we raise instead.
        warnings.simplefilter("ignore")
        record = _jaspar().fetch_motif_by_id(matrix_id)
    if record is None:
        raise MotifError(f"JASPAR matrix {matrix_id!r} is not in the offline JASPAR database "
                         f"({_jaspar().release})")
    counts = np.array([record.counts[letter] for letter in ALPHABET], dtype=np.float64).T
    return Motif(str(record.name), str(record.matrix_id), _normalise(counts, matrix_id))


@functools.lru_cache(maxsize=8)
def jaspar_collection(collection: str = "CORE", tax_group: str = "vertebrates"
                      ) -> tuple[Motif, ...]:
    """Every matrix of a JASPAR collection and taxonomic group (latest version of each ID)
    from pyjaspar's offline database, read once per process.

    Raises
    ------
    MotifError
        When the collection and group hold no matrix.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        records = _jaspar().fetch_motifs(collection=collection, tax_group=[tax_group],
                                         all_versions=False)
    motifs = []
    for record in records:
        counts = np.array([record.counts[letter] for letter in ALPHABET], dtype=np.float64).T
        motifs.append(Motif(str(record.name), str(record.matrix_id),
                            _normalise(counts, str(record.matrix_id))))
    if not motifs:
        raise MotifError(f"JASPAR ({_jaspar().release}) has no matrix in collection "
                         f"{collection!r}, taxonomic group {tax_group!r}")
    return tuple(motifs)


def read_meme(path: str | os.PathLike[str]) -> list[Motif]:
    """Read every motif of a MEME-format file (``letter-probability matrix`` blocks).

    Raises
    ------
    MotifError
        When the file cannot be read, has no motif, or a matrix is malformed; the message names
        the file and line.
    """
    path = str(path)
    try:
        with open(path) as handle:
            lines = handle.read().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise MotifError(f"cannot read the MEME file {path}: {reason}") from None
    alphabet = ALPHABET
    motifs: list[Motif] = []
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        if line.startswith("ALPHABET="):
            alphabet = line.split("=", 1)[1].strip()
            if alphabet not in ("ACGT", "ACGU"):
                raise MotifError(f"{path}:{i + 1}: only the DNA alphabet ACGT is supported, "
                                 f"not {alphabet!r}")
        if line.startswith("MOTIF"):
            fields = line.split()
            if len(fields) < 2:
                raise MotifError(f"{path}:{i + 1}: MOTIF line without an identifier")
            identifier = fields[1]
            name = fields[2] if len(fields) > 2 else identifier
            start = i + 1
            while i + 1 < len(lines) and not lines[i + 1].strip().startswith(
                    "letter-probability matrix"):
                i += 1
                if lines[i].strip().startswith("MOTIF"):
                    raise MotifError(f"{path}:{start}: motif {identifier!r} has no "
                                     "letter-probability matrix")
            if i + 1 >= len(lines):
                raise MotifError(f"{path}:{start}: motif {identifier!r} has no "
                                 "letter-probability matrix")
            i += 1
            header = lines[i]
            match = re.search(r"w=\s*(\d+)", header)
            rows: list[list[float]] = []
            i += 1
            while i < len(lines):
                text = lines[i].strip()
                if not text:
                    if match is None and rows:
                        break
                    i += 1
                    if match is not None and len(rows) >= int(match.group(1)):
                        break
                    continue
                try:
                    values = [float(v) for v in text.split()]
                except ValueError:
                    break
                if len(values) != 4:
                    raise MotifError(f"{path}:{i + 1}: expected 4 probabilities, got "
                                     f"{len(values)}")
                rows.append(values)
                i += 1
                if match is not None and len(rows) == int(match.group(1)):
                    break
            if match is not None and len(rows) != int(match.group(1)):
                raise MotifError(f"{path}: motif {identifier!r} declares w={match.group(1)} "
                                 f"but has {len(rows)} rows")
            where = f"{path}: motif {identifier!r}"
            motifs.append(Motif(name, identifier, _normalise(np.array(rows), where)))
            continue
        i += 1
    if not motifs:
        raise MotifError(f"{path}: no motif found (expected 'MOTIF' and 'letter-probability "
                         "matrix' lines of the MEME format)")
    return motifs


def write_meme(motifs: Iterable[Motif], path: str | os.PathLike[str]) -> None:
    """Write motifs as a minimal MEME (version 4) file; identifiers are the matrix IDs.

    The file is written in place; callers wrap it in :func:`nettime.files.atomic_output`.
    """
    out = ["MEME version 4", "", f"ALPHABET= {ALPHABET}", "", "strands: + -", "",
           "Background letter frequencies", "A 0.25 C 0.25 G 0.25 T 0.25", ""]
    for motif in motifs:
        out.append(f"MOTIF {motif.matrix_id} {motif.name}")
        out.append(f"letter-probability matrix: alength= 4 w= {motif.width} nsites= 20 E= 0")
        out.extend(" " + " ".join(f"{v:.6f}" for v in row) for row in motif.ppm)
        out.append("")
    Path(path).write_text("\n".join(out))


def load_motif(spec: str, name: str | None = None, base_dir: str | None = None) -> Motif:
    """A motif from a JASPAR matrix ID or the path of a MEME file (its first motif).

    Parameters
    ----------
    spec
        ``"MA0492.2"``-like JASPAR ID, or a path ending in ``.meme``.
    name
        Name to give the motif (default: the source's name).
    base_dir
        Directory against which a relative MEME path is also tried (e.g. the config's).
    """
    spec = spec.strip()
    if JASPAR_ID.match(spec):
        motif = load_jaspar(spec)
    else:
        path = Path(spec)
        if not path.exists() and base_dir is not None and (Path(base_dir) / path).exists():
            path = Path(base_dir) / path
        motif = read_meme(path)[0]
    if name is not None:
        motif = Motif(name, motif.matrix_id, motif.ppm)
    return motif


def motif_similarity(a: Motif, b: Motif, min_overlap: float = 0.7) -> float:
    """Best mean column correlation of two motifs over offsets and strands, in [-1, 1].

    Used to group TFs into motif families (e.g. JUN/JUNB/JUND share the AP-1 site). Offsets
    need an overlap of at least ``min_overlap`` of the shorter motif.
    """
    best = -1.0
    short = min(a.width, b.width)
    need = max(3, int(np.ceil(min_overlap * short)))
    pa = a.ppm - a.ppm.mean(axis=1, keepdims=True)
    for other in (b, b.reverse_complement()):
        pb = other.ppm - other.ppm.mean(axis=1, keepdims=True)
        for offset in range(-(b.width - need), a.width - need + 1):
            lo_a, lo_b = max(0, offset), max(0, -offset)
            n = min(a.width - lo_a, b.width - lo_b)
            if n < need:
                continue
            x, y = pa[lo_a:lo_a + n], pb[lo_b:lo_b + n]
            num = (x * y).sum(axis=1)
            den = np.sqrt((x * x).sum(axis=1) * (y * y).sum(axis=1)) + 1e-12
            best = max(best, float((num / den).mean()))
    return best
