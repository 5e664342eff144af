"""What the per-TF baselines share: one network per TF trained in its own resumable part, the
assembled ``model.pt``, ``log.tsv`` and ``spec.yaml``, streamed training batches, and the
checks of their inputs.

A model of a per-TF kind lives in ``results/models/{model}/``::

    parts/{TF}/     one run of nettime.models.training.train per TF (checkpoint.pt, model.pt,
                    log.tsv): a killed job resumes the TF it was training, finished TFs say
                    "nothing to do", a part whose conditions, options or data files changed
                    starts afresh
    model.pt        {"kind", "config" (the network sizes, shared by every TF), "spec",
                     "summary", "tfs": {TF: {"state_dict", ...what the kind's predictor
                     needs}}}, written when every TF is trained (and left as it is when a
                    rerun trains nothing)
    log.tsv         the parts' logs, column ``tf`` first
    spec.yaml       the spec, its vocabularies and a training summary
"""

from __future__ import annotations

import itertools
import math
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from nettime.config import split_condition
from nettime.data.dataset import DataSet, dataset_folder, input_files, open_dataset, signal_file
from nettime.files import atomic_output, write_text
from nettime.models.fit import settings_from_spec
from nettime.models.registry import ModelSpec, training_settings
from nettime.models.training import TrainResult, TrainSettings

#: Examples per block read from a data set while training (rounded up to whole HDF5 chunks).
BLOCK_EXAMPLES = 256
#: Blocks whose samples are shuffled together.
BUFFER_BLOCKS = 4

#: ``train_tf(tf, conditions, part_dir, settings, stop_after)`` trains one TF's network in
#: ``part_dir`` and returns its result and what its entry of model.pt holds beside the weights.
TrainTF = Callable[[str, list[str], Path, TrainSettings, int | None],
                   tuple[TrainResult, dict[str, Any]]]
#: ``build(positions)`` -> arrays of those samples of a chunk (first axis: the samples).
BuildSamples = Callable[[np.ndarray], dict[str, np.ndarray]]


class BaselineError(ValueError):
    """A baseline asked to do what it cannot (the message names the file, TF or condition)."""


def say(message: str) -> None:
    print(message, file=sys.stderr)


# ---- specs and conditions -------------------------------------------------------------------

def spec_from_params(params: Mapping[str, Any]) -> ModelSpec:
    """The spec of the ``train_model`` rule's params (``ModelSpec.to_dict()`` without
    ``predict``)."""
    raw = dict(params["spec"])
    raw.pop("predict", None)
    return ModelSpec(**{**raw, "conditions": tuple(raw["conditions"]), "predict": ()})


def job_training(config: Mapping[str, Any], threads: int | None) -> dict[str, Any]:
    """The ``training:`` settings of a configuration, with the job's thread count over
    ``training.threads``."""
    training = training_settings(config)
    if threads is not None:
        training["threads"] = int(threads)
    return training


def refuse_init(init_path: Any, kind: str) -> None:
    if init_path is not None:
        raise BaselineError(f"{kind} models train from scratch; fine-tuning from {init_path} "
                            "is not supported (set init: scratch)")


def refuse_variant(variant: str | None, kind: str) -> None:
    if variant is not None:
        raise ValueError(f"{kind} models have no embeddings to randomise: prediction variant "
                         f"{variant!r} is not supported")


def conditions_by_tf(conditions: Sequence[str]) -> dict[str, list[str]]:
    """TF -> its conditions ``TF.cell``, both in order of first appearance."""
    out: dict[str, list[str]] = {}
    for condition in conditions:
        out.setdefault(split_condition(condition)[0], []).append(condition)
    return out


def require_conditions(data: Any, conditions: Sequence[str], what: str) -> None:
    """Raise unless the data set (a :class:`nettime.data.dataset.DataSet`) labels every
    condition; ``what`` says what needs them ("to train JUND")."""
    missing = [c for c in conditions if c not in data.conditions]
    if missing:
        raise BaselineError(f"{data.path}: no labels for condition(s) {', '.join(missing)}, "
                            f"needed {what} (conditions: {', '.join(data.conditions)})")


def require_signals(data: Any, cells: Sequence[str], assay: str, what: str) -> None:
    """Raise unless the data set holds ``assay`` for every cell type; ``what`` says what
    needs them ("to train JUND")."""
    missing = []
    for cell in dict.fromkeys(cells):
        try:
            data.read_signal(cell, assay, 0, 0)
        except KeyError:
            missing.append(cell)
    if missing:
        raise BaselineError(f"{data.path}: no {assay} signal for cell type(s) "
                            f"{', '.join(missing)}, needed {what} (cell types: "
                            f"{', '.join(data.cell_types)}; assays: {', '.join(data.assays)})")


# ---- training batches -----------------------------------------------------------------------

