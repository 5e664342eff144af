"""Leopard-style baseline, reimplemented (Li & Guan 2021, Genome Research): a 1-D U-Net that
predicts TF binding per base from DNA and DNase.

The original is a TensorFlow program; this is a torch reimplementation of what its paper
describes, recorded as method ``leopard`` in the predictions file:

- input: 6 channels per base: one-hot A, C, G, T; the cell type's DNase (z-scored,
  ``read_signal(cell, "DNase")``); that DNase minus the mean DNase of the TF's training cell
  types (computed per example from the same data set, so a new cell type is compared with the
  same reference);
- network (:class:`UNet`): 5 levels down and up, two convolutions (kernel 7) + ReLU +
  BatchNorm per level, channels 15, 22, 33, 49, 73, 109 (x 1.5, floored), max-pooling down,
  transposed convolutions up with skip concatenation, a 1 x 1 convolution and a sigmoid per
  base; 481,610 parameters at these sizes;
- one network per TF, trained on all its training conditions (samples: example x condition),
  masked binary cross-entropy averaged over unmasked bases: conserved peaks are 1, bases of
  relaxed but not conserved peaks are ambiguous and masked, the rest 0;
- DNase magnitude augmentation in training: the DNase track of each sample is multiplied by a
  factor drawn from U(0.9, 1.15) (the derived channel follows; the mean reference does not);
- prediction of long inputs tiled twice with a half-window offset and averaged, 100 bp trimmed
  at window edges (:func:`tile_predict`);
- any condition whose TF has a network can be predicted, in any cell type with DNase in the data
  set (which must hold the DNase of the TF's training cell types too, for the mean).

Here the data sets hold examples of L bases (1000 in the pipeline): each example is centred in a
zero-padded window of ``options.window`` bases (default 1024, a multiple of 2**levels, at least
L); padding is left out of the loss and dropped from the predictions, and each example is
predicted as one window. The training budget (steps, batch size, learning rate, validation) is
the spec's (the original: Adam lr 1e-3, batch 100, 5 x 1000 steps); ``spec.feature_set`` and
``sample_count`` are not used (the inputs are fixed, every sample is used).

Options (``spec.options``): ``window`` (1024), ``augment`` (true), and through the API
``levels`` (5), ``channels`` (the x 1.5 series from 15), ``kernel`` (7).
"""

from __future__ import annotations

import itertools
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
    conditions_by_tf,
    read_rows,
    require_conditions,
    require_signals,
)
from nettime.baselines.networks import NetworkKind, TFTrainer, TrainInputs, train_part
from nettime.config import split_condition
from nettime.data.dataset import DataSet, open_dataset
from nettime.data.genome import one_hot
from nettime.models.device import autocast
from nettime.models.registry import ModelSpec
from nettime.models.training import Objective, TrainResult, TrainSettings

KIND = "leopard"
METHOD = "Leopard-style U-Net, reimplemented"
#: Input channels: one-hot DNA, DNase, DNase minus the training cell types' mean.
INPUT_CHANNELS = ("A", "C", "G", "T", "DNase", "DNase - mean")
#: Range of the DNase magnitude factor drawn in training.
AUGMENT_RANGE = (0.9, 1.15)
#: Bases trimmed at window edges in tiled prediction.
TRIM = 100
OPTIONS = ("window", "augment", "levels", "channels", "kernel")


def channel_series(levels: int, first: int = 15, factor: float = 1.5) -> tuple[int, ...]:
    """Channels per level, ``levels + 1`` of them: ``first``, then x ``factor`` floored."""
    out = [first]
    for _ in range(levels):
        out.append(int(out[-1] * factor))
    return tuple(out)


