"""DeepBind-style baseline, reimplemented (Alipanahi et al. 2015, Nature Biotechnology): a
sequence-only convolutional network scoring 101-bp windows, one per TF.

The original is a trained-model collection and a GPU program whose weights cannot be fetched
here; this is a torch reimplementation of what its paper describes, recorded as method
``deepbind`` in the predictions file:

- network (:class:`DeepBind`): 16 convolution filters of length 24 over one-hot DNA, a
  rectification with a learned threshold per filter (``max(0, x - b)``), global max-pooling over
  the window, an optional hidden layer of 32 ReLU units (dropout before it), one output; both
  strands are scored and the larger score is taken (before the sigmoid);
- sequence only: the model is not cell-type specific, so the predictions of every condition of
  a trained TF are the same whatever its cell type;
- one network per TF, trained with binary cross-entropy on 101-bp windows cut from the examples
  of the TF's training conditions.

Training windows (:class:`TrainingWindows`), drawn anew each epoch from ``(seed, epoch)``: in
each example, up to :data:`WINDOWS_PER_EXAMPLE` positive centres, uniformly among the bases
bound (conserved labels) in any of the TF's training conditions, and as many negative centres,
uniformly among the bases in no relaxed peak of those conditions; balanced 1:1 per example
(``k = min(#positive, #negative, WINDOWS_PER_EXAMPLE)`` of each), so examples without a bound
base give none. Windows reaching past an example's ends are padded with N (all-zero one-hot).

Per-base scores (:meth:`DeepBind.per_base`): base i of an example scores the window centred on
it. Computed for a whole example at once: one convolution over the example padded by half a
window each side, then a sliding maximum over the filter positions that lie inside each window
(``window - filter_width + 1`` of them), on both strands; this equals scoring each window
separately.

Validation: per-base auPRC of these scores against the conserved labels of the TF's conditions
in the validation data set (the first ``budget.valid_examples`` examples of each).

Options (``spec.options``): ``window`` (101, odd), ``filters`` (16), ``filter_width`` (24),
``hidden`` (32; 0: none), and through the API ``dropout`` (default: ``spec.sizes["dropout"]``).
``spec.feature_set`` and ``sample_count`` are not used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nettime.baselines.common import (
    BaselineError,
    StreamedSamples,
    read_rows,
    require_conditions,
)
from nettime.baselines.networks import NetworkKind, TFTrainer, TrainInputs, train_part
from nettime.data.dataset import DataSet, open_dataset
from nettime.data.genome import N_CODE, one_hot
from nettime.models.device import autocast
from nettime.models.registry import ModelSpec
from nettime.models.training import Objective, TrainResult, TrainSettings

KIND = "deepbind"
METHOD = "DeepBind-style CNN, reimplemented"
#: Positive (and as many negative) training windows drawn per example and epoch, at most.
WINDOWS_PER_EXAMPLE = 4
OPTIONS = ("window", "filters", "filter_width", "hidden", "dropout")


@dataclass(frozen=True)
class DeepBindConfig:
    """Sizes of the network.

    Attributes
    ----------
    window
        Bases per scored window (odd: the window of a base is centred on it).
    filters, filter_width
        Convolution filters and their length.
    hidden
        Units of the hidden layer; 0 for none.
    dropout
        Dropout rate on the pooled features in training.
    """

    window: int = 101
    filters: int = 16
    filter_width: int = 24
    hidden: int = 32
    dropout: float = 0.1

    def __post_init__(self) -> None:
        if self.window % 2 == 0:
            raise BaselineError(f"deepbind: window must be odd, got {self.window}")
        if not 1 <= self.filter_width <= self.window:
            raise BaselineError(f"deepbind: filter_width {self.filter_width} must be in 1.."
                                f"{self.window} (the window)")
        if not 0 <= self.dropout < 1:
            raise BaselineError(f"deepbind: dropout must be in [0, 1), got {self.dropout}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> DeepBindConfig:
        return cls(**values)

    @classmethod
    def from_options(cls, options: Mapping[str, Any], dropout: float = 0.1) -> DeepBindConfig:
        """The sizes of ``spec.options`` (``dropout`` when the options give none); unknown
        keys raise."""
        unknown = sorted(set(options) - set(OPTIONS))
        if unknown:
            raise BaselineError(f"deepbind: unknown option(s) {', '.join(unknown)}; options: "
                                f"{', '.join(OPTIONS)}")
        return cls(**{"dropout": float(dropout), **options})


class DeepBind(torch.nn.Module):
    """The DeepBind-style network (see the module docstring).

    ``forward``: one-hot float32 (B, 4, W) windows -> logits float32 (B,);
    :meth:`per_base`: one-hot float32 (B, 4, L) examples -> logits float32 (B, L).
    """

    def __init__(self, config: DeepBindConfig):
        super().__init__()
        self.config = config
        self.conv = torch.nn.Conv1d(4, config.filters, config.filter_width, bias=False)
        self.threshold = torch.nn.Parameter(torch.zeros(config.filters))
        if config.hidden:
            self.head = torch.nn.Sequential(
                torch.nn.Dropout(config.dropout), torch.nn.Linear(config.filters, config.hidden),
                torch.nn.ReLU(), torch.nn.Linear(config.hidden, 1))
        else:
            self.head = torch.nn.Sequential(torch.nn.Dropout(config.dropout),
                                            torch.nn.Linear(config.filters, 1))

    def _activations(self, x: torch.Tensor) -> torch.Tensor:
        # (B, 4, N) -> (B, filters, N - filter_width + 1)
        return torch.relu(self.conv(x) - self.threshold[:, None])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scores = [self.head(self._activations(s).amax(dim=-1))[:, 0]
                  for s in (x, reverse_complement(x))]
        return torch.maximum(*scores)

    def per_base(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of the window centred on each base, zero-padded past the ends."""
        return torch.maximum(self._strand_per_base(x),
                             self._strand_per_base(reverse_complement(x)).flip(-1))

    def _strand_per_base(self, x: torch.Tensor) -> torch.Tensor:
        half = self.config.window // 2
        acts = self._activations(torch.nn.functional.pad(x, (half, half)))
        pooled = torch.nn.functional.max_pool1d(
            acts, self.config.window - self.config.filter_width + 1, stride=1)
        return self.head(pooled.transpose(1, 2))[..., 0]


