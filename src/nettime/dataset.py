"""The HDF5 data set of one split: writer and reader (the torch loader is nettime.loader).

Layout (every per-example dataset is chunked along examples and gzip-compressed)::

    examples/chrom (n,) bytes, examples/start (n,) int64, examples/end (n,) int64
    sequence (n, L) uint8                  codes A=0 C=1 G=2 T=3
    signals/{cell}/{assay} (n, L) float16  z-scored in-peak signal
    labels/{condition}/{label_set} (n, ceil(L/8)) uint8  base labels packed 8 per byte
                                           (numpy.packbits along L; read_labels unpacks)
    motifs/{TF} (n, L, 2) float16          z-scored FIMO max(1 - p), forward and reverse strand
    attrs: length, split, conditions, label_sets, cell_types, assays, tfs, normalisation,
           config_hash, sources (JSON: path -> md5), stats (JSON: track -> [mean, std])

A sample is (example, condition, label set). :class:`nettime.loader.SampleDataset` reads blocks of whole
chunks, builds every requested sample of the blocks it holds, and yields shuffled batches, so
memory stays bounded by ``buffer_blocks * block_examples`` examples whatever the file size.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import h5py
import numpy as np
import pandas as pd
from tqdm import tqdm

from nettime.files import md5sum
from nettime.genome import DataError, Genome, one_hot
from nettime.motif_features import iter_motif_blocks, motif_stats
from nettime.peaks import base_labels, read_narrowpeak
from nettime.signals import InPeakSignal, chromosome_blocks, window_stats, zscore

LABEL_SETS = ("conserved", "relaxed")
CHUNK_EXAMPLES = 128
WRITE_BLOCK = 2048
DEFAULT_FEATURE_SETS = {
    "Seq": {"assays": [], "motifs": False},
    "Seq+DNase": {"assays": ["DNase"], "motifs": False},
    "Seq+CT": {"assays": ["DNase", "H3K4me1", "H3K4me3", "H3K27ac"], "motifs": False},
    "Seq+TF": {"assays": [], "motifs": True},
    "Seq+CT+TF": {"assays": ["DNase", "H3K4me1", "H3K4me3", "H3K27ac"], "motifs": True},
}


@dataclass(frozen=True)
class FeatureSet:
    """Input channels of a model: one-hot A, C, G, T; ``assays`` in order; motif fwd, rev."""

    name: str
    assays: tuple[str, ...] = ()
    motifs: bool = False

    @property
    def n_channels(self) -> int:
        return 4 + len(self.assays) + 2 * int(self.motifs)


def feature_sets_from_config(config: Mapping[str, Any]) -> dict[str, FeatureSet]:
    """The named feature sets of ``config["feature_sets"]`` (the five defaults when absent)."""
    table = config.get("feature_sets") or DEFAULT_FEATURE_SETS
    return {name: FeatureSet(name, tuple(spec.get("assays", [])), bool(spec.get("motifs")))
            for name, spec in table.items()}


def config_hash(config: Mapping[str, Any]) -> str:
    """SHA-256 of the configuration as canonical JSON."""
    text = json.dumps(config, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


# --------------------------------------------------------------------------------------------
# writing


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


def write_labels(examples: pd.DataFrame, length: int, peak_files: Mapping[str, str],
                 out: str | os.PathLike[str]) -> None:
    """Per-condition label file: one packed dataset per label set (see module docstring).

    Parameters
    ----------
    examples
        Columns chrom, start, end of the split's examples, grouped by chromosome.
    peak_files
        Label set (``conserved``, ``relaxed``) -> narrowPeak file of the condition.
    """
    with h5py.File(out, "w") as h5:
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


def _create(h5: h5py.Group, name: str, data: np.ndarray | None = None,
            shape: tuple[int, ...] | None = None, dtype: Any = None) -> h5py.Dataset:
    shape = data.shape if data is not None else shape
    assert shape is not None
    chunks = (max(1, min(CHUNK_EXAMPLES, shape[0])),) + tuple(shape[1:]) if shape[0] else None
    return h5.create_dataset(name, data=data, shape=None if data is not None else shape,
                             dtype=dtype, chunks=chunks, compression="gzip",
                             compression_opts=1, shuffle=True)


def write_dataset(out: str | os.PathLike[str], examples: pd.DataFrame, genome: Genome,
                  length: int, inpeak: Mapping[tuple[str, str], str],
                  label_files: Mapping[str, str], ppms: Mapping[str, np.ndarray],
                  stats: Mapping[str, Sequence[float]], attrs: Mapping[str, Any],
                  sources: Mapping[str, str], progress: bool = True) -> None:
    """Write the HDF5 data set of one split, block by block.

    Parameters
    ----------
    examples
        Columns chrom, start, end; sorted by chromosome (``results/examples/{split}.bed``).
    inpeak
        (cell, assay) -> :func:`nettime.signals.write_inpeak` file.
    label_files
        condition -> :func:`write_labels` file of this split.
    ppms
        TF -> float (w, 4) motif; one ``motifs/{TF}`` dataset each.
    stats
        Track key -> (mean, std) used to z-score (see :func:`compute_stats`).
    attrs
        Extra file attributes (split, normalisation, config_hash, ...).
    sources
        Path -> md5 of every input, stored as JSON in ``attrs["sources"]``.
    """
    n = len(examples)
    starts = examples["start"].to_numpy(np.int64)
    if n and not np.all(examples["end"].to_numpy(np.int64) - starts == length):
        raise DataError(f"examples of {out} are not all {length} bp long")
    with h5py.File(out, "w") as h5:
        h5.attrs["length"] = length
        h5.attrs["conditions"] = list(label_files)
        h5.attrs["label_sets"] = list(LABEL_SETS)
        h5.attrs["cell_types"] = list(dict.fromkeys(c for c, _ in inpeak))
        h5.attrs["assays"] = list(dict.fromkeys(a for _, a in inpeak))
        h5.attrs["tfs"] = list(ppms)
        h5.attrs["stats"] = json.dumps({k: list(map(float, v)) for k, v in stats.items()})
        h5.attrs["sources"] = json.dumps(dict(sources))
        for key, value in attrs.items():
            h5.attrs[key] = value
        _create(h5, "examples/chrom", examples["chrom"].to_numpy().astype("S"))
        _create(h5, "examples/start", starts)
        _create(h5, "examples/end", examples["end"].to_numpy(np.int64))
        seq = _create(h5, "sequence", shape=(n, length), dtype=np.uint8)
        for chrom, a, b in chromosome_blocks(examples, WRITE_BLOCK):
            seq[a:b] = genome.windows(chrom, starts[a:b], length)
        for (cell, assay), path in tqdm(inpeak.items(), desc="signals", disable=not progress):
            key = f"signals/{cell}/{assay}"
            mean, std = stats[key]
            ds = _create(h5, key, shape=(n, length), dtype=np.float16)
            with InPeakSignal(path) as signal:
                for chrom, a, b in chromosome_blocks(examples, WRITE_BLOCK):
                    ds[a:b] = zscore(signal.windows(chrom, starts[a:b], length), mean, std)
        for condition, path in tqdm(label_files.items(), desc="labels", disable=not progress):
            with h5py.File(path, "r") as src:
                if int(src.attrs["n_examples"]) != n:
                    raise DataError(f"{path}: labels for {src.attrs['n_examples']} examples, "
                                    f"but the split has {n}; rebuild it from the same examples")
                for label_set in LABEL_SETS:
                    ds = _create(h5, f"labels/{condition}/{label_set}",
                                 shape=src[label_set].shape, dtype=np.uint8)
                    for a in range(0, n, WRITE_BLOCK):
                        ds[a:a + WRITE_BLOCK] = src[label_set][a:a + WRITE_BLOCK]
                    ds.attrs["encoding"] = "numpy.packbits along L (big-endian bit order)"
        for tf, ppm in tqdm(ppms.items(), desc="motifs", disable=not progress):
            ds = _create(h5, f"motifs/{tf}", shape=(n, length, 2), dtype=np.float16)
            fwd, rev = stats[f"motifs/{tf}/fwd"], stats[f"motifs/{tf}/rev"]
            for a, b, channels in iter_motif_blocks(genome, examples, length, ppm):
                channels[..., 0] = zscore(channels[..., 0], *fwd)
                channels[..., 1] = zscore(channels[..., 1], *rev)
                ds[a:b] = channels


# --------------------------------------------------------------------------------------------
# reading


def _strings(values: Any) -> list[str]:
    return [v.decode() if isinstance(v, bytes) else str(v) for v in np.atleast_1d(values)]


class DataSet:
    """Read access to one split's HDF5 data set (see the module docstring)."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = str(path)
        try:
            self._h5 = h5py.File(self.path, "r")
        except OSError as error:
            raise DataError(f"{self.path}: cannot open the data set: {error}") from None
        attrs = self._h5.attrs
        self.length = int(attrs["length"])
        self.conditions = _strings(attrs["conditions"])
        self.label_sets = _strings(attrs["label_sets"])
        self.cell_types = _strings(attrs["cell_types"])
        self.assays = _strings(attrs["assays"])
        self.tfs = _strings(attrs["tfs"]) if len(attrs["tfs"]) else []
        self.n_examples = int(self._h5["examples/start"].shape[0])
        self.stats = json.loads(attrs["stats"])

    @property
    def attrs(self) -> h5py.AttributeManager:
        return self._h5.attrs

    @property
    def chunk_examples(self) -> int:
        chunks = self._h5["sequence"].chunks
        return int(chunks[0]) if chunks else max(self.n_examples, 1)

    def examples(self) -> pd.DataFrame:
        """Coordinates of every example: columns chrom, start, end."""
        return pd.DataFrame({"chrom": _strings(self._h5["examples/chrom"][:]),
                             "start": self._h5["examples/start"][:],
                             "end": self._h5["examples/end"][:]})

    def read_sequence(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """uint8 (m, L) codes of examples ``start:stop``."""
        return self._h5["sequence"][start:stop]

    def read_labels(self, condition: str, label_set: str = "conserved", start: int = 0,
                    stop: int | None = None) -> np.ndarray:
        """uint8 (m, L) in {0, 1}: base labels of a condition and label set."""
        key = f"labels/{condition}/{label_set}"
        if key not in self._h5:
            raise KeyError(f"{self.path}: no labels for condition {condition!r}, label set "
                           f"{label_set!r} (conditions: {', '.join(self.conditions)})")
        packed = self._h5[key][start:stop]
        return np.unpackbits(packed, axis=1, count=self.length)

    def read_signal(self, cell_type: str, assay: str, start: int = 0,
                    stop: int | None = None) -> np.ndarray:
        """float32 (m, L) z-scored signal of a (cell type, assay)."""
        key = f"signals/{cell_type}/{assay}"
        if key not in self._h5:
            raise KeyError(f"{self.path}: no {assay} signal for cell type {cell_type!r} "
                           f"(cell types: {', '.join(self.cell_types)}; assays: "
                           f"{', '.join(self.assays)})")
        return self._h5[key][start:stop].astype(np.float32)

    def read_motifs(self, tf: str, start: int = 0, stop: int | None = None) -> np.ndarray:
        """float32 (m, L, 2) z-scored motif channels of a TF."""
        key = f"motifs/{tf}"
        if key not in self._h5:
            raise KeyError(f"{self.path}: no motif features for TF {tf!r} (TFs with motifs: "
                           f"{', '.join(self.tfs) or 'none'})")
        return self._h5[key][start:stop].astype(np.float32)

    def read_features(self, feature_set: FeatureSet, cell_type: str, tf: str, start: int = 0,
                      stop: int | None = None) -> np.ndarray:
        """Model input of examples ``start:stop`` for one condition.

        Returns
        -------
        numpy.ndarray
            float32 (m, L, K): one-hot A, C, G, T; the feature set's assays; motif fwd, rev.
        """
        parts = [one_hot(self.read_sequence(start, stop))]
        parts += [self.read_signal(cell_type, a, start, stop)[..., None]
                  for a in feature_set.assays]
        if feature_set.motifs:
            parts.append(self.read_motifs(tf, start, stop))
        return np.concatenate(parts, axis=-1)

    def close(self) -> None:
        self._h5.close()

    def __enter__(self) -> DataSet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_dataset(path: str | os.PathLike[str]) -> DataSet:
    """Open ``results/data/{split}.h5``; see :class:`DataSet`."""
    return DataSet(path)


__all__ = ["DataSet", "FeatureSet", "compute_stats", "config_hash", "feature_sets_from_config",
           "open_dataset", "write_dataset", "write_labels"]
