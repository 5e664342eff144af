"""The data set of one split: a folder of HDF5 files, one per track, its feature sets and its
reader (writers: :mod:`nettime.data.writer`; torch loader: :mod:`nettime.data.loader`).

Layout of ``results/data/{split}/`` (every per-example dataset is chunked along examples and
gzip-compressed)::

    examples.h5                 chrom (n,) bytes, start (n,) int64, end (n,) int64,
                                sequence (n, L) uint8 codes A=0 C=1 G=2 T=3 (4: other);
                                attrs length, split
    signals/{cell}.{assay}.h5   values (n, L) float16: the z-scored in-peak signal;
                                attrs mean, std (the statistics it was z-scored with), source,
                                md5
    labels/{condition}.h5       conserved, relaxed (n, ceil(L/8)) uint8: base labels packed 8 per
                                byte (numpy.packbits along L); attrs length, n_examples
    motifs/{TF}.h5              values (n, L, 2) float16: z-scored FIMO max(1 - p), forward and
                                reverse strand; attrs mean_fwd, std_fwd, mean_rev, std_rev

One file per track means that a new condition, cell type or TF adds files and changes none:
models that do not use them are not retrained. A job reads only the files it needs.

A sample is (example, condition, label set). :class:`nettime.data.loader.SampleDataset` reads
blocks of whole chunks, builds every requested sample of the blocks it holds, and yields
shuffled batches, so memory stays bounded by ``buffer_blocks * block_examples`` examples whatever
the file size.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import h5py
import numpy as np

from nettime.config import schema_defaults, split_condition
from nettime.data.genome import one_hot
from nettime.files import DataError

if TYPE_CHECKING:  # loaded by `examples` alone: model jobs never need it
    import pandas as pd

LABEL_SETS = ("conserved", "relaxed")


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
    """The named feature sets of ``config["feature_sets"]`` (the schema's defaults when
    absent)."""
    table = config.get("feature_sets") or schema_defaults()["feature_sets"]
    return {name: FeatureSet(name, tuple(spec.get("assays", [])), bool(spec.get("motifs")))
            for name, spec in table.items()}



def _strings(values: Any) -> list[str]:
    return [v.decode() if isinstance(v, bytes) else str(v) for v in np.atleast_1d(values)]


#: Files of a split's data set folder, relative to it.
EXAMPLES_FILE = "examples.h5"


def signal_file(cell_type: str, assay: str) -> str:
    return f"signals/{cell_type}.{assay}.h5"


def labels_file(condition: str) -> str:
    return f"labels/{condition}.h5"


def motifs_file(tf: str) -> str:
    return f"motifs/{tf}.h5"


def dataset_folder(path: str | os.PathLike[str]) -> str:
    """The data set folder of ``path``: the folder itself, or the folder of its examples file
    (rules name that file as a split's input)."""
    root = Path(path)
    return os.fspath(root.parent if root.name == EXAMPLES_FILE else root)


def input_files(folder: str | os.PathLike[str], conditions: Sequence[str],
                feature_set: FeatureSet | None = None, labels: bool = True) -> list[str]:
    """The files of a data set folder (or of its examples file) that a job over ``conditions``
    reads: the examples, the conditions' labels (with ``labels``) and the tracks of
    ``feature_set`` for their cell types and TFs."""
    folder = dataset_folder(folder)
    names = [split_condition(condition) for condition in conditions]
    files = [f"{folder}/{EXAMPLES_FILE}"]
    if labels:
        files += [f"{folder}/{labels_file(c)}" for c in conditions]
    if feature_set is not None:
        cells = dict.fromkeys(cell for _, cell in names)
        files += [f"{folder}/{signal_file(cell, assay)}" for cell in cells
                  for assay in feature_set.assays]
        if feature_set.motifs:
            files += [f"{folder}/{motifs_file(tf)}" for tf in dict.fromkeys(t for t, _ in names)]
    return files


def _names(folder: Path, suffix: str = ".h5") -> list[str]:
    if not folder.is_dir():
        return []
    return sorted(p.name[: -len(suffix)] for p in folder.iterdir()
                  if p.name.endswith(suffix) and not p.name.startswith("."))


class DataSet:
    """Read access to one split's data set folder (see the module docstring).

    The tracks present are those whose files exist: ``conditions``, ``cell_types``, ``assays``
    and ``tfs`` list them; a track's file is opened on first use.
    """

    def __init__(self, path: str | os.PathLike[str]):
        root = Path(path)
        if root.name == EXAMPLES_FILE:  # the folder's examples file stands for the folder
            root = root.parent
        self.path = str(root)
        self._root = root
        try:
            self._h5 = h5py.File(self._root / EXAMPLES_FILE, "r")
        except OSError as error:
            raise DataError(f"{self.path}: cannot open the data set ({EXAMPLES_FILE}): "
                            f"{error}") from None
        self.length = int(self._h5.attrs["length"])
        self.n_examples = int(self._h5["start"].shape[0])
        self.label_sets = list(LABEL_SETS)
        self.conditions = _names(self._root / "labels")
        tracks = [name.split(".", 1) for name in _names(self._root / "signals")]
        self.cell_types = list(dict.fromkeys(cell for cell, _ in tracks))
        self.assays = list(dict.fromkeys(assay for _, assay in tracks))
        self.tfs = _names(self._root / "motifs")
        self._open: dict[str, h5py.File] = {}

    @property
    def attrs(self) -> h5py.AttributeManager:
        return self._h5.attrs

    @property
    def chunk_examples(self) -> int:
        chunks = self._h5["sequence"].chunks
        return int(chunks[0]) if chunks else max(self.n_examples, 1)

    def _file(self, name: str, what: str) -> h5py.File:
        if name not in self._open:
            path = self._root / name
            if not path.exists():
                raise KeyError(f"{self.path}: no {what} ({name} is missing; {self._present()})")
            self._open[name] = h5py.File(path, "r")
        return self._open[name]

    def _present(self) -> str:
        return (f"conditions: {', '.join(self.conditions) or 'none'}; cell types: "
                f"{', '.join(self.cell_types) or 'none'}; assays: "
                f"{', '.join(self.assays) or 'none'}; TFs with motifs: "
                f"{', '.join(self.tfs) or 'none'}")

    @property
    def stats(self) -> dict[str, list[float]]:
        """Track key (``signals/{cell}/{assay}``, ``motifs/{TF}/fwd|rev``) -> [mean, std] the
        track was z-scored with."""
        out = {}
        for cell in self.cell_types:
            for assay in self.assays:
                if (self._root / signal_file(cell, assay)).exists():
                    attrs = self._file(signal_file(cell, assay), "signal").attrs
                    out[f"signals/{cell}/{assay}"] = [float(attrs["mean"]), float(attrs["std"])]
        for tf in self.tfs:
            attrs = self._file(motifs_file(tf), "motif channels").attrs
            for strand in ("fwd", "rev"):
                out[f"motifs/{tf}/{strand}"] = [float(attrs[f"mean_{strand}"]),
                                                float(attrs[f"std_{strand}"])]
        return out

    def examples(self) -> pd.DataFrame:
        """Coordinates of every example: columns chrom, start, end."""
        import pandas as pd

        return pd.DataFrame({"chrom": _strings(self._h5["chrom"][:]),
                             "start": self._h5["start"][:], "end": self._h5["end"][:]})

    def read_sequence(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """uint8 (m, L) codes of examples ``start:stop``."""
        return self._h5["sequence"][start:stop]

    def read_labels(self, condition: str, label_set: str = "conserved", start: int = 0,
                    stop: int | None = None) -> np.ndarray:
        """uint8 (m, L) in {0, 1}: base labels of a condition and label set."""
        if label_set not in LABEL_SETS:
            raise KeyError(f"unknown label set {label_set!r}; use {', '.join(LABEL_SETS)}")
        packed = self._file(labels_file(condition),
                            f"labels for condition {condition!r}")[label_set][start:stop]
        return np.unpackbits(packed, axis=1, count=self.length)

    def has_signal(self, cell_type: str, assay: str) -> bool:
        """Whether the data set holds the (cell type, assay) track."""
        return (self._root / signal_file(cell_type, assay)).exists()

    def read_signal(self, cell_type: str, assay: str, start: int = 0,
                    stop: int | None = None) -> np.ndarray:
        """float32 (m, L) z-scored signal of a (cell type, assay)."""
        track = self._file(signal_file(cell_type, assay),
                           f"{assay} signal for cell type {cell_type!r}")
        return track["values"][start:stop].astype(np.float32)

    def read_motifs(self, tf: str, start: int = 0, stop: int | None = None) -> np.ndarray:
        """float32 (m, L, 2) z-scored motif channels of a TF."""
        track = self._file(motifs_file(tf), f"motif features for TF {tf!r}")
        return track["values"][start:stop].astype(np.float32)

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
        for handle in self._open.values():
            handle.close()
        self._open.clear()
        self._h5.close()

    def __enter__(self) -> DataSet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_dataset(path: str | os.PathLike[str]) -> DataSet:
    """Open a split's data set folder (``results/data/{split}``, or its ``examples.h5``); see
    :class:`DataSet`."""
    return DataSet(path)