@dataclass(frozen=True)
class LeopardConfig:
    """Sizes of the U-Net.

    Attributes
    ----------
    window
        Bases per input window; a multiple of ``2 ** levels``.
    levels
        Poolings down (and upsamplings up).
    channels
        Channels of each level, ``levels + 1`` entries (the last at the bottom).
    kernel
        Convolution width (odd).
    """

    window: int = 1024
    levels: int = 5
    channels: tuple[int, ...] = channel_series(5)
    kernel: int = 7

    def __post_init__(self) -> None:
        object.__setattr__(self, "channels", tuple(int(c) for c in self.channels))
        if len(self.channels) != self.levels + 1:
            raise BaselineError(f"leopard: {self.levels} levels need {self.levels + 1} "
                                f"channel counts, got {list(self.channels)}")
        if self.window % (2 ** self.levels):
            raise BaselineError(f"leopard: window {self.window} is not a multiple of "
                                f"2**levels = {2 ** self.levels}")
        if self.kernel % 2 == 0:
            raise BaselineError(f"leopard: kernel must be odd, got {self.kernel}")

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["channels"] = list(self.channels)
        return out

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> LeopardConfig:
        return cls(**{**values, "channels": tuple(values["channels"])})

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> LeopardConfig:
        """The sizes of ``spec.options`` (see the module docstring); unknown keys raise."""
        unknown = sorted(set(options) - set(OPTIONS))
        if unknown:
            raise BaselineError(f"leopard: unknown option(s) {', '.join(unknown)}; options: "
                                f"{', '.join(OPTIONS)}")
        levels = int(options.get("levels", cls.levels))
        return cls(window=int(options.get("window", cls.window)), levels=levels,
                   channels=tuple(options.get("channels") or channel_series(levels)),
                   kernel=int(options.get("kernel", cls.kernel)))


