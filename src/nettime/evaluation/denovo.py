"""De novo motifs under predicted binding sites and under ChIP-seq peaks of one condition (the
paper's Fig 6b): the sequences, a matched background, discovery and the comparison.

Sequences (each written as FASTA, records named ``chrom:start-end``):

- **predicted sites**: the condition's rows of a called-sites BED4 (chrom, start, end,
  condition; ``results/calls/{model}/{split}.{method}.bed``), sites shorter than
  ``min_length`` widened to it and those longer than ``max_length`` cut to it, around their centre;
- **ChIP-seq peaks**: the summit +- ``flank`` bases of each conserved peak (``2 * flank + 1``
  bases centred on the summit base; narrowPeak column 10 is the summit's offset from the start,
  -1 meaning none, then the peak's midpoint is used), on the chromosomes of the split;
- **matched background** of each set: windows of the same lengths drawn at random (seeded) from
  the split's example windows (``results/examples/{split}.bed``), overlapping no predicted site
  and no peak of the condition.

Intervals are clipped to their chromosome. :func:`denovo_condition` discovers motifs in each
set against its background (:func:`nettime.motifs.streme.discover`: the ``streme`` binary or
the STREME-like reimplementation, named in the outputs), and compares the top significant motif
under predicted sites with the top significant motif under peaks (TOMTOM) and each with JASPAR.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from nettime import layout
from nettime.data.genome import Genome
from nettime.data.peaks import read_bed, union_intervals
from nettime.files import (
    DataError,
    PathLike,
    atomic_output,
    bed_interval,
    bed_rows,
    narrowpeak_rows,
)
from nettime.motifs.compare import best_jaspar_match, compare_motifs
from nettime.motifs.discovery import DiscoveredMotif, background_frequencies
from nettime.motifs.shuffle import decode
from nettime.motifs.streme import (
    ENGINE_NAMES,
    discover,
    resolve_engine,
    write_fasta,
    write_streme_meme,
)

LOG = logging.getLogger(__name__)
INTERVAL_COLUMNS = ["chrom", "start", "end"]
#: The sequence sets (:data:`nettime.layout.DENOVO_SETS`) and how tables name them.
SETS = dict(zip(layout.DENOVO_SETS, ("predicted sites", "ChIP-seq peaks"), strict=True))


def read_sites(path: PathLike, condition: str) -> pd.DataFrame:
    """The sites of one condition in a called-sites BED4 (chrom, start, end, condition), as
    columns chrom (str), start, end (int64), in file order.

    Raises
    ------
    DataError
        Naming the file, line and field of a malformed row.
    """
    rows = []
    for where, fields in bed_rows(path):
        if len(fields) < 4:
            raise DataError(f"{where}: expected 4 tab-separated fields (chrom, start, end, "
                            f"condition), found {len(fields)}")
        start, end = bed_interval(fields, where)
        if fields[3] == condition:
            rows.append((fields[0], start, end))
    return _frame(rows)


def read_summits(path: PathLike) -> pd.DataFrame:
    """Peaks of a narrowPeak file (gzipped or not) with their summits.

    Returns
    -------
    pandas.DataFrame
        Columns chrom (str), start, end, summit (int64; absolute summit position).

    Raises
    ------
    DataError
        Naming the file, line and field of a malformed row or a summit outside its peak.
    """
    rows = []
    for where, fields, start, end in narrowpeak_rows(path):
        try:
            offset = int(fields[9])
        except ValueError:
            raise DataError(f"{where}: field 'peak' (10) must be an integer, got "
                            f"{fields[9]!r}") from None
        if offset == -1:
            offset = (end - start) // 2
        if not 0 <= offset < end - start:
            raise DataError(f"{where}: field 'peak' ({offset}) is not an offset inside the peak "
                            f"(0..{end - start - 1}, or -1)")
        rows.append((fields[0], start, end, start + offset))
    frame = pd.DataFrame(rows, columns=[*INTERVAL_COLUMNS, "summit"])
    return frame.astype({"chrom": str, "start": np.int64, "end": np.int64, "summit": np.int64})


def _frame(rows: list[tuple[str, int, int]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=INTERVAL_COLUMNS)
    return frame.astype({"chrom": str, "start": np.int64, "end": np.int64})


def _clip(frame: pd.DataFrame, sizes: Mapping[str, int], what: str) -> pd.DataFrame:
    unknown = sorted(set(frame["chrom"]) - set(sizes))
    if unknown:
        raise DataError(f"{what}: chromosomes {unknown[:5]} are not in the genome")
    limit = frame["chrom"].map(sizes).to_numpy(np.int64)
    out = frame.copy()
    out["start"] = np.clip(frame["start"].to_numpy(np.int64), 0, limit)
    out["end"] = np.clip(frame["end"].to_numpy(np.int64), 0, limit)
    return out[out["end"] > out["start"]].reset_index(drop=True)


def widen_sites(sites: pd.DataFrame, min_length: int = 30,
                max_length: int | None = None) -> pd.DataFrame:
    """Sites shorter than ``min_length`` widened to it, and sites longer than ``max_length``
    cut to it, around their centre (``(start + end) // 2``, the extra base on the right for
    odd lengths); the others unchanged. Long calls (merged over neighbouring windows) would
    otherwise swamp the search with sequence far from any binding site."""
    start = sites["start"].to_numpy(np.int64)
    end = sites["end"].to_numpy(np.int64)
    length = end - start
    target = np.maximum(length, min_length)
    if max_length is not None:
        target = np.minimum(target, max_length)
    changed = target != length
    new_start = np.where(changed, (start + end) // 2 - target // 2, start)
    out = sites[INTERVAL_COLUMNS].copy()
    out["start"] = new_start
    out["end"] = np.where(changed, new_start + target, end)
    return out


def summit_windows(peaks: pd.DataFrame, flank: int = 50) -> pd.DataFrame:
    """``[summit - flank, summit + flank + 1)`` of each peak (columns chrom, start, end)."""
    summit = peaks["summit"].to_numpy(np.int64)
    return pd.DataFrame({"chrom": peaks["chrom"].astype(str).to_numpy(),
                         "start": summit - flank, "end": summit + flank + 1})


def _overlaps_any(chrom: str, start: np.ndarray, end: np.ndarray,
                  avoid: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    if chrom not in avoid:
        return np.zeros(len(start), dtype=bool)
    lo, hi = avoid[chrom]
    last = np.searchsorted(lo, end, side="left") - 1  # the last interval starting before end
    return (last >= 0) & (hi[np.maximum(last, 0)] > start)


def background_windows(examples: pd.DataFrame, lengths: np.ndarray, avoid: pd.DataFrame,
                       seed: int = 0, max_rounds: int = 200, what: str = "examples"
                       ) -> pd.DataFrame:
    """Random windows of the given lengths inside example windows, overlapping nothing of
    ``avoid``: a window of length l is drawn from the examples in proportion to the number of
    places it fits in each, at a uniform place; windows that overlap ``avoid`` are drawn again.

    Parameters
    ----------
    examples, avoid
        Columns chrom, start, end.
    lengths
        int (n,) length of each window wanted.

    Returns
    -------
    pandas.DataFrame
        Columns chrom, start, end: n windows, row i of length ``lengths[i]``.

    Raises
    ------
    DataError
        When some window finds no free place in ``max_rounds`` draws (``what`` names the
        examples).
    """
    rng = np.random.default_rng(seed)
    lengths = np.asarray(lengths, dtype=np.int64)
    union = {}
    for chrom, group in avoid.groupby("chrom", sort=False):
        union[str(chrom)] = union_intervals(group["start"].to_numpy(np.int64),
                                            group["end"].to_numpy(np.int64))
    ex_chrom = examples["chrom"].astype(str).to_numpy()
    ex_start = examples["start"].to_numpy(np.int64)
    ex_len = examples["end"].to_numpy(np.int64) - ex_start
    chrom = np.empty(len(lengths), dtype=object)
    start = np.zeros(len(lengths), dtype=np.int64)
    todo = np.arange(len(lengths))
    for _ in range(max_rounds):
        if len(todo) == 0:
            break
        placed = np.zeros(len(todo), dtype=bool)
        for length in np.unique(lengths[todo]):
            rows = todo[lengths[todo] == length]
            room = np.clip(ex_len - length + 1, 0, None).astype(np.float64)
            if room.sum() == 0:
                raise DataError(f"{what}: no example window holds {length} bases")
            pick = rng.choice(len(ex_len), size=len(rows), p=room / room.sum())
            begin = ex_start[pick] + rng.integers(0, room[pick].astype(np.int64))
            ok = np.ones(len(rows), dtype=bool)
            for name in np.unique(ex_chrom[pick]):
                on = ex_chrom[pick] == name
                ok[on] = ~_overlaps_any(name, begin[on], begin[on] + length, union)
            chrom[rows[ok]] = ex_chrom[pick][ok]
            start[rows[ok]] = begin[ok]
            placed[np.isin(todo, rows[ok])] = True
        todo = todo[~placed]
    if len(todo):
        raise DataError(f"{what}: found no place away from sites and peaks for {len(todo)} "
                        f"background windows in {max_rounds} draws")
    return pd.DataFrame({"chrom": chrom.astype(str), "start": start, "end": start + lengths})


def write_interval_fasta(fasta: PathLike, intervals: pd.DataFrame, out: PathLike) -> pd.DataFrame:
    """The genome's sequence under each interval, written as FASTA (atomically).

    Returns
    -------
    pandas.DataFrame
        The intervals with columns name (``chrom:start-end``) and sequence (str, upper case,
        N for unknown bases).
    """
    with Genome(fasta) as genome:
        sizes = genome.sizes
        intervals = _clip(intervals[INTERVAL_COLUMNS], sizes, str(fasta))
        sequences = [decode(genome.codes(c, int(s), int(e))) for c, s, e in
                     intervals.itertuples(index=False)]
    out_frame = intervals.copy()
    out_frame["name"] = [f"{c}:{s}-{e}" for c, s, e in intervals.itertuples(index=False)]
    out_frame["sequence"] = sequences
    write_fasta(sequences, out, names=out_frame["name"].tolist())
    return out_frame


def write_site_fasta(fasta: PathLike, sites_bed: PathLike, condition: str, out: PathLike,
                     min_length: int = 30, max_length: int | None = None) -> pd.DataFrame:
    """FASTA of the sequences under the condition's predicted sites (widened to
    ``min_length``, cut to ``max_length``); returns them as :func:`write_interval_fasta`
    does."""
    sites = widen_sites(read_sites(sites_bed, condition), min_length, max_length)
    return write_interval_fasta(fasta, sites, out)


def write_peak_fasta(fasta: PathLike, peaks: PathLike, out: PathLike, flank: int = 50,
                     chromosomes: set[str] | None = None) -> pd.DataFrame:
    """FASTA of the summit +- ``flank`` sequences of the peaks (on ``chromosomes`` when
    given); returns them as :func:`write_interval_fasta` does."""
    summits = read_summits(peaks)
    if chromosomes is not None:
        summits = summits[summits["chrom"].isin(chromosomes)]
    return write_interval_fasta(fasta, summit_windows(summits, flank), out)


def write_background_fasta(fasta: PathLike, examples_bed: PathLike, lengths: np.ndarray,
                           avoid: pd.DataFrame, out: PathLike, seed: int = 0) -> pd.DataFrame:
    """FASTA of matched background windows (:func:`background_windows` in the examples of
    ``examples_bed``); returns them as :func:`write_interval_fasta` does."""
    windows = background_windows(read_bed(examples_bed), lengths, avoid, seed=seed,
                                 what=str(examples_bed))
    return write_interval_fasta(fasta, windows, out)


def denovo_paths(out_dir: PathLike, condition: str) -> dict[str, Path]:
    """The files :func:`denovo_condition` writes for a condition, by role: the file names of
    :func:`nettime.layout.denovo_files` (``table``, ``{set}_fasta``, ``{set}_background``,
    ``{set}_meme`` for the sets ``sites`` and ``peaks``), in ``out_dir``."""
    files = layout.denovo_files(model="{model}", split="{split}", condition=condition)
    return {role: Path(out_dir) / Path(name).name for role, name in files.items()}


def _motif_columns(prefix: str, motif: DiscoveredMotif | None) -> dict[str, object]:
    """Columns of a set's top motif and its best JASPAR match; NA without a motif."""
    columns: dict[str, object] = dict.fromkeys(
        [f"{prefix}_{c}" for c in ("motif_id", "consensus", "width", "nsites", "p_value",
                                   "e_value", "log10_e_value", "jaspar_id", "jaspar_name",
                                   "jaspar_p_value", "jaspar_e_value", "jaspar_q_value")], pd.NA)
    if motif is None:
        return columns
    match = best_jaspar_match(motif)[0]
    columns.update({f"{prefix}_motif_id": motif.matrix_id,
                    f"{prefix}_consensus": motif.consensus, f"{prefix}_width": motif.width,
                    f"{prefix}_nsites": motif.nsites if motif.nsites is not None else pd.NA,
                    f"{prefix}_p_value": _or_na(motif.p_value),
                    f"{prefix}_e_value": _or_na(motif.e_value),
                    f"{prefix}_log10_e_value": _or_na(motif.log10_e_value),
                    f"{prefix}_jaspar_id": match.target_id,
                    f"{prefix}_jaspar_name": match.target_name,
                    f"{prefix}_jaspar_p_value": match.p_value,
                    f"{prefix}_jaspar_e_value": match.e_value,
                    f"{prefix}_jaspar_q_value": match.q_value})
    return columns