def reverse_complement(x: torch.Tensor) -> torch.Tensor:
    """One-hot (..., 4, N) with channels A, C, G, T -> its reverse complement."""
    return x.flip(dims=(-2, -1))


def build_deepbind(config: DeepBindConfig, seed: int = 0) -> DeepBind:
    """A freshly initialised network; the same seed gives the same weights."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return DeepBind(config)


def example_inputs(codes: np.ndarray) -> np.ndarray:
    """uint8 (m, L) codes -> one-hot float32 (m, 4, L), the layout of the network."""
    return np.ascontiguousarray(one_hot(codes).transpose(0, 2, 1))


# ---- prediction -------------------------------------------------------------------------------

def predict_examples(net: DeepBind, codes: np.ndarray, device: torch.device,
                     amp: bool = False) -> np.ndarray:
    """float32 (m, L) P(bound) per base of examples, uint8 (m, L) codes."""
    with torch.inference_mode(), autocast(device, amp):
        logits = net.per_base(torch.from_numpy(example_inputs(codes)).to(device)).float()
    return torch.sigmoid(logits).cpu().numpy()


def network_of(config: Mapping[str, Any]) -> DeepBind:
    """A network of the sizes ``DeepBindConfig.to_dict()`` recorded."""
    return DeepBind(DeepBindConfig.from_dict(config))


def batch_scores(net: DeepBind, data: DataSet, entry: Mapping[str, Any],
                 conditions: list[str], start: int, stop: int, device: torch.device,
                 amp: bool) -> list[tuple[str, np.ndarray]]:
    """The TF's per-base scores of examples ``start:stop``, the same for each of its
    conditions (see :data:`nettime.baselines.networks.BatchScores`)."""
    prob = predict_examples(net, data.read_sequence(start, stop), device, amp)
    return [(condition, prob) for condition in conditions]


# ---- training ---------------------------------------------------------------------------------

def draw_centres(candidates: np.ndarray, counts: np.ndarray,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``counts[e]`` distinct positions drawn uniformly among the True bases of each row.

    ``candidates`` bool (m, L), ``counts`` int (m,) at most each row's True count. Returns
    (row, position), int64 (sum(counts),) each.
    """
    keys = np.where(candidates, rng.random(candidates.shape), 2.0)
    most = int(counts.max(initial=0))
    chosen = np.argsort(keys, axis=1, kind="stable")[:, :most]
    take = np.arange(most)[None, :] < counts[:, None]
    rows = np.broadcast_to(np.arange(len(candidates))[:, None], chosen.shape)
    return rows[take].astype(np.int64), chosen[take].astype(np.int64)


