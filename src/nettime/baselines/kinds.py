"""The model kinds of the registry, by name: the module that trains a kind's models on the data
sets and the module that writes their predictions file.

Each module has ``train_registry_model(params, config, train_path, valid_path, init_path,
model_out, spec_out, threads=None, progress=True)`` and ``predict_with_settings(model_path,
data_path, out_path, conditions, model_name, split, config, variant=None, threads=None,
progress=True)``. A new baseline is one module with these two functions and one entry here
(and its name in :data:`nettime.models.registry.MODEL_KINDS`).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

#: Kind -> (training module, prediction module).
KINDS: dict[str, tuple[str, str]] = {
    "nettime": ("nettime.models.fit", "nettime.models.prediction"),
    "leopard": ("nettime.baselines.leopard", "nettime.baselines.leopard"),
    "catchitt": ("nettime.baselines.catchitt", "nettime.baselines.catchitt"),
    "deepbind": ("nettime.baselines.deepbind", "nettime.baselines.deepbind"),
}


def _module(kind: str, role: int) -> ModuleType:
    if kind not in KINDS:
        raise ValueError(f"unknown model kind {kind!r}; kinds: {', '.join(KINDS)}")
    return importlib.import_module(KINDS[kind][role])


def checkpoint_kind(model_path: str | Path) -> str:
    """The kind recorded in a model checkpoint (NetTIME's checkpoints record none)."""
    import torch

    saved = torch.load(model_path, map_location="cpu", weights_only=False)
    return str(saved.get("kind", "nettime")) if isinstance(saved, dict) else "nettime"


def train_registry_model(params: Mapping[str, Any], *args: Any, **kwargs: Any) -> Any:
    """What the ``train_model`` rule runs: the trainer of the spec's kind (``params["spec"]``
    records it; a spec without one is NetTIME's)."""
    kind = params["spec"].get("kind", "nettime")
    return _module(kind, 0).train_registry_model(params, *args, **kwargs)


def predict_with_settings(model_path: str | Path, *args: Any, **kwargs: Any) -> None:
    """What the ``predict`` rules run: the predictor of the checkpoint's kind."""
    _module(checkpoint_kind(model_path), 1).predict_with_settings(model_path, *args, **kwargs)
