"""The reference genome: FASTA access, sequence codes, chromosome sizes, blacklist, splits.

Sequences are stored as uint8 codes A=0, C=1, G=2, T=3; every other letter (N, IUPAC codes)
becomes 4 so that windows over unknown bases can be detected and dropped (the codes of
:func:`nettime.motifs.shuffle.encode`, which motif discovery reads too).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pyfaidx

from nettime.files import DataError
from nettime.motifs.shuffle import N_CODE, encode

if TYPE_CHECKING:  # loaded by the functions that make frames: model jobs never need it
    import pandas as pd


def encode_sequence(sequence: str | bytes) -> np.ndarray:
    """Sequence letters to codes; lower case (soft-masked) bases count as the base.

    Returns
    -------
    numpy.ndarray
        uint8 (len(sequence),): A=0, C=1, G=2, T=3, anything else 4.
    """
    return encode(sequence)


def one_hot(codes: np.ndarray, dtype: Any = np.float32) -> np.ndarray:
    """One-hot encoding of codes; code 4 (N) becomes all zeros.

    Parameters
    ----------
    codes
        uint8 (..., L).

    Returns
    -------
    numpy.ndarray
        ``dtype`` (..., L, 4), channels A, C, G, T.
    """
    table = np.zeros((N_CODE + 1, 4), dtype=dtype)
    table[np.arange(4), np.arange(4)] = 1
    return table[codes]



def unknown_chromosome_message(chrom: str, known: Iterable[str], owner: str = "genome") -> str:
    """Explain an unknown chromosome name, pointing out "1" vs "chr1" naming mismatches.

    ``owner`` names what ``known`` belongs to ("genome", "bigWig").
    """
    known = list(known)
    hint = ""
    if not chrom.startswith("chr") and f"chr{chrom}" in known:
        hint = f"; the {owner} names it 'chr{chrom}' (UCSC naming): a naming mismatch"
    elif chrom.startswith("chr") and chrom[3:] in known:
        hint = f"; the {owner} names it '{chrom[3:]}' (Ensembl naming): a naming mismatch"
    shown = ", ".join(known[:5]) + (", ..." if len(known) > 5 else "")
    return f"unknown chromosome {chrom!r} ({owner} chromosomes: {shown}){hint}"


def read_blacklist(path: str | os.PathLike[str], chrom_sizes: Mapping[str, int]) -> pd.DataFrame:
    """Read a BED blacklist (first three columns).

    Chromosomes outside the genome (e.g. contigs left out of the analysis) are ignored.

    Returns
    -------
    pandas.DataFrame
        Columns chrom (str), start, end (int64), sorted.
    """
    import pandas as pd

    rows = []
    with open(path) as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip() or line.startswith(("#", "track", "browser")):
                continue
            fields = line.rstrip("\n").split("\t")
            try:
                chrom, start, end = fields[0], int(fields[1]), int(fields[2])
            except (IndexError, ValueError):
                raise DataError(f"{path}:{number}: expected BED 'chrom<TAB>start<TAB>end', got "
                                f"{line.rstrip()!r}") from None
            if start < 0 or end < start:
                raise DataError(f"{path}:{number}: start {start} and end {end} do not form an "
                                "interval (need 0 <= start <= end)")
            if chrom in chrom_sizes:
                rows.append((chrom, start, end))
    frame = pd.DataFrame(rows, columns=["chrom", "start", "end"])
    frame = frame.astype({"chrom": str, "start": np.int64, "end": np.int64})
    return frame.sort_values(["chrom", "start", "end"], kind="stable").reset_index(drop=True)


def split_regions(chrom_sizes: Mapping[str, int], chromosomes: Iterable[str],
                  blacklist: pd.DataFrame | None = None) -> pd.DataFrame:
    """The regions of a split: its whole chromosomes minus the blacklisted intervals.

    Returns
    -------
    pandas.DataFrame
        Columns chrom, start, end (int64), sorted, disjoint.
    """
    import pandas as pd

    rows = []
    for chrom in chromosomes:
        if chrom not in chrom_sizes:
            raise DataError(f"split chromosome: {unknown_chromosome_message(chrom, chrom_sizes)}")
        cursor = 0
        if blacklist is not None:
            black = blacklist[blacklist["chrom"] == chrom].sort_values("start")
            for start, end in zip(black["start"].tolist(), black["end"].tolist(), strict=True):
                if start > cursor:
                    rows.append((chrom, cursor, start))
                cursor = max(cursor, end)
        if cursor < chrom_sizes[chrom]:
            rows.append((chrom, cursor, chrom_sizes[chrom]))
    frame = pd.DataFrame(rows, columns=["chrom", "start", "end"])
    return frame.astype({"chrom": str, "start": np.int64, "end": np.int64})


class Genome:
    """A FASTA file opened through pyfaidx, with its chromosome sizes.

    Parameters
    ----------
    fasta
        Path of the FASTA (an index ``.fai`` beside it is used or made).
    """

    def __init__(self, fasta: str | os.PathLike[str]):
        self.path = str(fasta)
        try:
            self._fasta = pyfaidx.Fasta(self.path, as_raw=True, sequence_always_upper=False,
                                        rebuild=False)
        except (OSError, pyfaidx.FastaIndexingError) as error:
            raise DataError(f"{self.path}: cannot open the FASTA: {error}") from None
        self.sizes = {name: len(record) for name, record in self._fasta.records.items()}

    def codes(self, chrom: str, start: int = 0, end: int | None = None) -> np.ndarray:
        """Codes of ``chrom[start:end]``: uint8 (end - start,)."""
        if chrom not in self.sizes:
            raise DataError(f"{self.path}: {unknown_chromosome_message(chrom, self.sizes)}")
        end = self.sizes[chrom] if end is None else end
        return encode_sequence(self._fasta[chrom][start:end])

    def windows(self, chrom: str, starts: Sequence[int] | np.ndarray, length: int) -> np.ndarray:
        """Codes of equal-length windows of one chromosome.

        Nearby windows are read as one span and gathered; windows far apart are read one by
        one, so memory stays near ``n * length`` whatever the span.

        Returns
        -------
        numpy.ndarray
            uint8 (n, length).
        """
        starts = np.asarray(starts, dtype=np.int64)
        if len(starts) == 0:
            return np.zeros((0, length), dtype=np.uint8)
        lo, hi = int(starts.min()), int(starts.max()) + length
        if hi - lo > 4 * len(starts) * length:
            return np.stack([self.codes(chrom, int(s), int(s) + length) for s in starts])
        block = self.codes(chrom, lo, hi)
        return block[(starts - lo)[:, None] + np.arange(length)]

    def close(self) -> None:
        self._fasta.close()

    def __enter__(self) -> Genome:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