def _or_na(value: float | None) -> object:
    return pd.NA if value is None or (isinstance(value, float) and math.isnan(value)) else value


def denovo_condition(condition: str, fasta: PathLike, sites_bed: PathLike, peaks: PathLike,
                     examples_bed: PathLike, out_dir: PathLike, *, engine: str = "auto",
                     min_length: int = 30, max_length: int = 500, flank: int = 50,
                     seed: int = 0,
                     e_value_threshold: float = 0.05, nmotifs: int | None = None,
                     minw: int = 8, maxw: int = 15, progress: bool = True,
                     **options: float) -> pd.DataFrame:
    """De novo motifs under a condition's predicted sites and its conserved ChIP-seq peaks,
    compared with each other and with JASPAR; every file of :func:`denovo_paths` is written
    (atomically) under ``out_dir``.

    Each set is searched against its matched background with
    :func:`nettime.motifs.streme.discover` (``engine``, ``nmotifs``, ``minw``, ``maxw``,
    ``seed``, ``options``); all its motifs go to its MEME file. The top motif of a set is its
    best-ranked motif with an E-value at most ``e_value_threshold``.

    Parameters
    ----------
    sites_bed
        Called sites, BED4 with the condition in column 4.
    peaks
        The condition's conserved peaks (narrowPeak, gzipped or not); only peaks on the
        chromosomes of ``examples_bed`` (the split) are used.
    examples_bed
        The split's example windows (3-column BED), the source of background windows.

    Returns
    -------
    pandas.DataFrame
        The one-row table written to the ``table`` file: condition, engine and control of
        each set (its matched background, or shuffled sequences where sites and peaks leave
        no room for one), sequence counts, each set's top motif (id, consensus, width, nsites, p- and E-value,
        and the E-value's log10, exact where the E-value underflows to 0)
        and its best JASPAR match (id, name, p-, E-, q-value), TOMTOM of the two top motifs
        (p-, E-, q-value, offset, overlap, orientation; the target is the peaks' motif) and a
        status saying which sets had no significant motif (their columns are then empty).
    """
    paths = denovo_paths(out_dir, condition)
    examples = read_bed(examples_bed)
    sites = write_site_fasta(fasta, sites_bed, condition, paths["sites_fasta"], min_length,
                             max_length)
    summits = write_peak_fasta(fasta, peaks, paths["peaks_fasta"], flank,
                               chromosomes=set(examples["chrom"]))
    whole_peaks = read_summits(peaks)[INTERVAL_COLUMNS]
    # The sites as searched (cut to max_length), not the raw calls: a model that calls most
    # of the genome would otherwise leave no room for a background.
    avoid = pd.concat([whole_peaks, sites[INTERVAL_COLUMNS], summits[INTERVAL_COLUMNS]],
                      ignore_index=True)
    row: dict[str, object] = {"condition": condition,
                              "e_value_threshold": e_value_threshold}
    tops: dict[str, DiscoveredMotif | None] = {}
    engine = resolve_engine(engine)
    for offset, key in enumerate(SETS):
        primary = sites if key == "sites" else summits
        lengths = (primary["end"] - primary["start"]).to_numpy(np.int64)
        control: list[str] | None
        try:
            background = write_background_fasta(fasta, examples_bed, lengths, avoid,
                                                paths[f"{key}_background"], seed=seed + offset)
            control = background["sequence"].tolist()
            row[f"{key}_control"] = "matched background"
        except DataError as error:
            # Sites and peaks cover the examples: the engine's shuffled sequences are the
            # only control left. Say so in the table rather than fail the figure.
            LOG.warning("%s: %s; %s searched against shuffled sequences instead",
                        condition, error, SETS[key])
            write_fasta([], paths[f"{key}_background"], names=[])
            control = None
            row[f"{key}_control"] = "shuffled (no room for a matched background)"
        motifs: list[DiscoveredMotif] = []
        if len(primary) >= 2:
            motifs = discover(primary["sequence"].tolist(), control, engine=engine,
                              nmotifs=nmotifs, minw=minw, maxw=maxw, seed=seed,
                              progress=progress, **options)
        frequencies = background_frequencies(control or primary["sequence"].tolist())
        write_streme_meme(motifs, paths[f"{key}_meme"], background=frequencies)
        top = next((m for m in motifs if m.significant(e_value_threshold)), None)
        tops[key] = top
        row[f"{key}_n_sequences"] = len(primary)
        row[f"{key}_n_motifs"] = len(motifs)
        row[f"{key}_engine"] = motifs[0].engine if motifs else ENGINE_NAMES[engine]
        row.update(_motif_columns(key, top))
    comparison = dict.fromkeys(["tomtom_p_value", "tomtom_e_value", "tomtom_q_value",
                                "tomtom_offset", "tomtom_overlap", "tomtom_orientation"], pd.NA)
    missing = [label for key, label in SETS.items() if tops[key] is None]
    if not missing:
        match = compare_motifs(tops["sites"], tops["peaks"])
        comparison.update(tomtom_p_value=match.p_value, tomtom_e_value=match.e_value,
                          tomtom_q_value=match.q_value, tomtom_offset=match.offset,
                          tomtom_overlap=match.overlap, tomtom_orientation=match.orientation)
        row["status"] = "compared"
    else:
        row["status"] = (f"no significant motif (E-value <= {e_value_threshold}) under "
                         + " or ".join(missing) + "; not compared")
    row.update(comparison)
    table = pd.DataFrame([row])
    with atomic_output(paths["table"], suffix=".tsv") as tmp:
        table.to_csv(tmp, sep="\t", index=False, na_rep="NA")
    return table


def read_denovo_table(path: PathLike) -> pd.DataFrame:
    """A table written by :func:`denovo_condition` (NA cells read as missing)."""
    if not os.path.exists(path):
        raise DataError(f"{path}: no such de novo motif table")
    return pd.read_csv(path, sep="\t", na_values=["NA"], keep_default_na=False)