def block_groups(n_examples: int, block_examples: int, seed: int, epoch: int,
                 buffer_blocks: int = BUFFER_BLOCKS) -> list[list[tuple[int, int]]]:
    """Blocks of examples in a random order of ``(seed, epoch)``, ``buffer_blocks`` at a
    time: each group is a list of example spans ``(start, stop)`` read and shuffled together."""
    blocks = [(a, min(a + block_examples, n_examples))
              for a in range(0, n_examples, block_examples)]
    order = np.random.default_rng([seed, 3, epoch]).permutation(len(blocks))
    return [[blocks[i] for i in order[g:g + buffer_blocks]]
            for g in range(0, len(order), buffer_blocks)]


def block_size(chunk_examples: int, wanted: int = BLOCK_EXAMPLES) -> int:
    """``wanted`` rounded up to whole HDF5 chunks of ``chunk_examples`` examples."""
    return max(chunk_examples, math.ceil(wanted / chunk_examples) * chunk_examples)


def read_rows(read: Callable[[int, int], np.ndarray],
              spans: Sequence[tuple[int, int]]) -> np.ndarray:
    """``read(start, stop)`` of every span, concatenated along the first axis."""
    return np.concatenate([read(a, b) for a, b in spans])


def rebatch(chunks: Iterable[tuple[int, BuildSamples]],
            batch_size: int) -> Iterator[dict[str, torch.Tensor]]:
    """Batches of ``batch_size`` samples (the last may be smaller) from chunks of ``n``
    samples, built only when needed: a batch may take the end of one chunk and the start of
    the next. Arrays become tensors."""
    pending: list[dict[str, np.ndarray]] = []
    filled = 0
    for n, build in chunks:
        pos = 0
        while pos < n:
            take = min(batch_size - filled, n - pos)
            pending.append(build(np.arange(pos, pos + take)))
            filled += take
            pos += take
            if filled == batch_size:
                yield _tensors(pending)
                pending, filled = [], 0
    if pending:
        yield _tensors(pending)


def _tensors(parts: list[dict[str, np.ndarray]]) -> dict[str, torch.Tensor]:
    return {k: torch.from_numpy(np.ascontiguousarray(np.concatenate([p[k] for p in parts])))
            for k in parts[0]}


class StreamedSamples:
    """Training batches of one TF (``batches(epoch, start)`` of
    :func:`nettime.models.training.train`): the data set read block by block, the samples of
    each group of blocks (:func:`block_groups`) built by :meth:`chunks` and shuffled there, then
    cut into batches of ``batch_size`` (:func:`rebatch`)."""

    def __init__(self, path: str | Path, batch_size: int, seed: int):
        self.path, self.batch_size, self.seed = str(path), int(batch_size), int(seed)
        with open_dataset(path) as data:
            self.n_examples, self.block = data.n_examples, block_size(data.chunk_examples)

    def __call__(self, epoch: int, start: int) -> Iterator[dict[str, torch.Tensor]]:
        return itertools.islice(self._epoch(epoch), start, None)

    def _epoch(self, epoch: int) -> Iterator[dict[str, torch.Tensor]]:
        with open_dataset(self.path) as data:
            yield from rebatch(self.chunks(data, epoch), self.batch_size)

    def groups(self, epoch: int) -> list[list[tuple[int, int]]]:
        """The groups of example spans of an epoch (see :func:`block_groups`)."""
        return block_groups(self.n_examples, self.block, self.seed, epoch)

    def chunks(self, data: DataSet, epoch: int) -> Iterator[tuple[int, BuildSamples]]:
        """``(n, build)`` of each group of blocks of an epoch, in order: its sample count and
        the builder of its samples (in their shuffled order)."""
        raise NotImplementedError


# ---- per-TF parts -----------------------------------------------------------------------------

def data_files(path: str | Path, conditions: Sequence[str], signal_cells: Sequence[str] = (),
               assay: str = "DNase") -> list[str]:
    """The files of a data set folder that a part reads: the examples, the conditions' labels
    and the ``assay`` track of each of ``signal_cells`` (for
    :func:`nettime.models.training.data_identity`: a part over rebuilt files starts afresh)."""
    files = input_files(path, conditions)
    files += [f"{dataset_folder(path)}/{signal_file(cell, assay)}" for cell in signal_cells]
    return list(dict.fromkeys(files))


def part_weights(part_dir: Path) -> dict[str, torch.Tensor]:
    """The best weights of a finished part."""
    return torch.load(part_dir / "model.pt", map_location="cpu",
                      weights_only=False)["state_dict"]


def part_finished(part_dir: Path) -> bool:
    path = part_dir / "checkpoint.pt"
    if not path.exists():
        return False
    return bool(torch.load(path, map_location="cpu", weights_only=False)["state"]["done"])


def _merged_log(parts: Mapping[str, Path]) -> str:
    header, rows = None, []
    for tf, part in parts.items():
        lines = (part / "log.tsv").read_text().splitlines() if (part / "log.tsv").exists() \
            else []
        if lines:
            header = header or "tf\t" + lines[0]
            rows += [f"{tf}\t{line}" for line in lines[1:]]
    return "\n".join([header or "tf"] + rows) + "\n"


