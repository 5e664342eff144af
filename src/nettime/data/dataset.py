"""The HDF5 data set of one split: its layout, feature sets and reader (writer:
:mod:`nettime.data.writer`; torch loader: :mod:`nettime.data.loader`).

Layout (every per-example dataset is chunked along examples and gzip-compressed)::

    examples/chrom (n,) bytes, examples/start (n,) int64, examples/end (n,) int64
    sequence (n, L) uint8                  codes A=0 C=1 G=2 T=3
    signals/{cell}/{assay} (n, L) float16  z-scored in-peak signal
    labels/{condition}/{label_set} (n, ceil(L/8)) uint8  base labels packed 8 per byte
                                           (numpy.packbits along L; read_labels unpacks)
    motifs/{TF} (n, L, 2) float16          z-scored FIMO max(1 - p), forward and reverse strand
    attrs: length, split, conditions, label_sets, cell_types, assays, tfs, normalisation,
           config_hash, sources (JSON: path -> md5), stats (JSON: track -> [mean, std])

A sample is (example, condition, label set). :class:`nettime.data.loader.SampleDataset` reads blocks of whole
chunks, builds every requested sample of the blocks it holds, and yields shuffled batches, so
memory stays bounded by ``buffer_blocks * block_examples`` examples whatever the file size.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import h5py
import numpy as np
import pandas as pd

from nettime.data.genome import one_hot
from nettime.files import DataError

LABEL_SETS = ("conserved", "relaxed")
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
