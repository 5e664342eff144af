"""Writing the HDF5 data set of a split (layout: :mod:`nettime.data.dataset`).

:class:`DataSetWriter` is the one writer: it creates the file with its attributes and fills it
block by block. The pipeline's steps (:func:`build_labels`, :func:`build_stats`,
:func:`build_dataset`) stream acquired files through it with bounded memory;
:func:`write_dataset_arrays` writes arrays already in memory (data from another source) through
the same writer. Every output is written atomically.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import h5py
import numpy as np
import pandas as pd
from tqdm import tqdm

from nettime.data.dataset import LABEL_SETS
from nettime.data.genome import Genome
from nettime.data.motif_features import iter_motif_blocks, load_ppm, motif_source, motif_stats
from nettime.data.peaks import base_labels, read_bed, read_narrowpeak
from nettime.data.signals import InPeakSignal, chromosome_blocks, window_stats, zscore
from nettime.files import (
    AtomicWriter,
    DataError,
    PathLike,
    atomic_output,
    md5sum,
    provenance,
    write_text,
)

#: Examples per HDF5 chunk.
CHUNK_EXAMPLES = 128
#: Examples read and written at a time.
WRITE_BLOCK = 2048
#: How ``labels/...`` datasets are packed.
LABEL_ENCODING = "numpy.packbits along L (big-endian bit order)"


def _create(h5: h5py.Group, name: str, data: np.ndarray | None = None,
            shape: tuple[int, ...] | None = None, dtype: Any = None) -> h5py.Dataset:
    shape = data.shape if data is not None else shape
    assert shape is not None
    chunks = (max(1, min(CHUNK_EXAMPLES, shape[0])),) + tuple(shape[1:]) if shape[0] else None
    return h5.create_dataset(name, data=data, shape=None if data is not None else shape,
                             dtype=dtype, chunks=chunks, compression="gzip",
                             compression_opts=1, shuffle=True)


class DataSetWriter(AtomicWriter):
    """Create a split's data set and fill it block by block; the file appears complete, under
    its name, only when the writer closes without error (use it as a context manager).

    Parameters
    ----------
    path
        The data set file.
    coordinates
        Columns chrom, start, end of the n examples (each ``length`` bp long).
    length
        L, bases per example.
    cell_assays
        (cell type, assay) of every signal track, in order.
    conditions
        Condition names ``TF.cell`` that get labels.
    tfs
        TFs that get motif channels.
    stats
        Track key -> (mean, std) the tracks were z-scored with (recorded as an attribute).
    sources
        Input -> md5, recorded as JSON in ``attrs["sources"]``.
    attrs
        Other file attributes (split, normalisation, ...).
    """

    def __init__(self, path: PathLike, coordinates: pd.DataFrame, length: int,
                 cell_assays: Sequence[tuple[str, str]] = (), conditions: Sequence[str] = (),
                 tfs: Sequence[str] = (), stats: Mapping[str, Sequence[float]] | None = None,
                 sources: Mapping[str, str] | None = None,
                 attrs: Mapping[str, Any] | None = None):
        self.n, self.length = len(coordinates), int(length)
        starts = coordinates["start"].to_numpy(np.int64)
        if self.n and not np.all(coordinates["end"].to_numpy(np.int64) - starts == length):
            raise DataError(f"examples of {path} are not all {length} bp long")
        super().__init__(path, suffix=".h5")
        with self.opening():
            self._h5 = h5py.File(self.tmp, "w")
            h5 = self._h5
            h5.attrs["length"] = self.length
            h5.attrs["conditions"] = list(conditions)
            h5.attrs["label_sets"] = list(LABEL_SETS)
            h5.attrs["cell_types"] = list(dict.fromkeys(c for c, _ in cell_assays))
            h5.attrs["assays"] = list(dict.fromkeys(a for _, a in cell_assays))
            h5.attrs["tfs"] = list(tfs)
            h5.attrs["stats"] = json.dumps({k: list(map(float, v)) for k, v in (stats or {}).items()})
            h5.attrs["sources"] = json.dumps(dict(sources or {}))
            for key, value in (attrs or {}).items():
                h5.attrs[key] = value
            _create(h5, "examples/chrom", coordinates["chrom"].to_numpy().astype("S"))
            _create(h5, "examples/start", starts)
            _create(h5, "examples/end", coordinates["end"].to_numpy(np.int64))
            self._sequence = _create(h5, "sequence", shape=(self.n, self.length), dtype=np.uint8)
            self._signals = {ca: _create(h5, f"signals/{ca[0]}/{ca[1]}", shape=(self.n, self.length),
                                         dtype=np.float16) for ca in cell_assays}
            packed = math.ceil(self.length / 8)
            self._labels = {}
            for condition in conditions:
                for label_set in LABEL_SETS:
                    ds = _create(h5, f"labels/{condition}/{label_set}", shape=(self.n, packed),
                                 dtype=np.uint8)
                    ds.attrs["encoding"] = LABEL_ENCODING
                    self._labels[(condition, label_set)] = ds
            self._motifs = {tf: _create(h5, f"motifs/{tf}", shape=(self.n, self.length, 2),
                                        dtype=np.float16) for tf in tfs}

    def sequence(self, start: int, codes: np.ndarray) -> None:
        """Rows ``start:start + m`` of the sequence: uint8 (m, L) codes A=0 C=1 G=2 T=3."""
        self._sequence[start:start + len(codes)] = codes

    def signal(self, cell_type: str, assay: str, start: int, values: np.ndarray) -> None:
        """Rows of a (cell type, assay) track: float (m, L), already z-scored."""
        self._signals[(cell_type, assay)][start:start + len(values)] = values

    def labels(self, condition: str, label_set: str, start: int, labels: np.ndarray) -> None:
        """Rows of a condition's base labels: 0/1 (m, L)."""
        self.packed_labels(condition, label_set, start, np.packbits(labels, axis=1))

    def packed_labels(self, condition: str, label_set: str, start: int,
                      packed: np.ndarray) -> None:
        """Rows of labels already packed by ``numpy.packbits`` along L: uint8 (m, ceil(L/8))."""
        self._labels[(condition, label_set)][start:start + len(packed)] = packed

    def motifs(self, tf: str, start: int, channels: np.ndarray) -> None:
        """Rows of a TF's motif channels: float (m, L, 2), forward then reverse, z-scored."""
        self._motifs[tf][start:start + len(channels)] = channels

    def close_handles(self) -> None:
        if hasattr(self, "_h5"):
            self._h5.close()


