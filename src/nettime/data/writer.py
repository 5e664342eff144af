"""Writing a split's data set folder (layout: :mod:`nettime.data.dataset`), one file per track.

:class:`TrackWriter` writes one file of the folder atomically, block by block. The pipeline's
steps write the tracks of every split at once, so that a track's normalisation comes from the
training split in the same job: :func:`build_examples` (example windows and their sequence),
:func:`build_labels` (one condition), :func:`build_signal_tracks` (one cell type's assay),
:func:`build_motif_tracks` (one TF's motif channels). :func:`write_dataset_arrays` writes
arrays already in memory (data from another source) through the same writer. Memory holds one
block of examples at a time.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd

from nettime.data.dataset import (
    EXAMPLES_FILE,
    LABEL_SETS,
    labels_file,
    motifs_file,
    signal_file,
)
from nettime.data.genome import Genome
from nettime.data.motif_features import iter_motif_blocks, load_ppm, motif_source
from nettime.data.peaks import base_labels, build_examples_file, read_bed, read_narrowpeak
from nettime.data.signals import InPeakSignal, Stats, chromosome_blocks, zscore
from nettime.files import AtomicWriter, DataError, PathLike, md5sum
from nettime.motifs.matrices import NO_MOTIF

#: Examples per HDF5 chunk.
CHUNK_EXAMPLES = 128
#: Examples read and written at a time.
WRITE_BLOCK = 2048
#: How label datasets are packed.
LABEL_ENCODING = "numpy.packbits along L (big-endian bit order)"
#: Normalisation modes: statistics of the training split for every split, or each split's own.
NORMALISATIONS = ("train", "per_split")


class TrackWriter(AtomicWriter):
    """One file of a data set folder: datasets created up front, filled by rows, the file
    appearing under its name only when closed without error.

    Parameters
    ----------
    path
        The file.
    datasets
        Dataset name -> (shape, dtype); the first axis is the examples.
    attrs
        File attributes.
    """

    def __init__(self, path: PathLike, datasets: Mapping[str, tuple[tuple[int, ...], Any]],
                 attrs: Mapping[str, Any] | None = None):
        super().__init__(path, suffix=".h5")
        with self.opening():
            self._h5 = h5py.File(self.tmp, "w")
            for key, value in (attrs or {}).items():
                self._h5.attrs[key] = value
            self.datasets = {name: _create(self._h5, name, shape=shape, dtype=dtype)
                             for name, (shape, dtype) in datasets.items()}

    def write(self, name: str, start: int, rows: np.ndarray) -> None:
        """Rows ``start:start + len(rows)`` of dataset ``name``."""
        self.datasets[name][start:start + len(rows)] = rows

    def close_handles(self) -> None:
        if hasattr(self, "_h5"):
            self._h5.close()


def _create(h5: h5py.Group, name: str, shape: tuple[int, ...], dtype: Any) -> h5py.Dataset:
    chunks = (max(1, min(CHUNK_EXAMPLES, shape[0])),) + tuple(shape[1:]) if shape[0] else None
    return h5.create_dataset(name, shape=shape, dtype=dtype, chunks=chunks,
                             compression="gzip", compression_opts=1, shuffle=True)


def write_examples(path: PathLike, coordinates: pd.DataFrame, length: int,
                   sequence: Iterable[tuple[int, np.ndarray]],
                   attrs: Mapping[str, Any] | None = None) -> None:
    """``examples.h5``: coordinates and sequence codes.

    Parameters
    ----------
    coordinates
        Columns chrom, start, end of the n examples, each ``length`` bp long.
    sequence
        (first row, uint8 (m, L) codes) blocks covering every example.
    """
    n = len(coordinates)
    starts = coordinates["start"].to_numpy(np.int64)
    if n and not np.all(coordinates["end"].to_numpy(np.int64) - starts == length):
        raise DataError(f"examples of {path} are not all {length} bp long")
    with TrackWriter(path, {"chrom": ((n,), h5py.string_dtype("ascii")),
                            "start": ((n,), np.int64), "end": ((n,), np.int64),
                            "sequence": ((n, length), np.uint8)},
                     {"length": length, **(attrs or {})}) as writer:
        writer.write("chrom", 0, coordinates["chrom"].to_numpy().astype("S"))
        writer.write("start", 0, starts)
        writer.write("end", 0, coordinates["end"].to_numpy(np.int64))
        for start, codes in sequence:
            writer.write("sequence", start, codes)


def write_signal(path: PathLike, n: int, length: int,
                 blocks: Iterable[tuple[int, np.ndarray]], mean: float, std: float,
                 attrs: Mapping[str, Any] | None = None) -> None:
    """``signals/{cell}.{assay}.h5``: blocks of float (m, L) values z-scored here with
    ``mean`` and ``std`` (recorded)."""
    with TrackWriter(path, {"values": ((n, length), np.float16)},
                     {"mean": mean, "std": std, **(attrs or {})}) as writer:
        for start, values in blocks:
            writer.write("values", start, zscore(values, mean, std))


def write_labels(path: PathLike, n: int, length: int,
                 blocks: Iterable[tuple[int, Mapping[str, np.ndarray]]],
                 attrs: Mapping[str, Any] | None = None,
                 set_attrs: Mapping[str, Mapping[str, Any]] | None = None) -> None:
    """``labels/{condition}.h5``: blocks of 0/1 (m, L) labels per label set, packed."""
    with TrackWriter(path, {s: ((n, math.ceil(length / 8)), np.uint8) for s in LABEL_SETS},
                     {"length": length, "n_examples": n, **(attrs or {})}) as writer:
        for label_set in LABEL_SETS:
            writer.datasets[label_set].attrs["encoding"] = LABEL_ENCODING
            for key, value in (set_attrs or {}).get(label_set, {}).items():
                writer.datasets[label_set].attrs[key] = value
        for start, labels in blocks:
            for label_set in LABEL_SETS:
                writer.write(label_set, start, np.packbits(labels[label_set], axis=1))


def write_motifs(path: PathLike, n: int, length: int,
                 blocks: Iterable[tuple[int, np.ndarray]],
                 stats: Sequence[tuple[float, float]],
                 attrs: Mapping[str, Any] | None = None) -> None:
    """``motifs/{TF}.h5``: blocks of float (m, L, 2) channels z-scored per strand with
    ``stats`` ((mean, std) forward, reverse; recorded)."""
    (m0, s0), (m1, s1) = stats
    with TrackWriter(path, {"values": ((n, length, 2), np.float16)},
                     {"mean_fwd": m0, "std_fwd": s0, "mean_rev": m1, "std_rev": s1,
                      **(attrs or {})}) as writer:
        for start, channels in blocks:
            channels = np.array(channels, dtype=np.float32)
            channels[..., 0] = zscore(channels[..., 0], m0, s0)
            channels[..., 1] = zscore(channels[..., 1], m1, s1)
            writer.write("values", start, channels)


def write_dataset_arrays(path: PathLike, sequence: np.ndarray,
                         labels: Mapping[str, Mapping[str, np.ndarray] | np.ndarray],
                         signals: Mapping[tuple[str, str], np.ndarray] | None = None,
                         motifs: Mapping[str, np.ndarray] | None = None,
                         coordinates: pd.DataFrame | None = None,
                         attrs: Mapping[str, Any] | None = None) -> None:
    """Write a data set folder from arrays in memory, through :class:`TrackWriter`.

    Parameters
    ----------
    path
        The data set folder (created; each file written atomically).
    sequence
        uint8 (n, L) codes A=0 C=1 G=2 T=3 (4: any other base).
    labels
        Condition ``TF.cell`` -> 0/1 (n, L) labels, or -> {``conserved``: ..., ``relaxed``:
        ...}; a single array serves as both label sets.
    signals
        (cell type, assay) -> float (n, L) signal, already normalised (written as float16).
    motifs
        TF -> float (n, L, 2) motif channels (forward, reverse strand), already normalised.
    coordinates
        Columns chrom, start, end of the examples; by default example i is placed at
        ``chrom "example", start i * L`` so that windows never overlap.
    attrs
        Extra attributes of ``examples.h5``.
    """
    sequence = np.asarray(sequence, dtype=np.uint8)
    if sequence.ndim != 2:
        raise DataError(f"{path}: sequence must be (n, L) codes, got shape {sequence.shape}")
    n, length = sequence.shape
    if coordinates is None:
        start = np.arange(n, dtype=np.int64) * length
        coordinates = pd.DataFrame({"chrom": "example", "start": start, "end": start + length})
    sets = {c: (dict(v) if isinstance(v, Mapping) else {s: v for s in LABEL_SETS})
            for c, v in labels.items()}
    arrays = {**{f"labels {c} {s}": a for c, v in sets.items() for s, a in v.items()},
              **{f"signal {c}.{a}": v for (c, a), v in (signals or {}).items()},
              **{f"motifs {tf}": v for tf, v in (motifs or {}).items()}}
    for name, array in arrays.items():
        if np.shape(array)[:2] != (n, length):
            raise DataError(f"{path}: {name} has shape {np.shape(array)}, expected ({n}, "
                            f"{length}, ...) like the sequence")
    for condition, per_set in sets.items():
        missing = [s for s in LABEL_SETS if s not in per_set]
        if missing:
            raise DataError(f"{path}: labels of {condition} lack label set(s) "
                            f"{', '.join(missing)}")
    folder = Path(path)
    spans = [(a, min(a + WRITE_BLOCK, n)) for a in range(0, n, WRITE_BLOCK)]
    write_examples(folder / EXAMPLES_FILE, coordinates, length,
                   ((a, sequence[a:b]) for a, b in spans), attrs)
    for (cell, assay), values in (signals or {}).items():
        write_signal(folder / signal_file(cell, assay), n, length,
                     ((a, np.asarray(values[a:b], np.float32)) for a, b in spans), 0.0, 1.0)
    for condition, per_set in sets.items():
        write_labels(folder / labels_file(condition), n, length,
                     ((a, {s: np.asarray(per_set[s][a:b], np.uint8) for s in LABEL_SETS})
                      for a, b in spans))
    for tf, channels in (motifs or {}).items():
        write_motifs(folder / motifs_file(tf), n, length,
                     ((a, np.asarray(channels[a:b])) for a, b in spans),
                     ((0.0, 1.0), (0.0, 1.0)))


# --------------------------------------------------------------------------------------------
# the pipeline's steps: every split of one track in one job


def _statistics(blocks_by_split: Mapping[str, Iterable[np.ndarray]], normalisation: str,
                channels: int = 1) -> dict[str, list[tuple[float, float]]]:
    """(mean, std) per channel for each split: the training split's for every split, or each
    split's own (``per_split``)."""
    if normalisation not in NORMALISATIONS:
        raise ValueError(f"unknown normalisation {normalisation!r}; use "
                         f"{', '.join(NORMALISATIONS)}")
    own = {}
    for split, blocks in blocks_by_split.items():
        if normalisation == "train" and split != "train":
            continue
        stats = [Stats() for _ in range(channels)]
        for values in blocks:
            for channel in range(channels):
                stats[channel].update(values[..., channel] if channels > 1 else values)
        own[split] = [(s.mean, s.std) for s in stats]
    return {split: own["train" if normalisation == "train" else split]
            for split in blocks_by_split}


