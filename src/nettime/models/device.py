"""Where and how torch runs: the device (``cpu``, ``cuda`` or ``auto``), autocast, moving batches,
and the seeding and RNG state that make a resumed run continue exactly where it stopped."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch


class DeviceError(RuntimeError):
    """A device was asked for that this machine does not have, or is not known."""


def resolve_device(name: str) -> torch.device:
    """``cpu``, ``cuda`` or ``auto`` -> a device; ``auto`` never touches CUDA without a GPU."""
    if name == "cpu":
        return torch.device("cpu")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError("device 'cuda' was asked for but no CUDA GPU is available; "
                              "use device 'auto' or 'cpu'")
        return torch.device("cuda")
    raise DeviceError(f"unknown device {name!r}; use cpu, cuda or auto")


def autocast(device: torch.device, amp: bool, cpu_bf16: bool = False) -> Any:
    """float16 autocast on CUDA with ``amp``; bfloat16 on CPU only when asked (inference)."""
    if device.type == "cuda" and amp:
        return torch.autocast("cuda", dtype=torch.float16)
    if device.type == "cpu" and cpu_bf16:
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return torch.autocast(device.type, enabled=False)


def to_device(batch: Mapping[str, Any], device: torch.device) -> dict[str, torch.Tensor]:
    """The tensors of a batch dict on ``device`` (non-tensor entries are dropped)."""
    non_blocking = device.type == "cuda"
    return {k: v.to(device, non_blocking=non_blocking) for k, v in batch.items()
            if isinstance(v, torch.Tensor)}


def rng_state() -> dict[str, Any]:
    """The RNG states of torch (and CUDA), numpy and Python's ``random``."""
    # numpy's legacy global generator is saved on purpose: other code may draw from it.
    state = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(),  # noqa: NPY002
             "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Mapping[str, Any]) -> None:
    """Restore states saved by :func:`rng_state`."""
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