def write_dataset_arrays(path: PathLike, sequence: np.ndarray,
                         labels: Mapping[str, Mapping[str, np.ndarray] | np.ndarray],
                         signals: Mapping[tuple[str, str], np.ndarray] | None = None,
                         motifs: Mapping[str, np.ndarray] | None = None,
                         coordinates: pd.DataFrame | None = None,
                         attrs: Mapping[str, Any] | None = None) -> None:
    """Write a data set from arrays in memory, through :class:`DataSetWriter`.

    Parameters
    ----------
    path
        The data set file (written atomically).
    sequence
        uint8 (n, L) codes A=0 C=1 G=2 T=3 (4: any other base).
    labels
        Condition ``TF.cell`` -> 0/1 (n, L) labels, or -> {``conserved``: ..., ``relaxed``:
        ...}; a single array serves as both label sets.
    signals
        (cell type, assay) -> float (n, L) signal, already normalised (written as float16).
    motifs
        TF -> float (n, L, 2) motif channels (forward, reverse strand).
    coordinates
        Columns chrom, start, end of the examples; by default example i is placed at
        ``chrom "example", start i * L`` so that windows never overlap.
    attrs
        Extra file attributes.
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
    with DataSetWriter(path, coordinates, length, list(signals or {}), list(sets),
                       list(motifs or {}), attrs=attrs) as writer:
        for a in range(0, n, WRITE_BLOCK):
            b = min(a + WRITE_BLOCK, n)
            writer.sequence(a, sequence[a:b])
            for (cell, assay), values in (signals or {}).items():
                writer.signal(cell, assay, a, np.asarray(values[a:b]))
            for condition, per_set in sets.items():
                for label_set in LABEL_SETS:
                    writer.labels(condition, label_set, a,
                                  np.asarray(per_set[label_set][a:b], dtype=np.uint8))
            for tf, channels in (motifs or {}).items():
                writer.motifs(tf, a, np.asarray(channels[a:b]))


# --------------------------------------------------------------------------------------------
# the pipeline's steps


def compute_stats(examples: pd.DataFrame, length: int, inpeak: Mapping[tuple[str, str], str],
                  genome: Genome | None = None,
                  ppms: Mapping[str, np.ndarray] | None = None) -> dict[str, list[float]]:
    """Z-score statistics of every track over the examples: ``key -> [mean, std]``.

    Keys are ``signals/{cell}/{assay}`` and ``motifs/{TF}/fwd|rev``.
    """
    stats: dict[str, list[float]] = {}
    for (cell, assay), path in tqdm(inpeak.items(), desc="signal statistics"):
        stats[f"signals/{cell}/{assay}"] = list(window_stats(path, examples, length))
    for tf, ppm in (ppms or {}).items():
        if genome is None:
            raise ValueError("motif statistics need the genome")
        (m0, s0), (m1, s1) = motif_stats(genome, examples, length, ppm)
        stats[f"motifs/{tf}/fwd"] = [m0, s0]
        stats[f"motifs/{tf}/rev"] = [m1, s1]
    return stats


def _motif_matrices(motifs: Mapping[str, str], motif_dir: str | None) -> dict[str, np.ndarray]:
    return {tf: load_ppm(spec, motif_dir or None) for tf, spec in motifs.items()}


def build_stats(examples_bed: PathLike, fasta: PathLike, inpeak: Mapping[tuple[str, str], str],
                motifs: Mapping[str, str], motif_dir: str | None, length: int,
                out: PathLike) -> None:
    """``results/features/stats/{split}.json``: :func:`compute_stats` over a split's examples.

    ``motifs`` maps a TF to its motif spec (JASPAR ID or MEME path, relative paths tried
    against ``motif_dir``).
    """
    with Genome(fasta) as genome:
        stats = compute_stats(read_bed(examples_bed), length, inpeak, genome,
                              _motif_matrices(motifs, motif_dir))
    write_text(out, json.dumps(stats, indent=1) + "\n")


def write_labels(examples: pd.DataFrame, length: int, peak_files: Mapping[str, PathLike],
                 out: PathLike) -> None:
    """Per-condition label file (atomic): one packed dataset per label set.

    Parameters
    ----------
    examples
        Columns chrom, start, end of the split's examples, grouped by chromosome.
    peak_files
        Label set (``conserved``, ``relaxed``) -> narrowPeak file of the condition.
    """
    with atomic_output(out, suffix=".h5") as tmp, h5py.File(tmp, "w") as h5:
        h5.attrs["length"] = length
        h5.attrs["n_examples"] = len(examples)
        for label_set, path in peak_files.items():
            peaks = read_narrowpeak(path)
            ds = _create(h5, label_set, shape=(len(examples), math.ceil(length / 8)),
                         dtype=np.uint8)
            for _, a, b in chromosome_blocks(examples, WRITE_BLOCK):
                ds[a:b] = np.packbits(base_labels(examples.iloc[a:b], peaks, length), axis=1)
            ds.attrs["source"] = os.fspath(path)  # as given: outputs do not depend on the checkout
            ds.attrs["md5"] = md5sum(path)


def build_labels(examples_bed: PathLike, length: int, conserved: PathLike, relaxed: PathLike,
                 out: PathLike) -> None:
    """``results/labels/{split}/{condition}.h5`` from the condition's two peak files."""
    write_labels(read_bed(examples_bed), length, {"conserved": conserved, "relaxed": relaxed},
                 out)


