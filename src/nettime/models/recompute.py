"""Activation recomputation for CPU training: keep recipes instead of elementwise activations.

Elementwise results (BatchNorm + ReLU / Tanh, residual add, dropout) are cheap to rebuild from
the convolution and GRU outputs that their own backward passes keep anyway. :class:`Recompute`
installs saved-tensor hooks that store a recipe instead of each marked tensor, which roughly
halves the activations held for the backward pass with the same arithmetic (the tests compare
outputs, gradients, weights and BatchNorm running statistics with the plain graph).
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn


class _Recipe:
    """How to rebuild an activation from tensors that are kept anyway (or from other recipes).

    ``uses`` counts the saved references and the recipes that will ask for the value; a value
    unpacked for a saved reference is cached until the last of them has had it, then dropped.
    (Should a value be asked for again, e.g. with ``retain_graph``, it is recomputed.)
    """

    __slots__ = ("fn", "sources", "value", "stride", "uses")

    def __init__(self, fn: Any, sources: tuple[Any, ...], stride: tuple[int, ...]):
        self.fn, self.sources, self.value, self.stride, self.uses = fn, sources, None, stride, 0
        for source in sources:
            if isinstance(source, _Recipe):
                source.uses += 1

    def get(self, keep: bool = True) -> torch.Tensor:
        """The value; with ``keep`` it stays cached while further uses are expected."""
        value = self.value
        if value is None:
            with torch.no_grad():
                # A source's value is not kept for its own later uses: those may come much
                # later in the backward pass, and rebuilding is cheaper than holding it.
                value = self.fn(*(s.get(keep=False) if isinstance(s, _Recipe) else s
                                  for s in self.sources))
            if value.stride() != self.stride:
                raise RuntimeError("a recomputed activation has a different memory layout")
        self.uses -= 1
        self.value = value if keep and self.uses > 0 else None
        return value


class _View:
    """A saved view (shape, strides, offset) of a recomputed activation."""

    __slots__ = ("recipe", "size", "stride", "offset")

    def __init__(self, recipe: _Recipe, size: Any, stride: Any, offset: int):
        self.recipe, self.size, self.stride, self.offset = recipe, size, stride, offset

    def get(self) -> torch.Tensor:
        base = self.recipe.get()
        return base.as_strided(self.size, self.stride, base.storage_offset() + self.offset)


class Recompute:
    """Saved-tensor hooks that keep recipes instead of selected (marked) activations.

    Elementwise results (BatchNorm + ReLU / Tanh, residual add, dropout) are cheap to rebuild
    from the convolution and GRU outputs that their own backward passes keep anyway; storing a
    recipe instead of each such tensor roughly halves the activations held for the backward
    pass. A packed tensor is matched to a marked one by storage, checked through a weak
    reference to the marked tensor (so a reused address never matches a dead tensor); views of
    a marked tensor are rebuilt as views of its recomputed value. BatchNorm is rebuilt from the
    batch statistics with no running statistics, so those are updated once per step, in the
    forward pass; dropout masks are kept as booleans and rebuilt bit-exactly.
    """

    def __init__(self) -> None:
        self._marked: dict[int, tuple[weakref.ref, _Recipe]] = {}

    def mark(self, tensor: torch.Tensor, fn: Any, *sources: torch.Tensor) -> torch.Tensor:
        recipe = _Recipe(fn, tuple(self._source(s) for s in sources), tensor.stride())
        self._marked[tensor.untyped_storage().data_ptr()] = (weakref.ref(tensor), recipe)
        return tensor

    def _lookup(self, tensor: torch.Tensor) -> tuple[torch.Tensor, _Recipe] | None:
        entry = self._marked.get(tensor.untyped_storage().data_ptr())
        if entry is None:
            return None
        marked = entry[0]()
        if marked is None or marked.untyped_storage().data_ptr() != \
                tensor.untyped_storage().data_ptr():
            return None
        return marked, entry[1]

    def _source(self, tensor: torch.Tensor) -> torch.Tensor | _Recipe:
        found = self._lookup(tensor)
        if found is None:
            return tensor
        marked, recipe = found
        if tensor.shape != marked.shape or tensor.stride() != marked.stride() or \
                tensor.storage_offset() != marked.storage_offset():
            raise RuntimeError("a recipe source must be the marked tensor itself")
        return recipe

    def pack(self, tensor: torch.Tensor) -> Any:
        found = self._lookup(tensor)
        if found is None:
            return tensor
        marked, recipe = found
        recipe.uses += 1
        if tensor.shape == marked.shape and tensor.stride() == marked.stride() and \
                tensor.storage_offset() == marked.storage_offset():
            return recipe
        return _View(recipe, tensor.size(), tensor.stride(),
                     tensor.storage_offset() - marked.storage_offset())

    @staticmethod
    def unpack(packed: Any) -> torch.Tensor:
        return packed.get() if isinstance(packed, _Recipe | _View) else packed

    @contextlib.contextmanager
    def hooks(self) -> Iterator[None]:
        try:
            with torch.autograd.graph.saved_tensors_hooks(self.pack, self.unpack):
                yield
        finally:
            # The recipes now live only in the graph; nothing here may keep their values alive.
            self._marked.clear()


def mark(rec: Recompute | None, tensor: torch.Tensor, fn: Any,
          *sources: torch.Tensor) -> torch.Tensor:
    return tensor if rec is None else rec.mark(tensor, fn, *sources)


def batch_norm_batch_stats(bn: nn.BatchNorm1d, x: torch.Tensor) -> torch.Tensor:
    """``bn`` in training mode on ``x`` with batch statistics, running statistics untouched."""
    return nn.functional.batch_norm(x, None, None, bn.weight, bn.bias, True, 0.0, bn.eps)


def bn_then(bn: nn.BatchNorm1d, act: Any) -> Any:
    return lambda x: act(batch_norm_batch_stats(bn, x))


def bn_add_relu(bn: nn.BatchNorm1d) -> Any:
    return lambda x, residual: batch_norm_batch_stats(bn, x).add_(residual).relu_()


def dropout(x: torch.Tensor, layer: nn.Dropout, rec: Recompute | None = None,
             rebuild: bool = True) -> torch.Tensor:
    # Dropout(0.0) is the identity; skipping it saves a mask and a copy per call.
    if layer.p == 0 or not layer.training:
        return x
    if rec is None:
        return layer(x)
    # The arithmetic and random draws of F.dropout on CPU (noise = bernoulli(1 - p) / (1 - p),
    # x * noise), with the noise kept as a boolean mask.
    scale, dtype = 1 - layer.p, x.dtype  # (the recipe must not hold on to x itself)
    noise = torch.empty_like(x).bernoulli_(scale)
    keep = noise.bool()
    noise = mark(rec, noise.div_(scale), lambda k: k.to(dtype).div_(scale), keep)
    return mark(rec if rebuild else None, x * noise, torch.mul, x, noise)
