"""Genome-wide predictions reduced to block maxima: each model's own predictor over the windows
of a tiled data set (:mod:`nettime.data.tiles`), each base taken from the window that owns it,
reduced to the maximum probability of every ``grid``-bp block of the tiled chromosomes (what
the ENCODE-DREAM protocol scores, :mod:`nettime.evaluation.dream`).

:func:`predict_maxima` predicts one condition at a time into a temporary predictions file
(:mod:`nettime.data.predictions`), reduces it and deletes it, so the disk holds one condition's
per-base predictions at most (at genome scale these are large: 2 bytes per base and window,
windows overlapping by half) while the maxima file keeps 2 bytes per ``grid`` bases.
:func:`write_maxima` reduces a predictions file already made. Memory holds one block of
windows whatever the chromosome length.

The maxima file: ``maxima/{condition}/{chrom}`` float16 (floor(size / grid),): the maximum
probability over each block ``[i * grid, (i + 1) * grid)``; attributes ``model``, ``length``,
``grid``, ``bin_width`` (the method's bins: they must divide the grid), ``method``, ``source``,
``chromosomes``, ``sizes``.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np
from tqdm import tqdm

from nettime.data.tiles import TILED_SPLIT, Tiling, read_tiling
from nettime.files import AtomicWriter, DataError, PathLike

#: Windows reduced at a time.
WINDOW_BLOCK = 512


def block_maxima(prob: np.ndarray, starts: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                 grid: int) -> np.ndarray:
    """The maxima of the owned blocks of consecutive windows of one chromosome, in genome
    order.

    Parameters
    ----------
    prob : float16 (m, L)
        Per-base probabilities of the windows.
    starts, lo, hi : int64 (m,)
        Window starts and owned spans (:func:`nettime.data.tiles.tile_spans`), on the grid.

    Returns
    -------
    float16 (sum((hi - lo) / grid),)
        The maxima of blocks ``lo[0] / grid`` to ``hi[-1] / grid``.
    """
    m, length = prob.shape
    maxima = np.asarray(prob).reshape(m, length // grid, grid).max(axis=2)
    counts = (hi - lo) // grid
    rows = np.repeat(np.arange(m), counts)
    within = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    return maxima[rows, np.repeat((lo - starts) // grid, counts) + within]


class MaximaWriter(AtomicWriter):
    """The maxima file (see the module docstring), written condition by condition, atomically.

    Parameters
    ----------
    path
        The maxima file.
    tiling
        The tiles the predictions are over.
    attrs
        Further attributes (``model``, ``source``, ...).
    """

    def __init__(self, path: PathLike, tiling: Tiling, attrs: Mapping[str, Any] | None = None):
        self.tiling = tiling
        self.bin_width: int | None = None
        super().__init__(path, suffix=".h5")
        with self.opening():
            self._h5 = h5py.File(self.tmp, "w")
            for key, value in {"length": tiling.length, "grid": tiling.grid,
                               "chromosomes": np.array(tiling.chromosomes, dtype="S"),
                               "sizes": np.array(tiling.sizes, dtype=np.int64),
                               **(attrs or {})}.items():
                self._h5.attrs[key] = value

    def add(self, condition: str, predictions: h5py.File, source: PathLike,
            block: int = WINDOW_BLOCK, progress: Any = None) -> None:
        """Reduce ``prob/{condition}`` of an open predictions file; ``progress`` (a tqdm bar or
        None) counts the windows."""
        tiling, grid = self.tiling, self.tiling.grid
        bin_width = int(predictions.attrs.get("bin_width", 1))
        if grid % bin_width:
            raise DataError(f"{source}: bins of {bin_width} bp do not divide the {grid}-bp grid "
                            "of the tiles")
        if self.bin_width is None:
            self.bin_width = bin_width
            self._h5.attrs["bin_width"] = bin_width
            self._h5.attrs["method"] = str(predictions.attrs.get("method", "nettime"))
        prob = predictions[f"prob/{condition}"]
        if prob.shape != (tiling.n_examples, tiling.length):
            raise DataError(f"{source}: prob/{condition} has shape {prob.shape}, but the tiles "
                            f"are {tiling.n_examples} windows of {tiling.length} bp")
        out = {chrom: self._h5.create_dataset(
            f"maxima/{condition}/{chrom}", shape=(size // grid,), dtype=np.float16,
            chunks=(min(1 << 16, size // grid),), compression="gzip", shuffle=True)
            for chrom, size in zip(tiling.chromosomes, tiling.sizes, strict=True)}
        for chrom, a, b, starts, lo, hi in tiling.blocks(block):
            out[chrom][lo[0] // grid:hi[-1] // grid] = block_maxima(prob[a:b], starts, lo, hi,
                                                                   grid)
            if progress is not None:
                progress.update(b - a)

    def close_handles(self) -> None:
        if hasattr(self, "_h5"):
            self._h5.close()


def write_maxima(predictions: PathLike, tiles: PathLike, out: PathLike,
                 block: int = WINDOW_BLOCK, progress: bool = True) -> None:
    """The maxima file of every condition of a predictions file over a tiled data set."""
    tiling = read_tiling(tiles)
    with h5py.File(predictions, "r") as source:
        conditions = sorted(source["prob"].keys())
        bar = tqdm(total=tiling.n_examples * len(conditions), desc="maxima", unit="window",
                   file=sys.stderr, disable=not progress)
        with MaximaWriter(out, tiling, {"model": str(source.attrs.get("model", "")),
                                        "source": os.fspath(predictions)}) as writer:
            for condition in conditions:
                writer.add(condition, source, predictions, block, bar)
        bar.close()


def predict_maxima(model_path: PathLike, tiles: PathLike, out: PathLike,
                   conditions: Sequence[str], model_name: str, config: Mapping[str, Any],
                   threads: int | None = None, block: int = WINDOW_BLOCK,
                   progress: bool = True) -> None:
    """The maxima file of a model's predictions over a tiled data set, made by the model's own
    predictor (:func:`nettime.baselines.kinds.predict_with_settings`) one condition at a time:
    each condition's per-base predictions are written to a temporary file beside ``out``,
    reduced and deleted.

    Parameters
    ----------
    model_path
        The model's checkpoint (any kind of the registry).
    tiles
        The tiled data set's folder or its ``examples.h5``.
    conditions
        ``TF.cell`` conditions to predict.
    config
        The project configuration (``training:`` settings of prediction).
    """
    from nettime.baselines.kinds import predict_with_settings

    tiling = read_tiling(tiles)
    folder = Path(tiles)
    folder = folder.parent if folder.name == "examples.h5" else folder
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    with MaximaWriter(out, tiling, {"model": model_name,
                                    "source": os.fspath(model_path)}) as writer:
        for condition in conditions:
            with tempfile.TemporaryDirectory(prefix=".dream-", dir=Path(out).parent) as tmp:
                path = Path(tmp) / "predictions.h5"
                predict_with_settings(model_path, folder, path, [condition], model_name,
                                      TILED_SPLIT, config, threads=threads, progress=progress)
                with h5py.File(path, "r") as predictions:
                    writer.add(condition, predictions, path, block)