def _examples(examples_beds: Mapping[str, PathLike]) -> dict[str, pd.DataFrame]:
    if "train" not in examples_beds:
        raise ValueError("the training split's examples are needed for its statistics")
    return {split: read_bed(path) for split, path in examples_beds.items()}


def build_examples(peak_files: Iterable[PathLike], fasta: PathLike, chrom_sizes: PathLike,
                   blacklist: PathLike, splits: Mapping[str, Sequence[str]],
                   options: Mapping[str, int], beds: Mapping[str, PathLike],
                   sequences: Mapping[str, PathLike]) -> dict[str, int]:
    """``results/examples/{split}.bed`` and ``results/data/{split}/examples.h5`` of every split.

    Parameters
    ----------
    peak_files
        The narrowPeak files whose pooled, merged peaks make the examples.
    splits
        Split -> its chromosomes.
    options
        The ``peaks:`` section of the configuration (min_overlap, max_union, max_peak_length,
        window).

    Returns
    -------
    dict
        Split -> number of examples.
    """
    peak_files = list(peak_files)
    length = int(options["window"])
    counts = {}
    with Genome(fasta) as genome:
        for split, chromosomes in splits.items():
            examples = build_examples_file(peak_files, fasta, chrom_sizes, blacklist,
                                           chromosomes, options, beds[split])
            starts = examples["start"].to_numpy(np.int64)
            write_examples(sequences[split], examples, length,
                           ((a, genome.windows(chrom, starts[a:b], length))
                            for chrom, a, b in chromosome_blocks(examples, WRITE_BLOCK)),
                           {"split": split, "source": os.fspath(beds[split])})
            counts[split] = len(examples)
    return counts


