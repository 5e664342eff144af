"""Training and fine-tuning of NetTIME: loop, validation auPRC, checkpoints and resumption.

The core (:func:`train`) takes plain callables that yield batch dicts (x float32 (B, L, K),
y int64 (B, L), tf, cell, condition int64 (B,)), so it runs on tensors made anywhere; training a
registry model on the HDF5 data sets is :func:`nettime.models.fit.train_model`.

Resumption: every ``checkpoint_every`` steps the model, optimiser, gradient scaler, the RNG states
of torch, numpy and Python, the position in the data (epoch, batch within the epoch), the best
score so far and the log rows are written atomically to ``checkpoint.pt``. A run killed at any
moment and started again with the same arguments continues from there; on CPU with a fixed seed
it ends with the same weights as an uninterrupted run.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from nettime import metrics
from nettime.files import atomic_output
from nettime.models.device import (
    autocast,
    resolve_device,
    rng_state,
    seed_everything,
    set_rng_state,
    to_device,
)

#: Yields the batches of one epoch, starting at a given batch: ``batches(epoch, start)``.
BatchSource = Callable[[int, int], Iterable[Mapping[str, torch.Tensor]]]

LOG_COLUMNS = ("step", "epoch", "samples", "train_loss", "valid_auprc", "best_auprc", "lr")


class TrainingError(RuntimeError):
    """A training run that cannot start or continue, with the reason."""


@dataclass(frozen=True)
class TrainSettings:
    """How to train.

    Parameters
    ----------
    lr
        Adam learning rate (paper: 1e-4; no weight decay, no schedule).
    max_steps, epochs
        Budget; training stops at whichever comes first (at least one must be given).
    eval_every
        Steps between validations (and best-checkpoint decisions).
    checkpoint_every
        Steps between resumable checkpoints (default: ``eval_every``).
    patience
        Stop after this many validations without improvement; None trains to the budget.
    seed
        Seeds torch, numpy and Python at the start (not on resumption: states are restored).
    device
        ``cpu``, ``cuda`` or ``auto`` (CUDA when available).
    amp
        Mixed precision (float16 autocast + gradient scaling); used on CUDA only.
    threads
        torch intra-op threads on CPU; None leaves torch's default.
    progress
        Show a tqdm progress bar on stderr.
    """

    lr: float = 1e-4
    max_steps: int | None = None
    epochs: int | None = None
    eval_every: int = 500
    checkpoint_every: int | None = None
    patience: int | None = None
    seed: int = 0
    device: str = "auto"
    amp: bool = True
    threads: int | None = None
    progress: bool = True

    def __post_init__(self) -> None:
        if self.max_steps is None and self.epochs is None:
            raise TrainingError("give a step budget (max_steps) or a number of epochs")
        for name in ("max_steps", "epochs", "eval_every", "checkpoint_every", "patience"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise TrainingError(f"{name} must be at least 1, got {value}")


def sequence_loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Cross-entropy summed over positions, averaged over the batch.

    ``logits`` float (B, L, 2), ``y`` int64 (B, L) -> scalar.
    """
    total = torch.nn.functional.cross_entropy(logits.reshape(-1, 2).float(), y.reshape(-1),
                                              reduction="sum")
    return total / logits.shape[0]


def evaluate_auprc(model: torch.nn.Module, batches: Iterable[Mapping[str, torch.Tensor]],
                   n_conditions: int, device: torch.device, amp: bool = True,
                   objective: Objective | None = None) -> np.ndarray:
    """auPRC per condition over validation batches (their ``y`` should be conserved labels).

    Returns float64 (n_conditions,), NaN where a condition has no positives.
    """
    objective = objective or NETTIME_OBJECTIVE
    acc = metrics.GroupedPRAccumulator(n_conditions)
    was_training = model.training
    model.eval()
    with torch.inference_mode(), autocast(device, amp):
        for batch in batches:
            b = to_device(batch, device)
            prob = objective.probability(objective.forward(model, b))
            acc.update(batch["condition"].numpy(), prob.cpu().numpy(), batch["y"].numpy())
    model.train(was_training)
    return acc.auprc()


