"""Training and fine-tuning of NetTIME: loop, validation auPRC, checkpoints and resumption.

The core (:func:`train`) takes plain callables that yield batch dicts (x float32 (B, L, K),
y int64 (B, L), tf, cell, condition int64 (B,)), so it runs on tensors made anywhere; the glue
that reads the HDF5 data sets through ``nettime.dataset`` is :func:`train_model`.

Resumption: every ``checkpoint_every`` steps the model, optimiser, gradient scaler, the RNG states
of torch, numpy and Python, the position in the data (epoch, batch within the epoch), the best
score so far and the log rows are written atomically to ``checkpoint.pt``. A run killed at any
moment and started again with the same arguments continues from there; on CPU with a fixed seed
it ends with the same weights as an uninterrupted run.
"""

from __future__ import annotations

import itertools
import math
import random
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from nettime import metrics
from nettime.files import atomic_output
from nettime.model import ModelError, NetTIME
from nettime.registry import ModelSpec

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


# --------------------------------------------------------------------------------------------
# devices, loss, metric


def resolve_device(name: str) -> torch.device:
    """``cpu``, ``cuda`` or ``auto`` -> a device; ``auto`` never touches CUDA without a GPU."""
    if name == "cpu":
        return torch.device("cpu")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda":
        if not torch.cuda.is_available():
            raise TrainingError("device 'cuda' was asked for but no CUDA GPU is available; "
                                "use device 'auto' or 'cpu'")
        return torch.device("cuda")
    raise TrainingError(f"unknown device {name!r}; use cpu, cuda or auto")


def sequence_loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Cross-entropy summed over positions, averaged over the batch.

    ``logits`` float (B, L, 2), ``y`` int64 (B, L) -> scalar.
    """
    total = torch.nn.functional.cross_entropy(logits.reshape(-1, 2).float(), y.reshape(-1),
                                              reduction="sum")
    return total / logits.shape[0]


class PRAccumulator:
    """Streaming auPRC per group in bounded memory: one exact float16 histogram per group.

    Scores are rounded to float16 (the precision predictions are stored in), so the area equals
    sklearn's ``auc(recall, precision)`` of ``precision_recall_curve`` on the rounded scores
    (see :class:`nettime.metrics.PRAccumulator`).
    """

    def __init__(self, n_groups: int):
        self.groups = [metrics.PRAccumulator() for _ in range(n_groups)]
        self.has_nan = np.zeros(n_groups, bool)

    def update(self, group: np.ndarray, scores: np.ndarray, labels: np.ndarray) -> None:
        """``group`` int (m,), ``scores`` float (m, L) in [0, 1], ``labels`` {0,1} (m, L)."""
        scores = np.asarray(scores, np.float16)
        labels = np.asarray(labels)
        for g in np.unique(group):
            rows = group == g
            if np.isnan(scores[rows]).any():
                self.has_nan[g] = True  # a diverged model scores NaN, never an improvement
            else:
                self.groups[g].add(scores[rows], labels[rows])

    def auprc(self) -> np.ndarray:
        """float64 (n_groups,) areas; NaN for a group without positives or with NaN scores."""
        return np.array([math.nan if nan else acc.auprc()
                         for acc, nan in zip(self.groups, self.has_nan, strict=True)])


# --------------------------------------------------------------------------------------------
# evaluation


def _autocast(device: torch.device, amp: bool, cpu_bf16: bool = False) -> Any:
    """float16 autocast on CUDA with ``amp``; bfloat16 on CPU only when asked (inference)."""
    if device.type == "cuda" and amp:
        return torch.autocast("cuda", dtype=torch.float16)
    if device.type == "cpu" and cpu_bf16:
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return torch.autocast(device.type, enabled=False)


def _to(batch: Mapping[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    non_blocking = device.type == "cuda"
    return {k: v.to(device, non_blocking=non_blocking) for k, v in batch.items()
            if isinstance(v, torch.Tensor)}


def evaluate_auprc(model: NetTIME, batches: Iterable[Mapping[str, torch.Tensor]],
                   n_conditions: int, device: torch.device, amp: bool = True) -> np.ndarray:
    """auPRC per condition over validation batches (their ``y`` should be conserved labels).

    Returns float64 (n_conditions,), NaN where a condition has no positives.
    """
    acc = PRAccumulator(n_conditions)
    was_training = model.training
    model.eval()
    with torch.inference_mode(), _autocast(device, amp):
        for batch in batches:
            b = _to(batch, device)
            prob = torch.softmax(model(b["x"], b["tf"], b["cell"]).float(), dim=-1)[..., 1]
            acc.update(batch["condition"].numpy(), prob.cpu().numpy(), batch["y"].numpy())
    model.train(was_training)
    return acc.auprc()


# --------------------------------------------------------------------------------------------
# the loop


# numpy's legacy global generator is saved on purpose: code outside this module may draw from it.
def _rng_state() -> dict[str, Any]:
    state = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(),  # noqa: NPY002
             "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: Mapping[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])  # noqa: NPY002
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def seed_everything(seed: int) -> None:
    """Seed torch, numpy and Python's ``random``."""
    torch.manual_seed(seed)
    np.random.seed(seed % (1 << 32))  # noqa: NPY002
    random.seed(seed)


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