def build_labels(examples_beds: Mapping[str, PathLike], length: int, conserved: PathLike,
                 relaxed: PathLike, outs: Mapping[str, PathLike]) -> None:
    """``results/data/{split}/labels/{condition}.h5`` of every split from the condition's
    conserved and relaxed peaks."""
    peaks = {"conserved": read_narrowpeak(conserved), "relaxed": read_narrowpeak(relaxed)}
    sources = {"conserved": conserved, "relaxed": relaxed}
    set_attrs = {s: {"source": os.fspath(p), "md5": md5sum(p)} for s, p in sources.items()}
    for split, examples in _examples(examples_beds).items():
        write_labels(outs[split], len(examples), length,
                     ((a, {s: base_labels(examples.iloc[a:b], peaks[s], length)
                           for s in LABEL_SETS})
                      for _, a, b in chromosome_blocks(examples, WRITE_BLOCK)),
                     set_attrs=set_attrs)


def build_signal_tracks(inpeak: PathLike, examples_beds: Mapping[str, PathLike], length: int,
                        normalisation: str, outs: Mapping[str, PathLike]) -> None:
    """``results/data/{split}/signals/{cell}.{assay}.h5`` of every split from the track's
    in-peak values (:func:`nettime.data.signals.write_inpeak`), z-scored with the training
    split's statistics (or each split's own, ``per_split``)."""
    examples = _examples(examples_beds)
    with InPeakSignal(inpeak) as signal:
        def blocks(frame: pd.DataFrame) -> Iterable[tuple[int, np.ndarray]]:
            starts = frame["start"].to_numpy(np.int64)
            for chrom, a, b in chromosome_blocks(frame, WRITE_BLOCK):
                yield a, signal.windows(chrom, starts[a:b], length)

        stats = _statistics({s: (v for _, v in blocks(f)) for s, f in examples.items()},
                            normalisation)
        with h5py.File(inpeak, "r") as h5:
            provenance = {"source": str(h5.attrs["bigwig"]), "md5": str(h5.attrs["bigwig_md5"]),
                          "peaks": str(h5.attrs["peaks"]), "peaks_md5": str(h5.attrs["peaks_md5"])}
        for split, frame in examples.items():
            (mean, std), = stats[split]
            write_signal(outs[split], len(frame), length, blocks(frame), mean, std, provenance)