def _write_log(path: Path, rows: Sequence[Mapping[str, Any]]) -> None:
    # Rewritten whole (atomically) so that a resumed run never duplicates lines.
    with atomic_output(path) as tmp, open(tmp, "w") as handle:
        handle.write("\t".join(LOG_COLUMNS) + "\n")
        for row in rows:
            handle.write("\t".join(_fmt(row.get(c)) for c in LOG_COLUMNS) + "\n")


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "NA"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


@dataclass
class TrainResult:
    """Summary of a finished run."""

    steps: int
    epochs_completed: int
    best_step: int
    best_auprc: float
    stopped_early: bool


@dataclass(frozen=True)
class Objective:
    """How a network's output becomes a training loss and per-base probabilities.

    ``forward(model, batch)`` runs under autocast; ``loss(output, batch)`` and
    ``probability(output)`` outside it. Batches are dicts of tensors on the model's device.
    """

    forward: Callable[[torch.nn.Module, Mapping[str, torch.Tensor]], torch.Tensor]
    loss: Callable[[torch.Tensor, Mapping[str, torch.Tensor]], torch.Tensor]
    probability: Callable[[torch.Tensor], torch.Tensor]


def _nettime_forward(model: torch.nn.Module, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
    return model(batch["x"], batch["tf"], batch["cell"])


#: NetTIME's objective: two-class logits (B, L, 2), cross-entropy summed over positions.
NETTIME_OBJECTIVE = Objective(
    forward=_nettime_forward, loss=lambda logits, batch: sequence_loss(logits, batch["y"]),
    probability=lambda logits: torch.softmax(logits.float(), dim=-1)[..., 1])


class _Run:
    """One training run's state, checkpoints and log; :func:`train` drives it."""

    def __init__(self, model: torch.nn.Module, settings: TrainSettings, out_dir: Path,
                 valid: Callable[[], Iterable[Mapping[str, torch.Tensor]]] | None,
                 n_valid_conditions: int, extra: Mapping[str, Any] | None,
                 objective: Objective, identity: Mapping[str, Any] | None = None):
        self.model, self.settings, self.valid = model, settings, valid
        self.identity = dict(identity or {})
        self.n_valid_conditions, self.extra, self.objective = n_valid_conditions, extra, objective
        self.checkpoint_path = out_dir / "checkpoint.pt"
        self.best_path = out_dir / "model.pt"
        self.log_path = out_dir / "log.tsv"
        self.device = resolve_device(settings.device)
        if self.device.type == "cpu" and settings.threads:
            torch.set_num_threads(settings.threads)
        model.to(self.device)
        self.optimizer = torch.optim.Adam(model.parameters(), lr=settings.lr)
        self.scaler = torch.amp.GradScaler("cuda", enabled=settings.amp
                                           and self.device.type == "cuda")
        self.best_weights: dict[str, torch.Tensor] | None = None
        self.state: dict[str, Any] = {
            "step": 0, "epoch": 0, "batch": 0, "samples": 0, "best": -math.inf, "best_step": 0,
            "bad_evals": 0, "rows": [], "done": False, "stopped_early": False,
            "loss_sum": 0.0, "loss_n": 0}

    def start(self) -> None:
        """Continue from ``checkpoint.pt`` when it belongs to this run, else start afresh;
        say which on stderr."""
        saved = torch.load(self.checkpoint_path, map_location="cpu", weights_only=False) \
            if self.checkpoint_path.exists() else None
        if saved is not None and (saved.get("settings") != asdict(self.settings)
                                  or saved.get("config") != self.model.config.to_dict()
                                  or saved.get("identity", {}) != self.identity):
            # Another budget, model or data: a new run, not the continuation of the old one.
            _say(f"{self.checkpoint_path}: made with other settings, another model or other "
                 "data; starting afresh")
            saved = None
        if saved is None:
            seed_everything(self.settings.seed)
            return
        self.model.load_state_dict(saved["model"])
        self.best_weights = saved.get("best_weights")
        self.optimizer.load_state_dict(saved["optimizer"])
        self.scaler.load_state_dict(saved["scaler"])
        self.state = saved["state"]
        set_rng_state(saved["rng"])
        if self.state["done"]:
            _say(f"{self.checkpoint_path}: this run finished at step {self.state['step']} "
                 f"(best at step {self.state['best_step']}); nothing to do")
        else:
            _say(f"{self.checkpoint_path}: resuming at step {self.state['step']} (epoch "
                 f"{self.state['epoch']}, batch {self.state['batch']})")
        # Snakemake deletes every output of a job it did not see finish; a run killed after
        # its last checkpoint has nothing left to do, so its model and log are written here.
        if self.best_weights is not None and not self.best_path.exists():
            self.write_best()
        if self.state["rows"]:
            _write_log(self.log_path, self.state["rows"])

    def checkpoint(self) -> None:
        with atomic_output(self.checkpoint_path) as tmp:
            torch.save({"model": self.model.state_dict(),
                        "optimizer": self.optimizer.state_dict(),
                        "scaler": self.scaler.state_dict(), "state": self.state,
                        "rng": rng_state(), "settings": asdict(self.settings),
                        "identity": self.identity,
                        "config": self.model.config.to_dict(),
                        "best_weights": self.best_weights}, tmp)

    def write_best(self) -> None:
        with atomic_output(self.best_path) as tmp:
            torch.save({"config": self.model.config.to_dict(), "state_dict": self.best_weights,
                        "step": self.state["best_step"], "valid_auprc": self.state["best"],
                        **(self.extra or {})}, tmp)

    def save_best(self) -> None:
        # The best weights also travel in checkpoint.pt: a rerun whose model.pt was removed
        # (Snakemake deletes the outputs of a failed job) writes it again from there.
        self.best_weights = {k: v.detach().to("cpu", copy=True)
                             for k, v in self.model.state_dict().items()}
        self.write_best()

    def validate_and_log(self, epoch: int) -> None:
        state, score = self.state, math.nan
        if self.valid is not None:
            # Validation must not move the training RNG (a DataLoader draws a seed from it).
            with torch.random.fork_rng(devices=[]):
                per_condition = evaluate_auprc(self.model, self.valid(),
                                               self.n_valid_conditions, self.device,
                                               self.settings.amp, self.objective)
            if np.any(~np.isnan(per_condition)):
                score = float(np.nanmean(per_condition))
        if self.valid is None or (not math.isnan(score) and score > state["best"]):
            state["best"] = score if self.valid is not None else math.nan
            state["best_step"] = state["step"]
            state["bad_evals"] = 0
            self.save_best()
        else:
            state["bad_evals"] += 1
        mean_loss = state["loss_sum"] / max(state["loss_n"], 1)
        state["loss_sum"], state["loss_n"] = 0.0, 0
        state["rows"].append({"step": state["step"], "epoch": epoch, "samples": state["samples"],
                              "train_loss": mean_loss, "valid_auprc": score,
                              "best_auprc": state["best"], "lr": self.settings.lr})
        _write_log(self.log_path, state["rows"])

    def step(self, batch: Mapping[str, torch.Tensor]) -> float:
        """One optimiser step on a batch; returns the loss."""
        b = to_device(batch, self.device)
        with autocast(self.device, self.settings.amp):
            output = self.objective.forward(self.model, b)
        loss = self.objective.loss(output, b)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        if not torch.isfinite(loss.detach()):
            raise TrainingError(f"the loss became {float(loss)} at step {self.state['step'] + 1}")
        return float(loss.detach())

    def after_step(self, n_samples: int, loss: float) -> None:
        """Count the step; validate, stop and checkpoint when it is time."""
        state, settings = self.state, self.settings
        state["step"] += 1
        state["batch"] += 1
        state["samples"] += n_samples
        state["loss_sum"] += loss
        state["loss_n"] += 1
        budget_hit = settings.max_steps is not None and state["step"] >= settings.max_steps
        if state["step"] % settings.eval_every == 0 or budget_hit:
            self.validate_and_log(state["epoch"])
            if settings.patience is not None and state["bad_evals"] >= settings.patience:
                state["stopped_early"] = True
                state["done"] = True
        if budget_hit:
            state["done"] = True
        if state["done"] or state["step"] % (settings.checkpoint_every
                                             or settings.eval_every) == 0:
            self.checkpoint()

    def end_epoch(self) -> None:
        """Move to the next epoch; after the last one, validate (once) and finish."""
        state = self.state
        state["epoch"] += 1
        state["batch"] = 0
        if self.settings.epochs is not None and state["epoch"] >= self.settings.epochs:
            if state["rows"] == [] or state["rows"][-1]["step"] != state["step"]:
                self.validate_and_log(state["epoch"])
            state["done"] = True
            self.checkpoint()

    def finish(self) -> TrainResult:
        state = self.state
        if state["done"] and not self.best_path.exists():
            if self.best_weights is None:
                self.save_best()
            else:
                self.write_best()
        return TrainResult(steps=state["step"], epochs_completed=state["epoch"],
                           best_step=state["best_step"], best_auprc=state["best"],
                           stopped_early=state["stopped_early"])


def _say(message: str) -> None:
    print(message, file=sys.stderr)


def train(model: torch.nn.Module, batches: BatchSource, settings: TrainSettings,
          out_dir: str | Path,
          valid: Callable[[], Iterable[Mapping[str, torch.Tensor]]] | None = None,
          n_valid_conditions: int = 1, extra: Mapping[str, Any] | None = None,
          stop_after: int | None = None,
          objective: Objective = NETTIME_OBJECTIVE,
          identity: Mapping[str, Any] | None = None) -> TrainResult:
    """Train ``model`` (in place) and keep its best checkpoint.

    Parameters
    ----------
    model
        The network, freshly built or loaded for fine-tuning; it has a ``config`` with
        ``to_dict()`` (recorded in the checkpoints).
    batches
        ``batches(epoch, start)`` yields the training batches of ``epoch`` from batch index
        ``start`` on; it must give the same batches for the same arguments (resumption).
    settings
        Budget, learning rate, validation cadence, device, seed.
    out_dir
        Receives ``model.pt`` (best checkpoint), ``log.tsv`` and ``checkpoint.pt``. A finished
        run there is reported and not repeated; an unfinished one is resumed.
    valid
        Returns the validation batches (conserved labels, ``condition`` indexing
        ``range(n_valid_conditions)``); None keeps the last weights as the best.
    n_valid_conditions
        Number of conditions in the validation batches.
    extra
        Stored in ``model.pt`` beside the weights (e.g. the spec).
    stop_after
        Stop (as if killed) once this many steps are done in this call, after checkpointing;
        for tests of resumption.
    objective
        Loss and probabilities of the network's output (default: NetTIME's).
    identity
        What the run trains on (e.g. :func:`data_identity` of its data files): a checkpoint
        made with another identity is not resumed.

    Returns
    -------
    TrainResult
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    run = _Run(model, settings, out_dir, valid, n_valid_conditions, extra, objective, identity)
    run.start()
    state = run.state
    bar = tqdm(total=settings.max_steps, initial=state["step"], desc=f"train {out_dir.name}",
               unit="step", file=sys.stderr, disable=not settings.progress, dynamic_ncols=True)
    steps_here = 0
    model.train()
    try:
        while not state["done"]:
            if settings.epochs is not None and state["epoch"] >= settings.epochs:
                break
            progressed = False
            # Starting an epoch must not move the RNG either (torch's DataLoader draws a seed
            # from it), or a resumed run would see other dropout masks than an unbroken one.
            with torch.random.fork_rng(devices=[]):
                epoch_batches = iter(batches(state["epoch"], state["batch"]))
            for batch in epoch_batches:
                progressed = True
                run.after_step(len(batch["y"]), run.step(batch))
                steps_here += 1
                bar.update(1)
                bar.set_postfix(loss=f"{state['loss_sum'] / max(state['loss_n'], 1):.4g}",
                                best=f"{state['best']:.4g}")
                if state["done"] or (stop_after is not None and steps_here >= stop_after):
                    break
            if stop_after is not None and steps_here >= stop_after and not state["done"]:
                run.checkpoint()
                break
            if state["done"]:
                break
            if not progressed and state["batch"] == 0:
                raise TrainingError("the training data yielded no batch")
            run.end_epoch()
    finally:
        bar.close()
    return run.finish()


def data_identity(paths: Iterable[str | Path]) -> dict[str, list[int] | None]:
    """Path -> [size, modification time in ns] of each file a run trains on (None: missing,
    which the reader reports): a checkpoint of a run over other data (a file rebuilt since) is
    not resumed."""
    out: dict[str, list[int] | None] = {}
    for path in paths:
        try:
            stat = Path(path).stat()
        except FileNotFoundError:
            out[str(path)] = None
            continue
        out[str(path)] = [int(stat.st_size), int(stat.st_mtime_ns)]
    return out