def _sources(fasta: PathLike, examples_bed: PathLike, inpeak: Mapping[Any, str],
             label_files: Mapping[str, str], motifs: Mapping[str, str]) -> dict[str, str]:
    """Every acquired input of a data set with its md5, read from the intermediates where they
    recorded it already."""
    sources = provenance([fasta, examples_bed])
    for path in inpeak.values():
        with h5py.File(path, "r") as h5:
            sources[h5.attrs["bigwig"]] = h5.attrs["bigwig_md5"]
            sources[h5.attrs["peaks"]] = h5.attrs["peaks_md5"]
    for path in label_files.values():
        with h5py.File(path, "r") as h5:
            for label_set in h5:
                sources[h5[label_set].attrs["source"]] = h5[label_set].attrs["md5"]
    for tf, spec in motifs.items():
        sources[f"motif {tf}: {motif_source(spec)}"] = ""
    return sources


def write_dataset(out: PathLike, examples: pd.DataFrame, genome: Genome, length: int,
                  inpeak: Mapping[tuple[str, str], str], label_files: Mapping[str, str],
                  ppms: Mapping[str, np.ndarray], stats: Mapping[str, Sequence[float]],
                  attrs: Mapping[str, Any], sources: Mapping[str, str],
                  progress: bool = True) -> None:
    """Write a split's data set block by block from the pipeline's intermediates.

    Parameters
    ----------
    examples
        Columns chrom, start, end; sorted by chromosome (``results/examples/{split}.bed``).
    inpeak
        (cell, assay) -> :func:`nettime.data.signals.write_inpeak` file.
    label_files
        condition -> :func:`write_labels` file of this split.
    ppms
        TF -> float (w, 4) motif; one ``motifs/{TF}`` dataset each.
    stats
        Track key -> (mean, std) used to z-score (see :func:`compute_stats`).
    attrs
        Extra file attributes (split, normalisation, config_hash, ...).
    sources
        Input -> md5, stored as JSON in ``attrs["sources"]``.
    """
    n = len(examples)
    starts = examples["start"].to_numpy(np.int64)
    with DataSetWriter(out, examples, length, list(inpeak), list(label_files), list(ppms),
                       stats, sources, attrs) as writer:
        for chrom, a, b in chromosome_blocks(examples, WRITE_BLOCK):
            writer.sequence(a, genome.windows(chrom, starts[a:b], length))
        for (cell, assay), path in tqdm(inpeak.items(), desc="signals", disable=not progress):
            mean, std = stats[f"signals/{cell}/{assay}"]
            with InPeakSignal(path) as signal:
                for chrom, a, b in chromosome_blocks(examples, WRITE_BLOCK):
                    writer.signal(cell, assay, a,
                                  zscore(signal.windows(chrom, starts[a:b], length), mean, std))
        for condition, path in tqdm(label_files.items(), desc="labels", disable=not progress):
            with h5py.File(path, "r") as src:
                if int(src.attrs["n_examples"]) != n:
                    raise DataError(f"{path}: labels for {src.attrs['n_examples']} examples, "
                                    f"but the split has {n}; rebuild it from the same examples")
                for label_set in LABEL_SETS:
                    for a in range(0, n, WRITE_BLOCK):
                        writer.packed_labels(condition, label_set, a,
                                             src[label_set][a:a + WRITE_BLOCK])
        for tf, ppm in tqdm(ppms.items(), desc="motifs", disable=not progress):
            fwd, rev = stats[f"motifs/{tf}/fwd"], stats[f"motifs/{tf}/rev"]
            for a, _, channels in iter_motif_blocks(genome, examples, length, ppm):
                channels[..., 0] = zscore(channels[..., 0], *fwd)
                channels[..., 1] = zscore(channels[..., 1], *rev)
                writer.motifs(tf, a, channels)


def build_dataset(out: PathLike, examples_bed: PathLike, fasta: PathLike, length: int,
                  inpeak: Mapping[tuple[str, str], str], label_files: Mapping[str, str],
                  motifs: Mapping[str, str], motif_dir: str | None, stats_json: PathLike,
                  attrs: Mapping[str, Any], progress: bool = True) -> None:
    """``results/data/{split}.h5``: :func:`write_dataset` from the files of the pipeline, with
    the provenance of every acquired input.

    ``motifs`` maps a TF to its motif spec (JASPAR ID or MEME path); ``stats_json`` is the
    statistics file of :func:`build_stats`, recorded as ``normalisation_source``.
    """
    with open(stats_json) as handle:
        stats = json.load(handle)
    sources = _sources(fasta, examples_bed, inpeak, label_files, motifs)
    with Genome(fasta) as genome:
        write_dataset(out, read_bed(examples_bed), genome, length, inpeak, label_files,
                      _motif_matrices(motifs, motif_dir), stats,
                      {**attrs, "normalisation_source": os.fspath(stats_json)}, sources,
                      progress)