class _Block(torch.nn.Sequential):
    """Two convolutions, each followed by ReLU and BatchNorm; the length is kept."""

    def __init__(self, c_in: int, c_out: int, kernel: int):
        layers: list[torch.nn.Module] = []
        for a in (c_in, c_out):
            layers += [torch.nn.Conv1d(a, c_out, kernel, padding=kernel // 2), torch.nn.ReLU(),
                       torch.nn.BatchNorm1d(c_out)]
        super().__init__(*layers)


class UNet(torch.nn.Module):
    """The Leopard-style 1-D U-Net: float32 (B, 6, W) inputs -> logits float32 (B, W) of
    P(bound) per base, W a multiple of ``2 ** config.levels``."""

    def __init__(self, config: LeopardConfig):
        super().__init__()
        self.config = config
        ch, k = config.channels, config.kernel
        ins = (len(INPUT_CHANNELS),) + ch[:-2]
        self.down = torch.nn.ModuleList(_Block(ins[i], ch[i], k) for i in range(config.levels))
        self.bottom = _Block(ch[-2], ch[-1], k)
        self.up = torch.nn.ModuleList(torch.nn.ConvTranspose1d(ch[i + 1], ch[i], 2, stride=2)
                                      for i in range(config.levels))
        self.merge = torch.nn.ModuleList(_Block(2 * ch[i], ch[i], k)
                                         for i in range(config.levels))
        self.head = torch.nn.Conv1d(ch[0], 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] % (2 ** self.config.levels):
            raise BaselineError(f"leopard: input length {x.shape[-1]} is not a multiple of "
                                f"2**levels = {2 ** self.config.levels}")
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
            x = torch.nn.functional.max_pool1d(x, 2)
        x = self.bottom(x)
        for i in reversed(range(self.config.levels)):
            x = self.merge[i](torch.cat([self.up[i](x), skips[i]], dim=1))
        return self.head(x)[:, 0]


def build_unet(config: LeopardConfig, seed: int = 0) -> UNet:
    """A freshly initialised network; the same seed gives the same weights."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return UNet(config)


def leopard_inputs(codes: np.ndarray, dnase: np.ndarray, mean: np.ndarray,
                   window: int) -> np.ndarray:
    """Network inputs of examples, each centred in a zero-padded window.

    Parameters
    ----------
    codes
        uint8 (m, L) sequence codes.
    dnase, mean
        float32 (m, L): the cell type's DNase and the mean DNase of the TF's training cell
        types.
    window
        W >= L.

    Returns
    -------
    numpy.ndarray
        float32 (m, 6, W); the example occupies columns ``(W - L) // 2`` onwards.
    """
    m, length = codes.shape
    offset = (window - length) // 2
    x = np.zeros((m, len(INPUT_CHANNELS), window), np.float32)
    x[:, :4, offset:offset + length] = one_hot(codes).transpose(0, 2, 1)
    x[:, 4, offset:offset + length] = dnase
    x[:, 5, offset:offset + length] = dnase - mean
    return x


def mean_dnase(data: DataSet, cells: Sequence[str], start: int, stop: int) -> np.ndarray:
    """float32 (m, L) mean DNase of ``cells`` over examples ``start:stop``."""
    return np.mean([data.read_signal(c, "DNase", start, stop) for c in cells], axis=0,
                   dtype=np.float32)


# ---- prediction -------------------------------------------------------------------------------

def tile_plan(length: int, window: int, trim: int = TRIM) -> list[tuple[int, int, int]]:
    """Windows of :func:`tile_predict` over ``length`` bases: (start, keep_from, keep_to).

    Two tilings: windows starting at 0, W, 2W, ... and at W/2, 3W/2, ... (each start below
    ``length``). A window keeps its predictions on ``[start + trim, start + W - trim)``, but
    keeps its left edge when it starts at 0 and its right edge when it reaches the end. With
    ``trim <= W / 4`` every base is kept by one window or by two (one of each tiling).
    """
    if window % 2 or not 0 <= trim <= window // 4:
        raise BaselineError(f"leopard: tiling needs an even window and 0 <= trim <= window / 4, "
                            f"got window {window}, trim {trim}")
    plan = []
    for start in itertools.chain(range(0, length, window), range(window // 2, length, window)):
        end = start + window
        keep_from = start if start == 0 else start + trim
        keep_to = length if end >= length else end - trim
        if keep_from < keep_to:
            plan.append((start, keep_from, keep_to))
    return plan


def tile_predict(net: torch.nn.Module, x: np.ndarray, window: int, trim: int = TRIM,
                 batch_size: int = 16, device: torch.device | str = "cpu",
                 amp: bool = False) -> np.ndarray:
    """Per-base P(bound) of an input of any length, by overlapping windows.

    The input is cut into windows of ``window`` bases twice, the second tiling offset by half a
    window (:func:`tile_plan`); windows past the end are zero-padded. Each window is predicted
    on its own (batched); its ``trim`` bases at both edges, where the network sees little
    context, are dropped (except at the ends of the input), and bases kept by two windows get
    the mean of the two probabilities.

    Parameters
    ----------
    net
        A :class:`UNet` (put in eval mode here).
    x
        float32 (C, N) inputs (the channels of :func:`leopard_inputs`), N any length.
    window
        W, a multiple of ``2 ** levels``.
    trim
        Bases dropped at each window edge (at most W / 4).
    batch_size, device, amp
        Windows per forward pass, where to run, float16 autocast on CUDA.

    Returns
    -------
    numpy.ndarray
        float32 (N,) probabilities.
    """
    x = np.asarray(x, np.float32)
    n = x.shape[1]
    plan = tile_plan(n, window, trim)
    total = np.zeros(n, np.float32)
    count = np.zeros(n, np.uint8)
    device = torch.device(device)
    net.eval()
    with torch.inference_mode(), autocast(device, amp):
        for a in range(0, len(plan), batch_size):
            part = plan[a:a + batch_size]
            batch = np.zeros((len(part), x.shape[0], window), np.float32)
            for row, (start, _, _) in enumerate(part):
                piece = x[:, start:start + window]
                batch[row, :, :piece.shape[1]] = piece
            prob = torch.sigmoid(net(torch.from_numpy(batch).to(device)).float()).cpu().numpy()
            for row, (start, lo, hi) in enumerate(part):
                total[lo:hi] += prob[row, lo - start:hi - start]
                count[lo:hi] += 1
    return total / np.maximum(count, 1)


def predict_windows(net: torch.nn.Module, x: np.ndarray, length: int,
                    device: torch.device, amp: bool) -> np.ndarray:
    """float32 (m, L) probabilities of examples centred in windows ``x`` float32 (m, 6, W)."""
    offset = (x.shape[-1] - length) // 2
    with torch.inference_mode(), autocast(device, amp):
        logits = net(torch.from_numpy(x).to(device)).float()
    return torch.sigmoid(logits[:, offset:offset + length]).cpu().numpy()


def network_of(config: Mapping[str, Any]) -> UNet:
    """A network of the sizes ``LeopardConfig.to_dict()`` recorded."""
    return UNet(LeopardConfig.from_dict(config))


def batch_scores(net: UNet, data: DataSet, entry: Mapping[str, Any], conditions: list[str],
                 start: int, stop: int, device: torch.device,
                 amp: bool) -> Iterator[tuple[str, np.ndarray]]:
    """Scores of examples ``start:stop`` in each condition of a TF, from the condition's
    DNase and the mean DNase of the TF's training cell types (``entry["cell_types"]``; see
    :data:`nettime.baselines.networks.BatchScores`)."""
    codes = data.read_sequence(start, stop)
    mean = mean_dnase(data, entry["cell_types"], start, stop)
    for condition in conditions:
        dnase = data.read_signal(split_condition(condition)[1], "DNase", start, stop)
        x = leopard_inputs(codes, dnase, mean, net.config.window)
        yield condition, predict_windows(net, x, data.length, device, amp)


def check_prediction(data: DataSet, saved: Mapping[str, Any], conditions: Sequence[str],
                     model_path: str | Path, data_path: str | Path) -> None:
    """Raise unless the data set holds the DNase of every condition's cell type and of the
    training cell types of their TFs, in examples no longer than the window."""
    for condition in conditions:
        require_signals(data, [split_condition(condition)[1]], "DNase",
                        f"to predict {condition}")
    for tf in conditions_by_tf(conditions):
        require_signals(data, saved["tfs"][tf]["cell_types"], "DNase",
                        f"for the mean DNase of {tf}'s training cell types")
    window = LeopardConfig.from_dict(saved["config"]).window
    if window < data.length:
        raise BaselineError(f"{model_path}: window {window} is shorter than the "
                            f"{data.length}-bp examples of {data_path}")


# ---- training ---------------------------------------------------------------------------------

class TrainingSamples(StreamedSamples):
    """Training batches of one TF: (example, condition) samples of its training conditions,
    read block by block, shuffled within groups of blocks. Each batch: x float32 (B, 6, W),
    y float32 (B, L) conserved labels, mask float32 (B, L) 0 on ambiguous bases (relaxed, not
    conserved)."""

    def __init__(self, path: str | Path, conditions: Sequence[str], mean_cells: Sequence[str],
                 window: int, batch_size: int, seed: int):
        super().__init__(path, batch_size, seed)
        self.conditions = list(conditions)
        self.cells = [split_condition(c)[1] for c in self.conditions]
        self.mean_cells, self.window = list(mean_cells), int(window)

    def chunks(self, data: DataSet, epoch: int) -> Iterator[tuple[int, Callable]]:
        for g, spans in enumerate(self.groups(epoch)):
            store = {"codes": read_rows(data.read_sequence, spans),
                     "dnase": {c: read_rows(partial(data.read_signal, c, "DNase"), spans)
                               for c in dict.fromkeys(self.cells + self.mean_cells)}}
            store["mean"] = np.mean([store["dnase"][c] for c in self.mean_cells], axis=0,
                                    dtype=np.float32)
            for label_set in ("conserved", "relaxed"):
                store[label_set] = np.stack([read_rows(partial(data.read_labels, c, label_set),
                                                       spans) for c in self.conditions])
            n = len(store["codes"]) * len(self.conditions)
            order = np.random.default_rng([self.seed, 5, epoch, g]).permutation(n)
            yield n, partial(self._build, store, order)

    def _build(self, store: dict[str, Any], order: np.ndarray,
               positions: np.ndarray) -> dict[str, np.ndarray]:
        samples = order[positions]
        local, cond = samples // len(self.conditions), samples % len(self.conditions)
        dnase = np.empty((len(samples), store["codes"].shape[1]), np.float32)
        for ci in np.unique(cond):
            dnase[cond == ci] = store["dnase"][self.cells[ci]][local[cond == ci]]
        conserved, relaxed = store["conserved"][cond, local], store["relaxed"][cond, local]
        return {"x": leopard_inputs(store["codes"][local], dnase, store["mean"][local],
                                    self.window),
                "y": conserved.astype(np.float32),
                "mask": 1 - (relaxed.astype(bool) & ~conserved.astype(bool)).astype(np.float32)}


def validation_inputs(data: DataSet, condition: str, start: int, stop: int, *,
                      mean_cells: Sequence[str], window: int) -> dict[str, np.ndarray]:
    """Examples of a condition for validation: x float32 (m, 6, W), from the condition's DNase
    and the mean DNase of ``mean_cells``."""
    cell = split_condition(condition)[1]
    return {"x": leopard_inputs(data.read_sequence(start, stop),
                                data.read_signal(cell, "DNase", start, stop),
                                mean_dnase(data, mean_cells, start, stop), window)}


def leopard_objective(length: int, window: int, augment: bool) -> Objective:
    """Logits of the example's bases (padding dropped) and the masked binary cross-entropy
    averaged over unmasked bases; with ``augment``, in training mode, each sample's DNase is
    scaled by a factor of :data:`AUGMENT_RANGE` drawn from the torch RNG."""
    offset = (window - length) // 2

    def forward(model: torch.nn.Module, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        x = batch["x"]
        if augment and model.training:
            scale = torch.empty(len(x), 1, device=x.device).uniform_(*AUGMENT_RANGE)
            dnase = x[:, 4]
            x = torch.cat([x[:, :4], (dnase * scale)[:, None],
                           (x[:, 5] + (scale - 1) * dnase)[:, None]], dim=1)
        return model(x)[:, offset:offset + length]

    def loss(logits: torch.Tensor, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        per_base = torch.nn.functional.binary_cross_entropy_with_logits(
            logits.float(), batch["y"].float(), reduction="none")
        mask = batch["mask"]
        return (per_base * mask).sum() / mask.sum().clamp_min(1.0)

    return Objective(forward=forward, loss=loss,
                     probability=lambda logits: torch.sigmoid(logits.float()))


def train_tf(tf: str, conditions: Sequence[str], part_dir: Path, settings: TrainSettings,
             stop_after: int | None, *, config: LeopardConfig, augment: bool,
             inputs: TrainInputs) -> tuple[TrainResult, dict[str, Any]]:
    """Train the network of one TF on its training conditions in ``part_dir`` (resumable).

    Returns the training result and ``{"cell_types": [...]}``, the TF's training cell types,
    whose mean DNase the predictor compares every cell type with.
    """
    cells = list(dict.fromkeys(split_condition(c)[1] for c in conditions))
    with open_dataset(inputs.train_path) as data:
        require_conditions(data, conditions, f"to train {tf}")
        require_signals(data, cells, "DNase", f"to train {tf}")
        length = data.length
    if config.window < length:
        raise BaselineError(f"leopard: window {config.window} is shorter than the "
                            f"{length}-bp examples of {inputs.train_path}")
    samples = TrainingSamples(inputs.train_path, conditions, cells, config.window,
                              inputs.batch_size, inputs.seed)
    # A checkpoint made for other conditions, options or data is not resumed.
    return train_part(tf, conditions, part_dir, settings, stop_after, inputs,
                      net=build_unet(config, inputs.seed), batches=samples,
                      objective=leopard_objective(length, config.window, augment),
                      valid_inputs=partial(validation_inputs, mean_cells=cells,
                                           window=config.window),
                      entry={"cell_types": cells}, identity={"augment": augment}, cells=cells)


def training_setup(spec: ModelSpec) -> tuple[dict[str, Any], TFTrainer]:
    """The network sizes of a spec's options and its trainer of one TF (``augment`` is the
    trainer's)."""
    options = dict(spec.options)
    augment = bool(options.pop("augment", True))
    config = LeopardConfig.from_options(options)
    return config.to_dict(), partial(train_tf, config=config, augment=augment)


#: The kind's entry points (the functions :mod:`nettime.baselines.kinds` calls).
LEOPARD_KIND = NetworkKind(KIND, METHOD, network=network_of, scores=batch_scores,
                           setup=training_setup, check=check_prediction)
train_model = LEOPARD_KIND.train_model
train_registry_model = LEOPARD_KIND.train_registry_model
predict_split = LEOPARD_KIND.predict_split
predict_with_settings = LEOPARD_KIND.predict_with_settings