def _result_row(result: TrainResult) -> dict[str, Any]:
    best = float(result.best_auprc)
    return {"steps": int(result.steps), "best_step": int(result.best_step),
            "best_valid_auprc": None if math.isnan(best) or math.isinf(best) else best,
            "stopped_early": bool(result.stopped_early)}


def write_spec_record(spec_out: str | Path, params: Mapping[str, Any],
                      summary: Mapping[str, Any]) -> None:
    record = {**params["spec"], "tf_vocab": list(params.get("tf_vocab", [])),
              "cell_vocab": list(params.get("cell_vocab", [])), "result": dict(summary)}
    write_text(spec_out, yaml.safe_dump(record, sort_keys=False))


def train_per_tf(kind: str, method: str, spec: ModelSpec, params: Mapping[str, Any],
                 training: Mapping[str, Any], network: Mapping[str, Any],
                 model_out: str | Path, spec_out: str | Path, train_tf: TrainTF,
                 progress: bool = True, stop_after: int | None = None) -> dict[str, Any] | None:
    """Train one network per TF of ``spec.conditions`` in ``parts/{TF}/`` and assemble the
    model (see the module docstring).

    Parameters
    ----------
    kind, method
        The kind's name (recorded in model.pt) and its description for the summary.
    spec, params
        The resolved spec and the rule's params (their vocabularies go to spec.yaml).
    training
        The ``training:`` settings (device, threads, amp).
    network
        The network configuration shared by every TF (``config`` of model.pt).
    model_out, spec_out
        ``results/models/{model}/model.pt`` and ``spec.yaml``.
    train_tf
        Trains one TF (see :data:`TrainTF`).
    stop_after
        Stop (as if killed) once a part has trained this many steps in this call; for tests of
        resumption. Returns None then.

    Returns
    -------
    dict or None
        The training summary: ``method``, total ``steps``, and per TF ``steps``,
        ``best_step``, ``best_valid_auprc``, ``stopped_early``.
    """
    model_out = Path(model_out)
    # What the model was trained for; the conditions it predicts are not part of it.
    identity = {k: v for k, v in spec.to_dict().items() if k != "predict"}
    settings = settings_from_spec(spec, training, progress)
    by_tf = conditions_by_tf(spec.conditions)
    if not by_tf:
        raise BaselineError(f"model {spec.name}: no training conditions")
    parts = {tf: model_out.parent / "parts" / tf for tf in by_tf}
    results, entries, trained = {}, {}, False
    for tf, conditions in by_tf.items():
        # Each part decides for itself: resumed, started afresh (other data) or finished.
        before = _mtime(parts[tf] / "checkpoint.pt")
        result, entry = train_tf(tf, conditions, parts[tf], settings, stop_after)
        trained |= before is None or _mtime(parts[tf] / "checkpoint.pt") != before
        if stop_after is not None and not part_finished(parts[tf]):
            return None
        results[tf] = _result_row(result)
        entries[tf] = entry
    summary = {"method": method, "steps": sum(r["steps"] for r in results.values()),
               "tfs": results}
    if not trained and model_out.exists() and _same_model(model_out, kind, identity, network):
        say(f"{model_out}: every TF of this model is trained; nothing to do")
    else:
        weights = {tf: {"state_dict": part_weights(parts[tf]), **entries[tf]} for tf in by_tf}
        with atomic_output(model_out) as tmp:
            torch.save({"kind": kind, "config": dict(network), "spec": identity,
                        "summary": summary, "tfs": weights}, tmp)
    write_text(model_out.parent / "log.tsv", _merged_log(parts))
    write_spec_record(spec_out, params, summary)
    return summary


def _mtime(path: Path) -> int | None:
    return path.stat().st_mtime_ns if path.exists() else None


def _same_model(model_out: Path, kind: str, identity: Mapping[str, Any],
                network: Mapping[str, Any]) -> bool:
    saved = torch.load(model_out, map_location="cpu", weights_only=False)
    return (isinstance(saved, dict) and saved.get("kind") == kind
            and saved.get("spec") == identity and saved.get("config") == dict(network))


# ---- prediction -------------------------------------------------------------------------------

def load_model_file(model_path: str | Path, kind: str) -> dict[str, Any]:
    """A per-TF model.pt of ``kind``; a clear error for another kind's file."""
    saved = torch.load(model_path, map_location="cpu", weights_only=False)
    found = saved.get("kind", "nettime") if isinstance(saved, dict) else "nettime"
    if found != kind:
        raise BaselineError(f"{model_path}: a {found} model, not a {kind} model")
    return saved


def predictable_by_tf(saved: Mapping[str, Any], conditions: Sequence[str],
                      model_path: str | Path) -> dict[str, list[str]]:
    """TF -> conditions to predict; raises naming the conditions whose TF has no network."""
    missing = [c for c in conditions if split_condition(c)[0] not in saved["tfs"]]
    if missing:
        raise BaselineError(f"{model_path}: no trained network for the TF of "
                            f"{', '.join(missing)} (TFs: {', '.join(saved['tfs'])})")
    return conditions_by_tf(conditions)