def train(model: NetTIME, batches: BatchSource, settings: TrainSettings, out_dir: str | Path,
          valid: Callable[[], Iterable[Mapping[str, torch.Tensor]]] | None = None,
          n_valid_conditions: int = 1, extra: Mapping[str, Any] | None = None,
          stop_after: int | None = None) -> TrainResult:
    """Train ``model`` (in place) and keep its best checkpoint.

    Parameters
    ----------
    model
        The network, freshly built or loaded for fine-tuning.
    batches
        ``batches(epoch, start)`` yields the training batches of ``epoch`` from batch index
        ``start`` on; it must give the same batches for the same arguments (resumption).
    settings
        Budget, learning rate, validation cadence, device, seed.
    out_dir
        Receives ``model.pt`` (best checkpoint), ``log.tsv`` and ``checkpoint.pt``.
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

    Returns
    -------
    TrainResult
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ckpt_path, best_path, log_path = (out_dir / "checkpoint.pt", out_dir / "model.pt",
                                      out_dir / "log.tsv")
    device = resolve_device(settings.device)
    if device.type == "cpu" and settings.threads:
        torch.set_num_threads(settings.threads)
    use_amp = settings.amp and device.type == "cuda"
    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.lr)
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    every_ckpt = settings.checkpoint_every or settings.eval_every

    state: dict[str, Any] = {"step": 0, "epoch": 0, "batch": 0, "samples": 0, "best": -math.inf,
                             "best_step": 0, "bad_evals": 0, "rows": [], "done": False,
                             "stopped_early": False, "loss_sum": 0.0, "loss_n": 0}
    saved = torch.load(ckpt_path, map_location="cpu", weights_only=False) \
        if ckpt_path.exists() else None
    if saved is not None and (saved.get("settings") != asdict(settings)
                              or saved.get("config") != model.config.to_dict()):
        # Another budget or model: this is a new run, not the continuation of the old one.
        print(f"{ckpt_path}: made with other settings or another model; starting afresh",
              file=sys.stderr)
        saved = None
    best_weights: dict[str, torch.Tensor] | None = None
    if saved is not None:
        model.load_state_dict(saved["model"])
        best_weights = saved.get("best_weights")
        optimizer.load_state_dict(saved["optimizer"])
        scaler.load_state_dict(saved["scaler"])
        state = saved["state"]
        _set_rng_state(saved["rng"])
    else:
        seed_everything(settings.seed)

    def checkpoint() -> None:
        with atomic_output(ckpt_path) as tmp:
            torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                        "scaler": scaler.state_dict(), "state": state, "rng": _rng_state(),
                        "settings": asdict(settings), "config": model.config.to_dict(),
                        "best_weights": best_weights}, tmp)

    def write_best() -> None:
        with atomic_output(best_path) as tmp:
            torch.save({"config": model.config.to_dict(), "state_dict": best_weights,
                        "step": state["best_step"], "valid_auprc": state["best"],
                        **(extra or {})}, tmp)

    def save_best() -> None:
        # The best weights also travel in checkpoint.pt: a rerun whose model.pt was removed
        # (Snakemake deletes the outputs of a failed job) writes it again from there.
        nonlocal best_weights
        best_weights = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
        write_best()

    if best_weights is not None and not best_path.exists():
        write_best()

    def validate_and_log(epoch_now: int) -> None:
        score = math.nan
        if valid is not None:
            # Validation must not move the training RNG (a DataLoader draws a seed from it).
            with torch.random.fork_rng(devices=[]):
                per_condition = evaluate_auprc(model, valid(), n_valid_conditions, device,
                                               settings.amp)
            score = float(np.nanmean(per_condition)) if np.any(~np.isnan(per_condition)) \
                else math.nan
        improved = valid is None or (not math.isnan(score) and score > state["best"])
        if improved:
            state["best"] = score if valid is not None else math.nan
            state["best_step"] = state["step"]
            state["bad_evals"] = 0
            save_best()
        else:
            state["bad_evals"] += 1
        mean_loss = state["loss_sum"] / max(state["loss_n"], 1)
        state["loss_sum"], state["loss_n"] = 0.0, 0
        state["rows"].append({"step": state["step"], "epoch": epoch_now,
                              "samples": state["samples"], "train_loss": mean_loss,
                              "valid_auprc": score, "best_auprc": state["best"],
                              "lr": settings.lr})
        _write_log(log_path, state["rows"])

    total = settings.max_steps
    bar = tqdm(total=total, initial=state["step"], desc=f"train {out_dir.name}", unit="step",
               file=sys.stderr, disable=not settings.progress, dynamic_ncols=True)
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
                b = _to(batch, device)
                with _autocast(device, settings.amp):
                    logits = model(b["x"], b["tf"], b["cell"])
                loss = sequence_loss(logits, b["y"])
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
                if not torch.isfinite(loss.detach()):
                    raise TrainingError(f"the loss became {float(loss)} at step "
                                        f"{state['step'] + 1}")
                state["step"] += 1
                state["batch"] += 1
                state["samples"] += len(batch["y"])
                state["loss_sum"] += float(loss.detach())
                state["loss_n"] += 1
                steps_here += 1
                bar.update(1)
                bar.set_postfix(loss=f"{state['loss_sum'] / state['loss_n']:.4g}",
                                best=f"{state['best']:.4g}")
                budget_hit = settings.max_steps is not None and \
                    state["step"] >= settings.max_steps
                if state["step"] % settings.eval_every == 0 or budget_hit:
                    validate_and_log(state["epoch"])
                    if settings.patience is not None and \
                            state["bad_evals"] >= settings.patience:
                        state["stopped_early"] = True
                        state["done"] = True
                if budget_hit:
                    state["done"] = True
                if state["done"] or state["step"] % every_ckpt == 0:
                    checkpoint()
                if state["done"] or (stop_after is not None and steps_here >= stop_after):
                    break
            if stop_after is not None and steps_here >= stop_after and not state["done"]:
                checkpoint()
                break
            if state["done"]:
                break
            if not progressed and state["batch"] == 0:
                raise TrainingError("the training data yielded no batch")
            state["epoch"] += 1
            state["batch"] = 0
            if settings.epochs is not None and state["epoch"] >= settings.epochs:
                if state["rows"] == [] or state["rows"][-1]["step"] != state["step"]:
                    validate_and_log(state["epoch"])
                state["done"] = True
                checkpoint()
    finally:
        bar.close()
    if state["done"] and not best_path.exists():
        if best_weights is None:
            save_best()
        else:
            write_best()
    return TrainResult(steps=state["step"], epochs_completed=state["epoch"],
                       best_step=state["best_step"], best_auprc=state["best"],
                       stopped_early=state["stopped_early"])


# --------------------------------------------------------------------------------------------
# glue: a registry spec + the HDF5 data sets (nettime.dataset)


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
    from nettime.model import ModelConfig, build_model, grow_vocab, load_model

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
                valid_path: str | Path, out_dir: str | Path,
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
        ``results/data/train.h5`` and ``results/data/valid.h5``.
    out_dir
        ``results/models/{model}``: receives model.pt, log.tsv, checkpoint.pt.
    tf_vocab, cell_vocab
        Names for the embedding rows of a scratch model (those of a fine-tuned model are kept
        and extended).
    init_path
        ``model.pt`` of the model to fine-tune, or None.
    """
    from nettime.dataset import feature_sets_from_config, open_dataset
    from nettime.loader import make_loader
    from nettime.registry import training_settings

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
                         seed=spec.seed, num_samples=sample_count)

    def batches(epoch: int, start: int) -> Iterator[Mapping[str, torch.Tensor]]:
        loader.dataset.set_epoch(epoch)  # iter() right away: train() guards the RNG here
        return itertools.islice(iter(loader), start, None)

    with open_dataset(valid_path) as data:
        valid_conditions = [c for c in spec.conditions if c in data.conditions]
        n_valid = data.n_examples
    valid = None
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
    return train(model, batches, settings, out_dir, valid=valid,
                 n_valid_conditions=max(len(valid_conditions), 1), extra=extra)


def iterate_from(make_epoch: Callable[[int], Iterable[Any]], epoch: int,
                 start: int) -> Iterator[Any]:
    """Batches of ``make_epoch(epoch)`` from index ``start`` on (earlier ones are skipped)."""
    return itertools.islice(iter(make_epoch(epoch)), start, None)


__all__ = ["BatchSource", "ModelError", "PRAccumulator", "TrainResult", "TrainSettings",
           "TrainingError", "evaluate_auprc", "iterate_from", "resolve_device", "seed_everything",
           "sequence_loss", "settings_from_spec", "train", "train_model"]
