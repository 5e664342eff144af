"""Train (or fine-tune) a model of the registry on the split data sets: the network and its
vocabularies from the spec (or the checkpoint it fine-tunes), batches from the HDF5 data sets
through :mod:`nettime.data.loader`, and the loop of :mod:`nettime.models.training`."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
import yaml

from nettime.data.dataset import input_files
from nettime.files import write_text
from nettime.models.network import NetTIME
from nettime.models.registry import ModelSpec
from nettime.models.training import TrainingError, TrainResult, TrainSettings, data_identity, train


def settings_from_spec(spec: ModelSpec, training: Mapping[str, Any],
                       progress: bool = True) -> TrainSettings:
    """Training settings of a resolved spec and the ``training:`` config section."""
    budget = spec.budget
    return TrainSettings(lr=float(budget["lr"]), max_steps=budget.get("steps"),
                         epochs=budget.get("epochs"), eval_every=int(budget["eval_every"]),
                         checkpoint_every=budget.get("checkpoint_every"),
                         patience=budget.get("patience"), seed=spec.seed,
                         device=str(training.get("device", "auto")),
                         amp=bool(training.get("amp", True)), threads=training.get("threads"),
                         progress=progress)


def _model_for_spec(spec: ModelSpec, n_features: int, tf_vocab: Sequence[str],
                    cell_vocab: Sequence[str], init_path: str | Path | None) -> NetTIME:
    from nettime.models.network import ModelConfig, build_model, grow_vocab, load_model

    if init_path is None:
        sizes = spec.sizes
        config = ModelConfig(n_features=n_features, embedding_dim=int(sizes["embedding_dim"]),
                             tf_table_size=max(int(sizes["tf_table_size"]), len(tf_vocab)),
                             cell_table_size=max(int(sizes["cell_table_size"]),
                                                 len(cell_vocab)),
                             embeddings=spec.embeddings,
                             dropout=float(sizes.get("dropout", 0.1)),
                             tf_vocab=tuple(tf_vocab), cell_vocab=tuple(cell_vocab))
        return build_model(config, seed=spec.seed)
    base = load_model(init_path)
    if base.config.n_features != n_features:
        raise TrainingError(f"{init_path}: the model takes {base.config.n_features} input "
                            f"channels but feature set {spec.feature_set!r} has {n_features}")
    # New TFs / cell types get rows appended; trained rows stay as they are.
    return grow_vocab(base, tf_vocab, cell_vocab, seed=spec.seed)


def train_model(spec: ModelSpec, config: Mapping[str, Any], train_path: str | Path,
                valid_path: str | Path | None, out_dir: str | Path,
                tf_vocab: Sequence[str], cell_vocab: Sequence[str],
                init_path: str | Path | None = None, progress: bool = True) -> TrainResult:
    """Train (or fine-tune) the model of a registry spec on the split data sets.

    Parameters
    ----------
    spec
        The resolved spec (``nettime.registry.model_specs``).
    config
        The project configuration (``feature_sets`` and ``training`` are read).
    train_path, valid_path
        ``results/data/train.h5`` and ``results/data/valid.h5``; without a validation set
        (None) the last weights are kept.
    out_dir
        ``results/models/{model}``: receives model.pt, log.tsv, checkpoint.pt.
    tf_vocab, cell_vocab
        Names for the embedding rows of a scratch model (those of a fine-tuned model are kept
        and extended).
    init_path
        ``model.pt`` of the model to fine-tune, or None.
    """
    from nettime.data.dataset import feature_sets_from_config, open_dataset
    from nettime.data.loader import make_loader
    from nettime.models.registry import training_settings

    training = training_settings(config)
    feature_set = feature_sets_from_config(config)[spec.feature_set]
    model = _model_for_spec(spec, feature_set.n_channels, tf_vocab, cell_vocab, init_path)
    tf_names, cell_names = list(model.config.tf_vocab), list(model.config.cell_vocab)
    budget = spec.budget
    sample_count = spec.sample_count
    with open_dataset(train_path) as data:
        n_train = data.n_examples
    if sample_count == "single_task":
        sample_count = n_train * 2  # one condition: every example with both label sets
    if sample_count is not None:
        sample_count = min(int(sample_count), n_train * 2 * len(spec.conditions))
    loader = make_loader(train_path, feature_set, spec.conditions, ["conserved", "relaxed"],
                         tf_names, cell_names, int(budget["batch_size"]), shuffle=True,
                         seed=spec.seed, num_samples=sample_count,
                         bound_fraction=budget.get("bound_fraction"))

    def batches(epoch: int, start: int) -> Iterator[Mapping[str, torch.Tensor]]:
        loader.dataset.set_epoch(epoch)  # iter() right away: train() guards the RNG here
        return itertools.islice(iter(loader), start, None)

    valid_conditions, n_valid, valid = [], 0, None
    if valid_path is not None:
        with open_dataset(valid_path) as data:
            valid_conditions = [c for c in spec.conditions if c in data.conditions]
            n_valid = data.n_examples
    if valid_conditions and n_valid:
        limit = budget.get("valid_examples")
        num = None if limit is None else min(int(limit), n_valid) * len(valid_conditions)
        valid_loader = make_loader(valid_path, feature_set, valid_conditions, ["conserved"],
                                   tf_names, cell_names, int(training["predict_batch_size"]),
                                   shuffle=False, seed=spec.seed, num_samples=num)

        def valid() -> Iterable[Mapping[str, torch.Tensor]]:
            return valid_loader

    settings = settings_from_spec(spec, training, progress)
    extra = {"spec": spec.to_dict(), "feature_set": {"name": feature_set.name,
                                                     "assays": list(feature_set.assays),
                                                     "motifs": feature_set.motifs}}
    identity = data_identity([*input_files(train_path, spec.conditions, feature_set),
                              *(input_files(valid_path, valid_conditions) if valid else []),
                              *([init_path] if init_path is not None else [])])
    return train(model, batches, settings, out_dir, valid=valid, identity=identity,
                 n_valid_conditions=max(len(valid_conditions), 1), extra=extra)


def iterate_from(make_epoch: Callable[[int], Iterable[Any]], epoch: int,
                 start: int) -> Iterator[Any]:
    """Batches of ``make_epoch(epoch)`` from index ``start`` on (earlier ones are skipped)."""
    return itertools.islice(iter(make_epoch(epoch)), start, None)


def train_registry_model(params: Mapping[str, Any], config: Mapping[str, Any],
                         train_path: str | Path, valid_path: str | Path | None,
                         init_path: str | Path | None, model_out: str | Path,
                         spec_out: str | Path, threads: int | None = None,
                         progress: bool = True) -> TrainResult:
    """What the ``train_model`` rule runs: :func:`train_model` from the rule's params, then the
    spec, vocabularies and training summary as YAML.

    Parameters
    ----------
    params
        ``{"spec": ModelSpec.to_dict() without "predict", "tf_vocab": [...], "cell_vocab":
        [...]}``.
    model_out
        ``results/models/{model}/model.pt``: its folder receives the checkpoints and the log.
    threads
        torch threads (the job's), over ``training.threads`` of the config.
    """
    from nettime.models.registry import ModelSpec, training_settings

    spec = ModelSpec(**{**params["spec"], "conditions": tuple(params["spec"]["conditions"]),
                        "predict": ()})
    training = training_settings(config)
    if threads is not None:
        training["threads"] = threads
    # A killed job leaves checkpoint.pt beside the outputs; the rerun continues from it.
    result = train_model(spec, {**config, "training": training}, train_path, valid_path,
                         Path(model_out).parent, params["tf_vocab"], params["cell_vocab"],
                         init_path=init_path, progress=progress)
    summary = {"steps": result.steps, "best_step": result.best_step,
               "best_valid_auprc": result.best_auprc, "stopped_early": result.stopped_early}
    record = {**params["spec"], "tf_vocab": list(params["tf_vocab"]),
              "cell_vocab": list(params["cell_vocab"]), "result": summary}
    write_text(spec_out, yaml.safe_dump(record, sort_keys=False))
    return result