def build_motif_tracks(fasta: PathLike, examples_beds: Mapping[str, PathLike], length: int,
                       motif: str, motif_dir: str | None, normalisation: str,
                       outs: Mapping[str, PathLike]) -> None:
    """``results/data/{split}/motifs/{TF}.h5`` of every split: FIMO channels of the TF's motif
    (a JASPAR ID or MEME path, relative paths tried against ``motif_dir``), z-scored per strand
    with the training split's statistics (or each split's own).

    ``motif`` :data:`NO_MOTIF` (a TF the configuration declares without a known motif) gives
    channels of zeros, the z-scored mean: the TF's models see no motif signal."""
    examples = _examples(examples_beds)
    if motif == NO_MOTIF:
        for split, frame in examples.items():
            n = len(frame)
            zeros = ((a, np.zeros((min(WRITE_BLOCK, n - a), length, 2), np.float32))
                     for a in range(0, n, WRITE_BLOCK))
            write_motifs(outs[split], n, length, zeros, [(0.0, 1.0), (0.0, 1.0)],
                         {"source": "none: no known motif (channels are zeros)"})
        return
    ppm = load_ppm(motif, motif_dir or None)
    with Genome(fasta) as genome:
        def blocks(frame: pd.DataFrame) -> Iterable[tuple[int, np.ndarray]]:
            for a, _, channels in iter_motif_blocks(genome, frame, length, ppm, WRITE_BLOCK):
                yield a, channels

        stats = _statistics({s: (v for _, v in blocks(f)) for s, f in examples.items()},
                            normalisation, channels=2)
        for split, frame in examples.items():
            write_motifs(outs[split], len(frame), length, blocks(frame), stats[split],
                         {"source": motif_source(motif)})
