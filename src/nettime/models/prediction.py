"""Batched inference: per-base binding probabilities in HDF5 (tracks: ``nettime.calls.tracks``).

Prediction needs no labels, so any TF the model knows can be paired with any cell type it
knows, whether or not that condition was trained on or even measured. The output is a
predictions file (:mod:`nettime.data.predictions`). Conditions that read the same features (a
cell type's, without motif channels) are predicted together: the part of the network that no
embedding enters runs once per example for all of them (:func:`predict_shared`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
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
    for start, (prob,) in predict_shared(model, read_block, n_examples,
                                         [[(int(tf), c) for c in cells]], batch_size, device,
                                         amp, cpu_bf16):
        yield start, prob


def predict_shared(model: NetTIME, read_block: BlockReader, n_examples: int,
                   embeddings: Sequence[Sequence[tuple[int, int]]], batch_size: int = 64,
                   device: torch.device | str = "cpu", amp: bool = True,
                   cpu_bf16: bool = False) -> Iterator[tuple[int, list[np.ndarray]]]:
    """P(bound) per base for several conditions that read the same input features (the
    conditions of one cell type, without motif channels), block by block.

    The network's trunk (:meth:`NetTIME.trunk`: input layer and first convolutions, where no
    embedding enters) runs once per example; the rest runs once per example and (TF, cell
    type) embedding pair, several pairs of an example in one pass, so that the recurrences
    work on full batches. Each pass holds at most ``batch_size`` example-pairs.

    Parameters
    ----------
    model, read_block, n_examples, batch_size, device, amp, cpu_bf16
        As for :func:`predict_condition`.
    embeddings
        Per condition, the (TF index, cell-type index) pairs whose probabilities are averaged
        (one pair: the condition's own; several: Average Train).

    Yields
    ------
    start, probs
        First example of the block and, per condition, (m, L) float16 probabilities.
    """
    pairs = [pair for condition in embeddings for pair in condition]
    if not pairs or any(not condition for condition in embeddings):
        raise ValueError("predict_shared: a condition has no embedding pair to predict with")
    owner = np.repeat(np.arange(len(embeddings)), [len(c) for c in embeddings])
    # Examples per trunk pass, and pairs per head pass, so that no pass exceeds batch_size.
    per_trunk = max(1, batch_size // len(pairs))
    per_head = max(1, batch_size // per_trunk)
    device = torch.device(device)
    tf_all = torch.tensor([t for t, _ in pairs], dtype=torch.int64, device=device)
    cell_all = torch.tensor([c for _, c in pairs], dtype=torch.int64, device=device)
    model.eval()
    with torch.inference_mode(), autocast(device, amp, cpu_bf16):
        for start in range(0, n_examples, batch_size):
            stop = min(start + batch_size, n_examples)
            block = torch.from_numpy(np.ascontiguousarray(read_block(start, stop), np.float32))
            sums = [torch.zeros(stop - start, block.shape[1], device=device)
                    for _ in embeddings]
            for first in range(0, stop - start, per_trunk):
                x = block[first:first + per_trunk].to(device)
                m = x.shape[0]
                trunk = model.trunk(x)
                for p0 in range(0, len(pairs), per_head):
                    p1 = min(p0 + per_head, len(pairs))
                    k = p1 - p0
                    # Pair-major rows: rows j*m..(j+1)*m-1 are pair p0 + j on the m examples.
                    logits = model.head(trunk if k == 1 else trunk.repeat(k, 1, 1),
                                        tf_all[p0:p1].repeat_interleave(m),
                                        cell_all[p0:p1].repeat_interleave(m))
                    prob = torch.softmax(logits.float(), dim=-1)[..., 1].view(k, m, -1)
                    for j in range(k):
                        sums[owner[p0 + j]][first:first + m] += prob[j]
            yield start, [(total / len(condition)).cpu().numpy().astype(np.float16)
                          for total, condition in zip(sums, embeddings, strict=True)]


def write_predictions(path: str | Path, model: NetTIME, conditions: Sequence[str],
                      n_examples: int, length: int, reader_for: Callable[[str, str], BlockReader],
                      model_name: str, split: str, batch_size: int = 64,
                      device: str = "auto", amp: bool = True, progress: bool = True,
                      cpu_bf16: bool = False,
                      embedding_cells: Mapping[str, Sequence[str]] | None = None,
                      input_key: Callable[[str, str], Hashable] | None = None) -> None:
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
    input_key
        ``input_key(tf, cell)``: conditions with equal keys read the same features and are
        predicted together, sharing the network's trunk (:func:`predict_shared`); None (the
        default) predicts each condition on its own.
    """
    dev = resolve_device(device)
    model.to(dev)
    pairs = [split_condition(c) for c in conditions]
    tf_idx = vocab_index(model.config.tf_vocab, [t for t, _ in pairs], "TF")
    cell_idx = vocab_index(model.config.cell_vocab, [c for _, c in pairs], "cell type")
    embeddings: list[list[tuple[int, int]]] = []
    for condition, ti, ci in zip(conditions, tf_idx, cell_idx, strict=True):
        cells = (embedding_cells or {}).get(condition)
        if cells is not None and not cells:
            raise ValueError(f"{condition}: no cell type's embedding to average over")
        own = [ci] if cells is None else vocab_index(model.config.cell_vocab, list(cells),
                                                     "cell type")
        embeddings.append([(ti, c) for c in own])
    groups: dict[Hashable, list[int]] = {}
    for i, (tf, cell) in enumerate(pairs):
        groups.setdefault(input_key(tf, cell) if input_key is not None else i, []).append(i)
    bar = tqdm(total=n_examples * len(conditions), desc=f"predict {model_name} {split}",
               unit="ex", file=sys.stderr, disable=not progress, dynamic_ncols=True)
    with PredictionsWriter(path, n_examples, length, model_name, split, conditions) as writer:
        for members in groups.values():
            outs = [writer.create(conditions[i]) for i in members]
            read_block = reader_for(*pairs[members[0]])
            for start, probs in predict_shared(model, read_block, n_examples,
                                               [embeddings[i] for i in members], batch_size,
                                               dev, amp, cpu_bf16):
                for out, prob in zip(outs, probs, strict=True):
                    out[start:start + len(prob)] = prob
                bar.update(len(probs[0]) * len(members))
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

        # Without motif channels a condition's features are its cell type's alone.
        def input_key(tf: str, cell: str) -> Hashable:
            return cell if not feature_set.motifs else (tf, cell)

        write_predictions(out_path, model, conditions, data.n_examples, data.length, reader_for,
                          model_name, split, batch_size, device, amp, progress, cpu_bf16,
                          embedding_cells=embedding_cells if variant else None,
                          input_key=input_key)


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