class TrainingWindows(StreamedSamples):
    """Training batches of one TF: balanced windows drawn as the module docstring says, read
    block by block and shuffled within groups of blocks. Each batch: x float32 (B, 4, window)
    one-hot, y float32 (B,) 1 for a positive centre."""

    def __init__(self, path: str | Path, conditions: Sequence[str], window: int,
                 batch_size: int, seed: int, per_example: int = WINDOWS_PER_EXAMPLE):
        super().__init__(path, batch_size, seed)
        self.conditions, self.window = list(conditions), int(window)
        self.per_example = int(per_example)

    def chunks(self, data: DataSet, epoch: int) -> Iterator[tuple[int, Callable]]:
        half = self.window // 2
        for g, spans in enumerate(self.groups(epoch)):
            codes = read_rows(data.read_sequence, spans)
            bound = np.zeros(codes.shape, bool)
            peaks = np.zeros(codes.shape, bool)
            for condition in self.conditions:
                bound |= read_rows(partial(data.read_labels, condition, "conserved"),
                                   spans).astype(bool)
                peaks |= read_rows(partial(data.read_labels, condition, "relaxed"),
                                   spans).astype(bool)
            unbound = ~(peaks | bound)
            counts = np.minimum(np.minimum(bound.sum(1), unbound.sum(1)), self.per_example)
            rng = np.random.default_rng([self.seed, 7, epoch, g])
            pos = draw_centres(bound, counts, rng)
            neg = draw_centres(unbound, counts, rng)
            rows = np.concatenate([pos[0], neg[0]])
            centres = np.concatenate([pos[1], neg[1]])
            labels = np.concatenate([np.ones(len(pos[0]), np.float32),
                                     np.zeros(len(neg[0]), np.float32)])
            order = rng.permutation(len(rows))
            padded = np.pad(codes, ((0, 0), (half, half)), constant_values=N_CODE)
            yield len(rows), partial(self._build, padded, rows[order], centres[order],
                                     labels[order])

    def _build(self, padded: np.ndarray, rows: np.ndarray, centres: np.ndarray,
               labels: np.ndarray, positions: np.ndarray) -> dict[str, np.ndarray]:
        # Padded column c + j is base c - half + j: the window centred on base c.
        columns = centres[positions, None] + np.arange(self.window)[None, :]
        windows = padded[rows[positions, None], columns]
        return {"x": example_inputs(windows), "y": labels[positions]}


def validation_inputs(data: DataSet, condition: str, start: int,
                      stop: int) -> dict[str, np.ndarray]:
    """Whole examples for validation: x one-hot float32 (m, 4, L) and ``per_base`` float32
    (m,), which marks them as scored per base."""
    return {"x": example_inputs(data.read_sequence(start, stop)),
            "per_base": np.ones(stop - start, np.float32)}


def _forward(model: torch.nn.Module, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
    if "per_base" in batch:
        return model.per_base(batch["x"])
    return model(batch["x"])


#: Window logits (training) or per-base logits (validation batches), binary cross-entropy.
DEEPBIND_OBJECTIVE = Objective(
    forward=_forward,
    loss=lambda logits, batch: torch.nn.functional.binary_cross_entropy_with_logits(
        logits.float(), batch["y"].float()),
    probability=lambda logits: torch.sigmoid(logits.float()))


def train_tf(tf: str, conditions: Sequence[str], part_dir: Path, settings: TrainSettings,
             stop_after: int | None, *, config: DeepBindConfig,
             inputs: TrainInputs) -> tuple[TrainResult, dict[str, Any]]:
    """Train the network of one TF on windows of its training conditions in ``part_dir``
    (resumable). Returns the training result and ``{"conditions": [...]}``."""
    with open_dataset(inputs.train_path) as data:
        require_conditions(data, conditions, f"to train {tf}")
    windows = TrainingWindows(inputs.train_path, conditions, config.window, inputs.batch_size,
                              inputs.seed)
    # A checkpoint made for other conditions, sampling or data is not resumed.
    return train_part(tf, conditions, part_dir, settings, stop_after, inputs,
                      net=build_deepbind(config, inputs.seed), batches=windows,
                      objective=DEEPBIND_OBJECTIVE, valid_inputs=validation_inputs,
                      entry={"conditions": list(conditions)},
                      identity={"per_example": WINDOWS_PER_EXAMPLE})


def training_setup(spec: ModelSpec) -> tuple[dict[str, Any], TFTrainer]:
    """The network sizes of a spec (``dropout`` from ``spec.sizes`` unless the options give
    one) and its trainer of one TF."""
    config = DeepBindConfig.from_options(spec.options,
                                         dropout=float(spec.sizes.get("dropout", 0.1)))
    return config.to_dict(), partial(train_tf, config=config)


#: The kind's entry points (the functions :mod:`nettime.baselines.kinds` calls).
DEEPBIND_KIND = NetworkKind(KIND, METHOD, network=network_of, scores=batch_scores,
                            setup=training_setup)
train_model = DEEPBIND_KIND.train_model
train_registry_model = DEEPBIND_KIND.train_registry_model
predict_split = DEEPBIND_KIND.predict_split
predict_with_settings = DEEPBIND_KIND.predict_with_settings
