"""The linear-chain CRF that turns per-base probabilities into binary calls.

The CRF is the original implementation's: two tags (0 unbound, 1 bound) with start,
end and 2 x 2 transition scores, 8 parameters in all, over emissions computed from the frozen
network's output. Predictions are stored as P(bound), so the emissions are ``log(1 - p)`` and
``log(p)`` (the log softmax of the network output), clipped away from -inf, minus a constant
per-class log class-frequency. It is trained by Adam on the exact negative log-likelihood
``-log p(y | z)`` (forward algorithm in log space) and decodes by Viterbi; both are vectorised
over the batch and loop only over positions.

Why not a library: pytorch-crf (PyPI ``pytorch-crf``) has the same start/end/transition
parameters, but its last release (0.7.2) dates from 2019, its decoder returns Python lists of
lists (one per sequence) rather than a tensor, and it would add an unmaintained dependency for
about sixty lines of code. The code here is checked against brute-force enumeration of every
label sequence in the tests.

Training data. The CRF is fitted on validation predictions of the frozen network:
training-split predictions would be over-confident (the network has seen those labels) and the
CRF would learn to trust them too much. Validation examples are split at random (fixed seed)
into a fitting part and a selection part (``select_fraction``); the checkpoint with the lowest
NLL on the selection part is kept. The CRF has 8 parameters, so a sample of at most
``max_sequences`` (example, condition) sequences is enough and bounds memory.
"""

from __future__ import annotations

import copy
import math
import sys
from collections.abc import Callable, Mapping
from typing import Any

import h5py
import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from nettime.data.dataset import open_dataset
from nettime.data.predictions import PredictionError, check_predictions, iter_blocks
from nettime.files import PathLike, atomic_output

# Smallest probability kept before the log: float16 predictions reach exactly 0 and 1.
PROBABILITY_FLOOR = 1e-6


def emissions_from_probabilities(
    probabilities: np.ndarray | torch.Tensor,
    class_log_prior: tuple[float, float] = (0.0, 0.0),
    floor: float = PROBABILITY_FLOOR,
) -> torch.Tensor:
    """Per-base emission scores from P(bound).

    Parameters
    ----------
    probabilities : float (B, L)
        P(bound) per base.
    class_log_prior : (float, float)
        Log frequency of class 0 and class 1, subtracted from their log probabilities.
    floor : float
        Probabilities are clipped to ``[floor, 1 - floor]`` before the log.

    Returns
    -------
    torch.float32 (B, L, 2)
        ``log(1 - p) - prior[0]`` and ``log(p) - prior[1]``.
    """
    if not isinstance(probabilities, torch.Tensor):
        probabilities = torch.from_numpy(np.asarray(probabilities, dtype=np.float64))
    p = probabilities.to(torch.float64).clamp(floor, 1.0 - floor)
    scores = torch.stack([torch.log1p(-p) - class_log_prior[0],
                          torch.log(p) - class_log_prior[1]], dim=-1)
    return scores.to(torch.float32)


def class_log_prior(positive_fraction: float) -> tuple[float, float]:
    """``(log(1 - f), log f)`` for the fraction ``f`` of bound bases, clipped to (1e-6, 1-1e-6)."""
    f = min(max(float(positive_fraction), PROBABILITY_FLOOR), 1.0 - PROBABILITY_FLOOR)
    return (math.log1p(-f), math.log(f))


