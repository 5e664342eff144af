"""The torch sample loader over the HDF5 data set (kept apart so data-set rules need no torch).

A sample is (example, condition, label set). :class:`SampleDataset` reads blocks of whole chunks,
builds every requested sample of the blocks it holds, and yields shuffled batches, so memory stays
bounded by ``buffer_blocks * block_examples`` examples whatever the file size.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch

from nettime.config import split_condition
from nettime.data.dataset import LABEL_SETS, DataSet, FeatureSet
from nettime.data.genome import one_hot
from nettime.files import DataError


class SampleDataset(torch.utils.data.IterableDataset):
    """Batches of (example, condition, label set) samples read block by block.

    Parameters
    ----------
    path
        The split's HDF5 file.
    feature_set
        Which channels make ``x``.
    conditions
        Condition names ``TF.cell`` to sample; ``batch["condition"]`` indexes this list.
    label_sets
        Subset of ``("conserved", "relaxed")``; ``batch["label_set"]`` is 0 or 1.
    tf_vocab, cell_vocab
        TF and cell-type vocabularies; ``batch["tf"]``/``batch["cell"]`` index them.
    batch_size, shuffle, seed
        With ``shuffle``, blocks are visited in random order and samples are shuffled within
        a buffer of ``buffer_blocks`` blocks; without it, samples come in (example, condition,
        label set) order.
    num_samples
        Use a fixed random subset of this many samples (drawn once from ``seed``; e.g. to
        subsample a multitask set to a single-task size); None uses every sample.
    block_examples
        Examples read per block (rounded up to whole HDF5 chunks).
    bound_fraction
        With ``shuffle``: keep every sample whose labels mark a bound base and a random share of
        the others, so that bound samples make about this fraction of each buffer (when there
        are enough unbound ones). None keeps every sample (the original's uniform sampling).
        Where a condition's peaks cover a small share of the pooled examples, most uniform
        samples have no bound base and teach the model little per step.
    """

    def __init__(self, path: str | os.PathLike[str], feature_set: FeatureSet,
                 conditions: Sequence[str], label_sets: Sequence[str],
                 tf_vocab: Sequence[str], cell_vocab: Sequence[str], batch_size: int,
                 shuffle: bool = True, seed: int = 0, num_samples: int | None = None,
                 block_examples: int = 512, buffer_blocks: int = 4,
                 bound_fraction: float | None = None):
        super().__init__()
        if bound_fraction is not None and not 0 < bound_fraction < 1:
            raise DataError(f"bound_fraction must be in (0, 1) or None, got {bound_fraction}")
        self.bound_fraction = bound_fraction
        self.path = str(path)
        self.feature_set = feature_set
        self.conditions = list(conditions)
        self.label_sets = list(label_sets)
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.seed = int(seed)
        self.buffer_blocks = max(1, int(buffer_blocks))
        self.epoch = 0
        with DataSet(self.path) as data:
            self.n_examples = data.n_examples
            self.length = data.length
            chunk = data.chunk_examples
            for condition in self.conditions:
                if condition not in data.conditions:
                    raise DataError(f"{self.path}: no condition {condition!r} (conditions: "
                                    f"{', '.join(data.conditions)})")
            for label_set in self.label_sets:
                if label_set not in LABEL_SETS:
                    raise DataError(f"unknown label set {label_set!r}; use {LABEL_SETS}")
            for assay in feature_set.assays:
                if assay not in data.assays:
                    raise DataError(f"{self.path}: feature set {feature_set.name!r} needs "
                                    f"assay {assay!r}, which the data set lacks")
            if feature_set.motifs:
                for condition in self.conditions:
                    tf = split_condition(condition)[0]
                    if tf not in data.tfs:
                        raise DataError(f"{self.path}: feature set {feature_set.name!r} "
                                        f"needs motif features of {tf!r}, which the data set "
                                        "lacks (add a motif for it under 'motifs' in config)")
        pairs = [split_condition(c) for c in self.conditions]
        tf_vocab, cell_vocab = list(tf_vocab), list(cell_vocab)
        for tf, cell in pairs:
            if tf not in tf_vocab or cell not in cell_vocab:
                raise DataError(f"condition {tf}.{cell}: TF or cell type missing from the "
                                f"vocabularies (TFs: {', '.join(tf_vocab)}; cell types: "
                                f"{', '.join(cell_vocab)})")
        self._tf = np.array([tf_vocab.index(tf) for tf, _ in pairs], dtype=np.int64)
        self._cell = np.array([cell_vocab.index(c) for _, c in pairs], dtype=np.int64)
        self._cell_names = [c for _, c in pairs]
        self._tf_names = [tf for tf, _ in pairs]
        self._label_set = np.array([LABEL_SETS.index(s) for s in self.label_sets], np.int64)
        self.block_examples = max(chunk, int(math.ceil(block_examples / chunk)) * chunk)
        self.blocks = [(a, min(a + self.block_examples, self.n_examples))
                       for a in range(0, self.n_examples, self.block_examples)]
        self.per_example = len(self.conditions) * len(self.label_sets)
        total = self.n_examples * self.per_example
        if num_samples is None:
            self.block_counts = None
            self.n_samples = total
        else:
            if not 0 < num_samples <= total:
                raise DataError(f"num_samples must be in 1..{total} (examples x conditions x "
                                f"label sets), got {num_samples}")
            sizes = np.array([(b - a) * self.per_example for a, b in self.blocks], np.int64)
            rng = np.random.default_rng([self.seed, 1])
            self.block_counts = rng.multivariate_hypergeometric(sizes, int(num_samples))
            self.n_samples = int(num_samples)

    def __len__(self) -> int:
        return math.ceil(self.n_samples / self.batch_size)

    def set_epoch(self, epoch: int) -> None:
        """Reshuffle differently in the next pass (needed with worker processes)."""
        self.epoch = int(epoch)

    def _block_samples(self, index: int) -> np.ndarray:
        """Sample codes ``(example - a) * per_example + condition * S + label_set`` of a block."""
        a, b = self.blocks[index]
        size = (b - a) * self.per_example
        if self.block_counts is None:
            return np.arange(size, dtype=np.int64)
        rng = np.random.default_rng([self.seed, 2, index])
        return np.sort(rng.choice(size, int(self.block_counts[index]), replace=False))

    def _load(self, data: DataSet, blocks: Sequence[int]) -> dict[str, Any]:
        """Read the arrays every sample of these blocks needs; rows in block order."""
        spans = [self.blocks[i] for i in blocks]
        cat = np.concatenate

        def read(fn: Any, *args: Any) -> np.ndarray:
            return cat([fn(*args, a, b) for a, b in spans])

        store: dict[str, Any] = {"codes": read(data.read_sequence)}
        store["labels"] = np.stack([np.stack([read(data.read_labels, c, s)
                                              for s in self.label_sets])
                                    for c in self.conditions])  # (C, S, m, L)
        if self.feature_set.assays:
            store["cells"] = {cell: np.stack([read(data.read_signal, cell, a)
                                              for a in self.feature_set.assays], axis=-1)
                              for cell in dict.fromkeys(self._cell_names)}
        if self.feature_set.motifs:
            store["tfs"] = {tf: read(data.read_motifs, tf)
                            for tf in dict.fromkeys(self._tf_names)}
        store["rows"] = cat([np.arange(a, b) for a, b in spans])
        return store

    def _enrich(self, samples: np.ndarray, store: dict[str, Any],
                rng: np.random.Generator) -> np.ndarray:
        """The buffer's samples (int64 codes, in their shuffled order) with unbound ones thinned
        so that bound samples make about ``bound_fraction`` of them."""
        n_s = len(self.label_sets)
        bound = store["labels"].any(axis=-1)[(samples % self.per_example) // n_s,
                                             samples % n_s, samples // self.per_example]
        n_bound = int(bound.sum())
        wanted = n_bound * (1 - self.bound_fraction) / self.bound_fraction
        keep_unbound = min(1.0, wanted / max(len(bound) - n_bound, 1))
        # One draw per sample whatever is kept: the stream, hence a resumed run, stays the same.
        return samples[bound | (rng.random(len(samples)) < keep_unbound)]

    def _batch(self, store: dict[str, Any], local: np.ndarray, cond: np.ndarray,
               lset: np.ndarray) -> dict[str, torch.Tensor]:
        n_assays = len(self.feature_set.assays)
        x = np.empty((len(local), self.length, self.feature_set.n_channels), np.float32)
        x[..., :4] = one_hot(store["codes"][local])
        if n_assays:
            for ci in np.unique(cond):
                mask = cond == ci
                x[mask, :, 4:4 + n_assays] = store["cells"][self._cell_names[ci]][local[mask]]
        if self.feature_set.motifs:
            for ci in np.unique(cond):
                mask = cond == ci
                x[mask, :, 4 + n_assays:] = store["tfs"][self._tf_names[ci]][local[mask]]
        y = store["labels"][cond, lset, local].astype(np.int64)
        return {"x": torch.from_numpy(x), "y": torch.from_numpy(y),
                "tf": torch.from_numpy(self._tf[cond]), "cell": torch.from_numpy(self._cell[cond]),
                "example": torch.from_numpy(store["rows"][local]),
                "condition": torch.from_numpy(cond.astype(np.int64)),
                "label_set": torch.from_numpy(self._label_set[lset])}

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        order = np.arange(len(self.blocks))
        rng = np.random.default_rng([self.seed, 3, self.epoch])
        if self.shuffle:
            rng.shuffle(order)
        info = torch.utils.data.get_worker_info()
        if info is not None:
            order = order[info.id::info.num_workers]
            rng = np.random.default_rng([self.seed, 3, self.epoch, info.id])
        else:
            self.epoch += 1  # without workers each pass reshuffles by itself
        n_s = len(self.label_sets)
        pending: dict[str, torch.Tensor] | None = None
        with DataSet(self.path) as data:
            for g in range(0, len(order), self.buffer_blocks):
                group = order[g:g + self.buffer_blocks]
                codes, offset = [], 0
                for i in group:
                    a, b = self.blocks[i]
                    codes.append(self._block_samples(i) + offset * self.per_example)
                    offset += b - a
                samples = np.concatenate(codes)
                if len(samples) == 0:
                    continue
                if self.shuffle:
                    rng.shuffle(samples)
                store = self._load(data, group)
                if self.shuffle and self.bound_fraction is not None:
                    samples = self._enrich(samples, store, rng)
                local = samples // self.per_example
                cond = (samples % self.per_example) // n_s
                lset = samples % n_s
                pos = 0
                if pending is not None:
                    take = min(self.batch_size - len(pending["y"]), len(samples))
                    part = self._batch(store, local[:take], cond[:take], lset[:take])
                    pending = {k: torch.cat([pending[k], part[k]]) for k in part}
                    pos = take
                    if len(pending["y"]) == self.batch_size:
                        yield pending
                        pending = None
                while pos < len(samples):
                    stop = min(pos + self.batch_size, len(samples))
                    batch = self._batch(store, local[pos:stop], cond[pos:stop], lset[pos:stop])
                    if stop - pos < self.batch_size:
                        pending = batch
                    else:
                        yield batch
                    pos = stop
        if pending is not None:
            yield pending


def make_loader(path: str | os.PathLike[str], feature_set: FeatureSet,
                conditions: Sequence[str], label_sets: Sequence[str], tf_vocab: Sequence[str],
                cell_vocab: Sequence[str], batch_size: int, shuffle: bool = True, seed: int = 0,
                num_samples: int | None = None, num_workers: int = 0,
                block_examples: int = 512, buffer_blocks: int = 4,
                bound_fraction: float | None = None) -> torch.utils.data.DataLoader:
    """A torch DataLoader over :class:`SampleDataset` batches (see there for the arguments).

    Each batch is a dict: x float32 (B, L, K), y int64 (B, L), tf, cell, example, condition,
    label_set int64 (B,).
    """
    dataset = SampleDataset(path, feature_set, conditions, label_sets, tf_vocab, cell_vocab,
                            batch_size, shuffle, seed, num_samples, block_examples,
                            buffer_blocks, bound_fraction)
    return torch.utils.data.DataLoader(dataset, batch_size=None, num_workers=num_workers,
                                       persistent_workers=False)
