"""Batched inference: per-base binding probabilities in HDF5 (tracks: ``nettime.calls.tracks``).

Prediction needs no labels, so any TF the model knows can be paired with any cell type it
knows, whether or not that condition was trained on or even measured. The output is a
predictions file (:mod:`nettime.data.predictions`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from nettime.config import split_condition
from nettime.data.predictions import PredictionsWriter
from nettime.layout import AVERAGE_TRAIN, PREDICTION_VARIANTS, RANDOM_EMBEDDING_VARIANTS
from nettime.models.device import autocast, resolve_device
from nettime.models.network import NetTIME, vocab_index

#: Reads the features of examples [start, stop): float32 (m, L, K).
BlockReader = Callable[[int, int], np.ndarray]


def predict_condition(model: NetTIME, read_block: BlockReader, n_examples: int, tf: int,
                      cell: int | Sequence[int], batch_size: int = 64,
                      device: torch.device | str = "cpu", amp: bool = True,
                      cpu_bf16: bool = False) -> Iterator[tuple[int, np.ndarray]]:
    """P(bound) per base for one condition, block by block.

    Parameters
    ----------
    model
        The network (put in eval mode here).
    read_block
        ``read_block(start, stop)`` -> float32 (m, L, K) features of those examples.
    n_examples
        Number of examples to predict.
    tf, cell
        Indices into the model's TF and cell-type tables; several cell-type indices average
        the probabilities of each (in float32, block by block, so memory stays one block).
    batch_size
        Examples per forward pass.
    device
        Where to run; ``amp`` enables float16 autocast on CUDA.
    cpu_bf16
        bfloat16 autocast on CPU: about twice as fast where the CPU has bfloat16 units
        (AVX512-BF16, AMX); probabilities change by a few 1e-4 at most, below the float16
        resolution they are stored with. Off by default.

    Yields
    ------
    start, prob
        First example of the block and (m, L) float16 probabilities (what predictions files
        store).
    """
    cells = [int(cell)] if isinstance(cell, (int, np.integer)) else [int(c) for c in cell]
    if not cells:
        raise ValueError("predict_condition: no cell-type index to predict with")
    device = torch.device(device)
    model.eval()
    with torch.inference_mode(), autocast(device, amp, cpu_bf16):
        for start in range(0, n_examples, batch_size):
            stop = min(start + batch_size, n_examples)
            x = torch.from_numpy(np.ascontiguousarray(read_block(start, stop), np.float32))
            x = x.to(device)
            m = stop - start
            tf_index = torch.full((m,), tf, dtype=torch.int64, device=device)
            prob = None
            for c in cells:
                cell_index = torch.full((m,), c, dtype=torch.int64, device=device)
                p = torch.softmax(model(x, tf_index, cell_index).float(), dim=-1)[..., 1]
                prob = p if prob is None else prob + p
            yield start, (prob / len(cells)).cpu().numpy().astype(np.float16)


def write_predictions(path: str | Path, model: NetTIME, conditions: Sequence[str],
                      n_examples: int, length: int, reader_for: Callable[[str, str], BlockReader],
                      model_name: str, split: str, batch_size: int = 64,
                      device: str = "auto", amp: bool = True, progress: bool = True,
                      cpu_bf16: bool = False,
                      embedding_cells: Mapping[str, Sequence[str]] | None = None) -> None:
    """Predict every condition and write ``prob/{condition}`` float16 (n_examples, L) to HDF5.

    Parameters
    ----------
    path
        Output file, written atomically.
    model
        The network; its vocabularies must hold every TF and cell type of ``conditions``.
    conditions
        Condition names ``TF.cell``; trained or not.
    n_examples, length
        Rows and columns of each output matrix.
    reader_for
        ``reader_for(tf, cell)`` -> a :data:`BlockReader` of that pair's features.
    model_name, split
        Recorded as attributes.
    embedding_cells
        Condition -> the cell types whose embeddings predict it, the probabilities averaged
        (Average Train: a condition's own input features with the embedding of each cell type
        its TF was trained in); a condition not named uses its own cell type's.
    """
    dev = resolve_device(device)
    model.to(dev)
    pairs = [split_condition(c) for c in conditions]
    tf_idx = vocab_index(model.config.tf_vocab, [t for t, _ in pairs], "TF")
    cell_idx = vocab_index(model.config.cell_vocab, [c for _, c in pairs], "cell type")
    bar = tqdm(total=n_examples * len(conditions), desc=f"predict {model_name} {split}",
               unit="ex", file=sys.stderr, disable=not progress, dynamic_ncols=True)
    with PredictionsWriter(path, n_examples, length, model_name, split, conditions) as writer:
        for condition, (tf, cell), ti, ci in zip(conditions, pairs, tf_idx, cell_idx,
                                                 strict=True):
            out = writer.create(condition)
            cells = (embedding_cells or {}).get(condition)
            if cells is not None:
                if not cells:
                    raise ValueError(f"{condition}: no cell type's embedding to average over")
                ci = vocab_index(model.config.cell_vocab, list(cells), "cell type")
            for start, prob in predict_condition(model, reader_for(tf, cell), n_examples,
                                                 ti, ci, batch_size, dev, amp, cpu_bf16):
                out[start:start + len(prob)] = prob
                bar.update(len(prob))
    bar.close()


# --------------------------------------------------------------------------------------------
# glue: model.pt + the split's HDF5 data set (nettime.data.dataset)


def predict_split(model_path: str | Path, data_path: str | Path, out_path: str | Path,
                  conditions: Sequence[str], model_name: str, split: str,
                  variant: str | None = None, batch_size: int = 64, device: str = "auto",
                  amp: bool = True, threads: int | None = None, seed: int = 0,
                  progress: bool = True, cpu_bf16: bool = False,
                  embedding_cells: Mapping[str, Sequence[str]] | None = None) -> None:
    """Predict ``conditions`` on a split's data set with a trained model.

    Parameters
    ----------
    model_path
        ``results/models/{model}/model.pt`` (holds the feature set it was trained on).
    data_path
        ``results/data/{split}.h5``.
    out_path
        ``results/predictions/{model}/{split}[.{variant}].h5``.
    conditions
        Conditions to predict; every TF and cell type must be in the model's vocabularies.
    variant
        None; a key of :data:`nettime.layout.RANDOM_EMBEDDING_VARIANTS` (trained embeddings
        replaced by random vectors drawn with ``seed``); or
        :data:`nettime.layout.AVERAGE_TRAIN` with ``embedding_cells``.
    embedding_cells
        Average Train: condition -> the cell types whose embeddings are averaged over (see
        :func:`nettime.models.registry.average_train_cells`); only these conditions are
        predicted.
    """
    from nettime.data.dataset import FeatureSet, open_dataset
    from nettime.models.network import (
        ModelError,
        load_model,
        randomize_embeddings,
    )

    if threads:
        torch.set_num_threads(int(threads))
    model = load_model(model_path)
    if variant == AVERAGE_TRAIN:
        if embedding_cells is None:
            raise ModelError(f"{variant} predictions need the cell types to average over")
        conditions = [c for c in conditions if c in embedding_cells]
    elif variant is not None:
        if variant not in RANDOM_EMBEDDING_VARIANTS:
            raise ModelError(f"unknown prediction variant {variant!r}; allowed: "
                             f"{', '.join(PREDICTION_VARIANTS)}")
        model = randomize_embeddings(model, *RANDOM_EMBEDDING_VARIANTS[variant], seed=seed)
        embedding_cells = None
    saved = torch.load(model_path, map_location="cpu", weights_only=False)
    fs = saved.get("feature_set")
    if fs is None:
        raise ModelError(f"{model_path}: the checkpoint does not record its feature set")
    feature_set = FeatureSet(fs["name"], tuple(fs["assays"]), bool(fs["motifs"]))
    with open_dataset(data_path) as data:
        def reader_for(tf: str, cell: str) -> BlockReader:
            return lambda start, stop: data.read_features(feature_set, cell, tf, start, stop)

        write_predictions(out_path, model, conditions, data.n_examples, data.length, reader_for,
                          model_name, split, batch_size, device, amp, progress, cpu_bf16,
                          embedding_cells=embedding_cells if variant else None)


def predict_with_settings(model_path: str | Path, data_path: str | Path, out_path: str | Path,
                          conditions: Sequence[str], model_name: str, split: str,
                          config: Mapping[str, Any], variant: str | None = None,
                          threads: int | None = None, progress: bool = True,
                          embedding_cells: Mapping[str, Sequence[str]] | None = None) -> None:
    """:func:`predict_split` with the ``training:`` settings of a configuration (batch size,
    device, mixed precision, bfloat16 on CPU); ``threads`` (the job's) over
    ``training.threads``."""
    from nettime.models.registry import training_settings

    training = training_settings(config)
    predict_split(model_path, data_path, out_path, conditions, model_name, split,
                  variant=variant, batch_size=training["predict_batch_size"],
                  device=training["device"], amp=training["amp"],
                  threads=threads if threads is not None else training["threads"],
                  progress=progress, cpu_bf16=training["cpu_bf16_inference"],
                  embedding_cells=embedding_cells)
