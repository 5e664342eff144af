"""What the per-TF network kinds (:mod:`nettime.baselines.leopard`,
:mod:`nettime.baselines.deepbind`) share: their registry entry points, the training of one TF's
network with its validation batches, and the prediction loop over TFs.

A kind describes itself once, as a :class:`NetworkKind` (how its network is built, how it scores
a batch of examples, how it trains one TF), and its module's ``train_model``,
``train_registry_model``, ``predict_split`` and ``predict_with_settings`` are that object's
methods (the functions :mod:`nettime.baselines.kinds` calls).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from nettime.baselines.common import (
    data_files,
    job_training,
    load_model_file,
    predictable_by_tf,
    refuse_init,
    refuse_variant,
    require_signals,
    spec_from_params,
    train_per_tf,
)
from nettime.data.dataset import DataSet, open_dataset
from nettime.data.predictions import PredictionsWriter
from nettime.models.device import resolve_device
from nettime.models.registry import ModelSpec
from nettime.models.training import (
    BatchSource,
    Objective,
    TrainResult,
    TrainSettings,
    data_identity,
    train,
)

#: ``inputs(data, condition, start, stop)`` -> the arrays a network reads for examples
#: ``start:stop`` of ``condition`` (``"x"`` and any other key its objective looks at).
ExampleInputs = Callable[[DataSet, str, int, int], dict[str, np.ndarray]]
#: ``scores(net, data, entry, conditions, start, stop, device, amp)`` -> (condition, float32
#: (m, L) P(bound)) for each of ``conditions`` (one TF's) on examples ``start:stop``; ``entry``
#: is the TF's entry of model.pt, ``net`` its network in eval mode on ``device``.
BatchScores = Callable[[torch.nn.Module, DataSet, Mapping[str, Any], list[str], int, int,
                        torch.device, bool], Iterable[tuple[str, np.ndarray]]]
#: ``check(data, saved, conditions, model_path, data_path)`` raises, naming what is missing,
#: when the data set lacks what the saved model needs to predict ``conditions``.
PredictCheck = Callable[[DataSet, Mapping[str, Any], Sequence[str], str | Path, str | Path],
                        None]


@dataclass(frozen=True)
class TrainInputs:
    """The data and budget every TF of a model trains with.

    Attributes
    ----------
    train_path, valid_path
        The training data set and the validation one (None: no validation).
    budget
        The spec's budget (``batch_size``, ``valid_examples`` are read here).
    valid_batch_size
        Examples per validation batch (``training.predict_batch_size``).
    seed
        The spec's seed: weights, sampling and shuffling.
    """

    train_path: str | Path
    valid_path: str | Path | None
    budget: Mapping[str, Any]
    valid_batch_size: int
    seed: int

    @property
    def batch_size(self) -> int:
        return int(self.budget["batch_size"])


#: A kind's trainer of one TF, called as ``train_tf(tf, conditions, part_dir, settings,
#: stop_after, inputs=TrainInputs)``: the training result and the TF's entry of model.pt.
TFTrainer = Callable[..., tuple[TrainResult, dict[str, Any]]]
#: ``setup(spec)`` -> the network sizes (model.pt's ``config``) and the spec's :data:`TFTrainer`.
TrainSetup = Callable[[ModelSpec], tuple[dict[str, Any], TFTrainer]]


def validation_batches(path: str | Path, conditions: Sequence[str], limit: int | None,
                       batch_size: int, inputs: ExampleInputs
                       ) -> Callable[[], Iterator[dict[str, torch.Tensor]]]:
    """The first ``limit`` examples (all: None) of a data set for each condition, in batches:
    the arrays of ``inputs`` as tensors, conserved labels y int64 (B, L) and ``condition`` int64
    (B,) indexing ``conditions``."""
    def batches() -> Iterator[dict[str, torch.Tensor]]:
        with open_dataset(path) as data:
            n = data.n_examples if limit is None else min(int(limit), data.n_examples)
            for ci, condition in enumerate(conditions):
                for a in range(0, n, batch_size):
                    b = min(a + batch_size, n)
                    y = data.read_labels(condition, "conserved", a, b).astype(np.int64)
                    arrays = {k: torch.from_numpy(v)
                              for k, v in inputs(data, condition, a, b).items()}
                    yield {**arrays, "y": torch.from_numpy(y),
                           "condition": torch.full((b - a,), ci, dtype=torch.int64)}
    return batches


def train_part(tf: str, conditions: Sequence[str], part_dir: Path, settings: TrainSettings,
               stop_after: int | None, inputs: TrainInputs, *, net: torch.nn.Module,
               batches: BatchSource, objective: Objective, valid_inputs: ExampleInputs,
               entry: Mapping[str, Any], identity: Mapping[str, Any],
               cells: Sequence[str] = ()) -> tuple[TrainResult, dict[str, Any]]:
    """Train one TF's network in ``part_dir`` (resumable), validated on the TF's conditions that
    the validation data set labels.

    Parameters
    ----------
    net, batches, objective
        The freshly built network, its training batches and objective.
    valid_inputs
        What the network reads of a validation example (see :data:`ExampleInputs`).
    entry
        What the TF's entry of model.pt holds beside the weights (stored in the part too).
    identity
        The kind's options that make a checkpoint another run's (with the TF, its conditions
        and the data files, a checkpoint made for others is not resumed).
    cells
        Cell types whose DNase the network reads (their tracks count as data files; the
        validation data set must hold them).

    Returns
    -------
    tuple
        The training result and ``entry``.
    """
    files = data_files(inputs.train_path, conditions, cells)
    valid, valid_conditions = None, []
    if inputs.valid_path is not None:
        with open_dataset(inputs.valid_path) as data:
            valid_conditions = [c for c in conditions if c in data.conditions]
            if valid_conditions and data.n_examples:
                require_signals(data, cells, "DNase", f"to validate {tf}")
                valid = validation_batches(inputs.valid_path, valid_conditions,
                                           inputs.budget.get("valid_examples"),
                                           inputs.valid_batch_size, valid_inputs)
                files += data_files(inputs.valid_path, valid_conditions, cells)
    result = train(net, batches, settings, part_dir, valid=valid,
                   n_valid_conditions=max(len(valid_conditions), 1),
                   extra={"tf": tf, **entry}, stop_after=stop_after, objective=objective,
                   identity={"tf": tf, "conditions": list(conditions), **identity,
                             "data": data_identity(files)})
    return result, dict(entry)


@dataclass(frozen=True)
class NetworkKind:
    """A per-TF network kind: what its entry points need to know of it.

    Attributes
    ----------
    kind, method
        The kind's name (model.pt's ``kind``, the predictions file's ``method``) and its
        description for the training summary.
    network
        ``network(config)``: a network of model.pt's ``config`` (weights loaded afterwards).
    scores
        Scores a batch of examples (see :data:`BatchScores`).
    setup
        The network sizes of a spec and its trainer of one TF (see :data:`TrainSetup`).
    check
        Checks a data set before prediction (see :data:`PredictCheck`); None: nothing beyond
        the TFs' networks.
    """

    kind: str
    method: str
    network: Callable[[Mapping[str, Any]], torch.nn.Module]
    scores: BatchScores
    setup: TrainSetup
    check: PredictCheck | None = None

    def train_model(self, spec: ModelSpec, config: Mapping[str, Any], train_path: str | Path,
                    valid_path: str | Path | None, model_out: str | Path,
                    spec_out: str | Path, params: Mapping[str, Any] | None = None,
                    progress: bool = True, stop_after: int | None = None
                    ) -> dict[str, Any] | None:
        """Train one network per TF of ``spec.conditions`` (see
        :func:`nettime.baselines.common.train_per_tf` for the files and ``stop_after``).

        ``config`` is the project configuration (its ``training:`` section is read);
        ``params`` (the rule's, for the vocabularies of spec.yaml) defaults to the spec alone.
        """
        network, train_tf = self.setup(spec)
        training = job_training(config, None)
        inputs = TrainInputs(train_path, valid_path, spec.budget,
                             int(training["predict_batch_size"]), spec.seed)
        params = params or {"spec": {k: v for k, v in spec.to_dict().items() if k != "predict"}}
        return train_per_tf(self.kind, self.method, spec, params, training, network, model_out,
                            spec_out, partial(train_tf, inputs=inputs), progress, stop_after)

    def train_registry_model(self, params: Mapping[str, Any], config: Mapping[str, Any],
                             train_path: str | Path, valid_path: str | Path | None,
                             init_path: str | Path | None, model_out: str | Path,
                             spec_out: str | Path, threads: int | None = None,
                             progress: bool = True) -> dict[str, Any] | None:
        """What the ``train_model`` rule runs for a spec of this kind: :meth:`train_model`
        from the rule's params; ``threads`` (the job's) over ``training.threads``."""
        refuse_init(init_path, self.kind)
        training = job_training(config, threads)
        return self.train_model(spec_from_params(params), {**config, "training": training},
                                train_path, valid_path, model_out, spec_out, params=params,
                                progress=progress)

    def predict_split(self, model_path: str | Path, data_path: str | Path,
                      out_path: str | Path, conditions: Sequence[str], model_name: str,
                      split: str, batch_size: int = 64, device: str = "auto", amp: bool = True,
                      threads: int | None = None, progress: bool = True) -> None:
        """Write the predictions file of ``conditions`` on a split's data set: each TF's
        network scores the examples in batches of ``batch_size`` for each of its conditions
        (float16 ``prob/{condition}``). Raises, naming them, for conditions of TFs without a
        network and for what :attr:`check` finds missing, before writing anything."""
        if threads:
            torch.set_num_threads(int(threads))
        saved = load_model_file(model_path, self.kind)
        by_tf = predictable_by_tf(saved, conditions, model_path)
        dev = resolve_device(device)
        with open_dataset(data_path) as data:
            if self.check is not None:
                self.check(data, saved, conditions, model_path, data_path)
            n = data.n_examples
            bar = tqdm(total=n * len(conditions), desc=f"predict {model_name} {split}",
                       unit="ex", file=sys.stderr, disable=not progress, dynamic_ncols=True)
            with PredictionsWriter(out_path, n, data.length, model_name, split, conditions,
                                   method=self.kind) as writer:
                outputs = {c: writer.create(c) for c in conditions}
                for tf, tf_conditions in by_tf.items():
                    net = self.network(saved["config"])
                    net.load_state_dict(saved["tfs"][tf]["state_dict"])
                    net.to(dev).eval()
                    for a in range(0, n, batch_size):
                        b = min(a + batch_size, n)
                        for condition, prob in self.scores(net, data, saved["tfs"][tf],
                                                           tf_conditions, a, b, dev, amp):
                            outputs[condition][a:b] = prob.astype(np.float16)
                            bar.update(b - a)
            bar.close()

    def predict_with_settings(self, model_path: str | Path, data_path: str | Path,
                              out_path: str | Path, conditions: Sequence[str], model_name: str,
                              split: str, config: Mapping[str, Any], variant: str | None = None,
                              threads: int | None = None, progress: bool = True) -> None:
        """What the ``predict`` rule runs: :meth:`predict_split` with the ``training:``
        settings (batch size, device, mixed precision); ``variant`` is not supported."""
        refuse_variant(variant, self.kind)
        training = job_training(config, threads)
        self.predict_split(model_path, data_path, out_path, conditions, model_name, split,
                           batch_size=int(training["predict_batch_size"]),
                           device=training["device"], amp=bool(training["amp"]),
                           threads=training["threads"], progress=progress)