def _log_matmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Matrix product in the log semiring: ``logsumexp_k(a[..., i, k] + b[..., k, j])``."""
    return torch.logsumexp(a.unsqueeze(-1) + b.unsqueeze(-3), dim=-2)


class LinearChainCRF(torch.nn.Module):
    """Two-tag linear-chain CRF: ``score(y) = start[y0] + sum_t emit[t, yt] +
    sum_t trans[y(t-1), yt] + end[y(L-1)]``.

    Parameters start (2,), end (2,) and transitions (2, 2) start at zero, where decoding equals
    the per-base argmax of the emissions.
    """

    n_tags = 2

    def __init__(self) -> None:
        super().__init__()
        self.start = torch.nn.Parameter(torch.zeros(self.n_tags))
        self.end = torch.nn.Parameter(torch.zeros(self.n_tags))
        self.transitions = torch.nn.Parameter(torch.zeros(self.n_tags, self.n_tags))

    @staticmethod
    def _check(emissions: torch.Tensor) -> None:
        if emissions.ndim != 3 or emissions.shape[2] != 2 or emissions.shape[1] < 1:
            raise ValueError(f"emissions must be (B, L >= 1, 2), got {tuple(emissions.shape)}")

    def score(self, emissions: torch.Tensor, tags: torch.Tensor) -> torch.Tensor:
        """Unnormalised score of tag sequences: emissions float (B, L, 2), tags int64 (B, L)
        -> float (B,)."""
        self._check(emissions)
        tags = tags.long()
        emitted = emissions.gather(2, tags.unsqueeze(-1)).squeeze(-1).sum(1)
        moved = self.transitions[tags[:, :-1], tags[:, 1:]].sum(1)
        return self.start[tags[:, 0]] + emitted + moved + self.end[tags[:, -1]]

    def log_partition(self, emissions: torch.Tensor) -> torch.Tensor:
        """Log of the sum of ``exp(score)`` over all 2**L tag sequences (forward algorithm):
        emissions float (B, L, 2) -> float (B,).

        The forward recursion is a product of L - 1 transfer matrices in the log semiring,
        ``M_t[i, j] = trans[i, j] + emit[t, j]``; the product is associative, so it is reduced
        pairwise in log2(L) vectorised steps instead of L sequential ones (same result, much
        faster under autograd).
        """
        self._check(emissions)
        alpha = (self.start + emissions[:, 0]).unsqueeze(1)  # (B, 1, 2)
        matrices = self.transitions + emissions[:, 1:].unsqueeze(2)  # (B, L - 1, 2, 2)
        while matrices.shape[1] > 1:
            if matrices.shape[1] % 2:  # pad with the identity of the log semiring
                identity = torch.full((2, 2), -math.inf, dtype=matrices.dtype,
                                      device=matrices.device).fill_diagonal_(0.0)
                matrices = torch.cat(
                    [matrices, identity.expand(len(matrices), 1, 2, 2)], dim=1)
            matrices = _log_matmul(matrices[:, 0::2], matrices[:, 1::2])
        if matrices.shape[1] == 1:
            alpha = _log_matmul(alpha, matrices[:, 0])
        return torch.logsumexp(alpha.squeeze(1) + self.end, dim=1)

    def nll(self, emissions: torch.Tensor, tags: torch.Tensor) -> torch.Tensor:
        """Negative log-likelihood ``-log p(tags | emissions)`` per sequence: float (B,)."""
        return self.log_partition(emissions) - self.score(emissions, tags)

    @torch.no_grad()
    def decode(self, emissions: torch.Tensor) -> torch.Tensor:
        """Viterbi: the highest-scoring tag sequence, int64 (B, L), from emissions (B, L, 2).

        Ties go to the lower tag (0) at every step.
        """
        self._check(emissions)
        batch, length, _ = emissions.shape
        best = self.start + emissions[:, 0]
        back = torch.empty(batch, length, self.n_tags, dtype=torch.long)
        for t in range(1, length):
            candidates = best.unsqueeze(2) + self.transitions  # (B, from, to)
            best, back[:, t] = candidates.max(dim=1)
            best = best + emissions[:, t]
        tags = torch.empty(batch, length, dtype=torch.long)
        tags[:, -1] = (best + self.end).argmax(dim=1)
        for t in range(length - 1, 0, -1):
            tags[:, t - 1] = back[:, t].gather(1, tags[:, t:t + 1]).squeeze(1)
        return tags

    def extra_repr(self) -> str:
        return "tags=2 (0 unbound, 1 bound)"


def _nll_mean(crf: LinearChainCRF, emissions: torch.Tensor, tags: torch.Tensor,
              batch_size: int) -> float:
    total = 0.0
    with torch.no_grad():
        for begin in range(0, len(emissions), batch_size):
            total += float(crf.nll(emissions[begin:begin + batch_size],
                                   tags[begin:begin + batch_size]).sum())
    return total / max(len(emissions), 1)


def train_crf(
    train: tuple[np.ndarray, np.ndarray],
    select: tuple[np.ndarray, np.ndarray],
    lr: float = 1e-4,
    steps: int = 1000,
    batch_size: int = 64,
    eval_every: int = 50,
    seed: int = 0,
    class_prior: tuple[float, float] | None = None,
    progress: bool = False,
    callback: Callable[[int, float, float], None] | None = None,
) -> tuple[LinearChainCRF, pd.DataFrame]:
    """Fit a CRF by Adam on the exact NLL; keep the parameters with the lowest selection NLL.

    Parameters
    ----------
    train, select : (probabilities float (n, L), labels 0/1 (n, L))
        Sequences to fit on and to select the checkpoint by.
    lr, steps, batch_size, eval_every, seed
        Adam learning rate, optimiser steps, sequences per step, steps between evaluations
        of the selection NLL, and the seed of the batch sampler.
    class_prior : (float, float) or None
        Per-class log frequency subtracted from the emissions; None computes it from the
        training labels.

    Returns
    -------
    crf : LinearChainCRF
        The best checkpoint, with ``crf.class_log_prior`` set.
    history : DataFrame
        step, train_nll (mean per sequence over the steps since the last evaluation),
        select_nll (mean per sequence), best (bool).
    """
    train_p, train_y = (np.asarray(a) for a in train)
    select_p, select_y = (np.asarray(a) for a in select)
    if len(train_p) == 0 or len(select_p) == 0:
        raise ValueError("CRF training needs at least one training and one selection sequence")
    if class_prior is None:
        class_prior = class_log_prior(float(train_y.mean()))
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    train_e = emissions_from_probabilities(train_p, class_prior)
    train_t = torch.as_tensor(train_y.astype(np.int64))
    select_e = emissions_from_probabilities(select_p, class_prior)
    select_t = torch.as_tensor(select_y.astype(np.int64))

    crf = LinearChainCRF()
    optimiser = torch.optim.Adam(crf.parameters(), lr=lr)
    best_nll = _nll_mean(crf, select_e, select_t, batch_size)
    best_state = copy.deepcopy(crf.state_dict())
    rows = [{"step": 0, "train_nll": math.nan, "select_nll": best_nll, "best": True}]
    running, seen = 0.0, 0
    for step in tqdm(range(1, steps + 1), desc="CRF", disable=not progress, mininterval=5):
        index = torch.randint(len(train_e), (min(batch_size, len(train_e)),),
                              generator=generator)
        loss = crf.nll(train_e[index], train_t[index]).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        running, seen = running + float(loss.detach()), seen + 1
        if step % eval_every == 0 or step == steps:
            nll = _nll_mean(crf, select_e, select_t, batch_size)
            improved = nll < best_nll
            if improved:
                best_nll, best_state = nll, copy.deepcopy(crf.state_dict())
            rows.append({"step": step, "train_nll": running / seen, "select_nll": nll,
                         "best": improved})
            if callback is not None:
                callback(step, running / seen, nll)
            running, seen = 0.0, 0
    crf.load_state_dict(best_state)
    crf.class_log_prior = class_prior
    history = pd.DataFrame(rows)
    # Only the last improvement is the checkpoint kept.
    history["best"] = False
    history.loc[history.index[history["select_nll"] == best_nll][-1], "best"] = True
    return crf, history


def crf_calls(crf: LinearChainCRF, probabilities: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """Viterbi calls: uint8 (m, L) from P(bound) float (m, L), in batches."""
    prior = getattr(crf, "class_log_prior", (0.0, 0.0))
    out = np.empty(np.shape(probabilities), dtype=np.uint8)
    for begin in range(0, len(out), batch_size):
        emissions = emissions_from_probabilities(probabilities[begin:begin + batch_size], prior)
        out[begin:begin + batch_size] = crf.decode(emissions).numpy().astype(np.uint8)
    return out


def save_crf(crf: LinearChainCRF, path: PathLike) -> None:
    """Write the parameters and the class prior (torch format), atomically."""
    with atomic_output(path, suffix=".pt") as tmp:
        torch.save({"state_dict": crf.state_dict(),
                    "class_log_prior": list(getattr(crf, "class_log_prior", (0.0, 0.0)))}, tmp)


def load_crf(path: PathLike) -> LinearChainCRF:
    """Read a CRF written by :func:`save_crf`."""
    saved = torch.load(path, map_location="cpu", weights_only=True)
    crf = LinearChainCRF()
    crf.load_state_dict(saved["state_dict"])
    crf.class_log_prior = tuple(float(v) for v in saved["class_log_prior"])
    return crf


def sample_sequences(
    predictions: PathLike, data: PathLike, label_set: str, select_fraction: float,
    max_sequences: int, seed: int, block_size: int,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    with h5py.File(predictions, "r") as handle, open_dataset(data) as dataset:
        conditions = sorted(handle["prob"].keys())
        check_predictions(predictions, data, handle, dataset, conditions)
        n = dataset.n_examples
        if n < 2:
            raise PredictionError(f"{predictions}: CRF training needs at least 2 examples")
        selecting = rng.random(n) < select_fraction
        if selecting.all() or not selecting.any():  # keep both parts non-empty
            selecting[:] = False
            selecting[rng.integers(n)] = True
        # Sample (condition, example) pairs uniformly within each part, at most max_sequences
        # for fitting and a quarter as many for selection.
        parts = {}
        for name, mask, cap in (("fit", ~selecting, max_sequences),
                                ("select", selecting, max(1, max_sequences // 4))):
            examples = np.flatnonzero(mask)
            total = len(conditions) * len(examples)
            # Pair number k is (condition k // n, example k % n); draw pairs without listing them.
            chosen = np.sort(rng.choice(total, min(cap, total), replace=False))
            parts[name] = np.stack([chosen // len(examples), examples[chosen % len(examples)]],
                                   axis=1)
        out = {name: ([], []) for name in parts}
        for index, condition in enumerate(tqdm(conditions, desc="CRF data", unit="condition")):
            rows = {name: pairs[pairs[:, 0] == index, 1] for name, pairs in parts.items()}
            for start, p, y in iter_blocks(handle, dataset, condition, label_set, block_size):
                for name, wanted in rows.items():
                    local = wanted[(wanted >= start) & (wanted < start + len(p))] - start
                    if len(local):
                        out[name][0].append(p[local])
                        out[name][1].append(y[local])
    fit, select = ((np.concatenate(out[name][0]), np.concatenate(out[name][1]))
                   for name in ("fit", "select"))
    return fit, select


def fit_crf(
    predictions: PathLike,
    data: PathLike,
    label_set: str = "conserved",
    lr: float = 1e-4,
    steps: int = 1000,
    batch_size: int = 64,
    eval_every: int = 50,
    select_fraction: float = 0.2,
    max_sequences: int = 4000,
    seed: int = 0,
    block_size: int = 1024,
) -> tuple[LinearChainCRF, pd.DataFrame]:
    """Train the CRF on a predictions file (see the module docstring for the data used).

    Returns the best CRF and its training history (:func:`nettime.crf.train_crf`).
    """
    fit, select = sample_sequences(predictions, data, label_set, select_fraction,
                                    max_sequences, seed, block_size)
    return train_crf(fit, select, lr=lr, steps=steps, batch_size=batch_size,
                            eval_every=eval_every, seed=seed, progress=True)


def build_crf(predictions: PathLike, data: PathLike, settings: Mapping[str, Any],
              out: PathLike, history_out: PathLike | None = None,
              threads: int = 1) -> pd.DataFrame:
    """``results/classify/{model}/crf.pt`` and its training history (when ``history_out`` is
    given): :func:`fit_crf` with the ``classify:`` settings (``crf:`` holds the CRF's own).
    Returns the history."""
    torch.set_num_threads(threads)
    crf = settings["crf"]
    model, history = fit_crf(predictions, data, label_set=settings["label_set"], lr=crf["lr"],
                             steps=crf["steps"], batch_size=crf["batch_size"],
                             eval_every=crf["eval_every"],
                             select_fraction=crf["select_fraction"],
                             max_sequences=crf["max_sequences"], seed=crf["seed"],
                             block_size=settings["block_size"])
    if history_out is not None:
        with atomic_output(history_out) as tmp:
            history.to_csv(tmp, sep="\t", index=False)
    save_crf(model, out)
    best = history[history["best"]].iloc[0]
    print(f"best CRF at step {int(best['step'])}: selection NLL {best['select_nll']:.3f}; "
          f"{ {k: v.tolist() for k, v in model.state_dict().items()} }", file=sys.stderr)
    return history
