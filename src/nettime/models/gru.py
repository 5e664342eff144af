"""A bidirectional GRU recurrence for CPU with a hand-written backward pass.

``torch.nn.GRU`` on CPU records a dozen autograd nodes per time step and direction; at
L = 1000 that bookkeeping, not arithmetic, dominates a training step. Here a step is a few
plain operations (both directions batched into each, or one thread per direction: see
Threads), and the backward pass walks the sequence once with a few operations per step. The arithmetic is that of ``nn.GRU`` (gate order r, z, n;
``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``); results agree to rounding.

Memory: the sequence is processed in blocks of ``chunk`` time steps, and only the input
(B, I, L) and the output (B, 2H, L) are kept for the backward pass (both are kept by the
neighbouring layers anyway). The input projection ``W_ih x + b_ih`` is formed one block at a
time, in the forward pass and again in the backward pass; the gates of a block are recomputed
from the saved hidden states with one large matmul, since every step's previous state is known.
That leaves only the truly sequential part (the hidden-state gradient) to the per-step loop,
four small operations per step.

Threads: the per-step loop is made of operations far too small to share between threads; with
OpenMP every one of them wakes the idle threads (a futex round trip each under
``OMP_WAIT_POLICY=PASSIVE``, which the pipeline sets), which made a step slower on two threads
than on one. When two or more threads are allowed, the two directions instead run side by side
on two Python threads with one intra-op thread each (torch releases the GIL inside operations).
The block-wide matmuls around the loops keep all threads. Each direction's arithmetic is the
same whichever thread runs it, so results do not depend on scheduling.

Layouts: activations are channels-first (B, C, L), as in the rest of the model. Inside a block
tensors are direction-major (2, T, B, .), where step t of direction 1 is position L - 1 - t.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from functools import partial
from typing import Any

import torch
from torch import nn

#: Time steps per block; the transient memory of the recurrence is proportional to it.
CHUNK = 50

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _direction_pool() -> ThreadPoolExecutor:
    """Two worker threads, one per direction, each limited to one intra-op thread."""
    global _pool
    with _pool_lock:
        if _pool is None:
            threads = torch.get_num_threads()
            started = threading.Barrier(3)

            def start_worker() -> None:
                # torch sets up a thread's OpenMP/MKL settings lazily, on its first query, from
                # the process-wide count; do that first, then limit this thread alone.
                torch.get_num_threads()
                torch.set_num_threads(1)
                started.wait()

            pool = ThreadPoolExecutor(2, thread_name_prefix="nettime-gru")
            for _ in range(2):
                pool.submit(start_worker)
            started.wait()
            # torch.set_num_threads also records the count for threads started later; put back
            # the caller's.
            torch.set_num_threads(threads)
            _pool = pool
        return _pool


def _forget_pool() -> None:
    # A forked child has none of the parent's threads.
    global _pool
    _pool = None


os.register_at_fork(after_in_child=_forget_pool)


def _by_direction(fn: Callable[[slice], Any]) -> None:
    """Run ``fn(directions)`` for both directions: batched, or one thread per direction.

    ``fn`` takes a slice of the leading direction axis (``0:2``, or ``0:1`` and ``1:2``) and
    writes its results into preallocated tensors.
    """
    if torch.get_num_threads() < 2:
        fn(slice(0, 2))
        return
    # Grad and inference modes and autocast are per thread; the workers take the caller's.
    grad = torch.is_grad_enabled()
    inference = torch.is_inference_mode_enabled()
    autocast = torch.is_autocast_enabled("cpu")
    dtype = torch.get_autocast_dtype("cpu")

    def run(directions: slice) -> None:
        with torch.inference_mode(inference), torch.set_grad_enabled(grad), \
                torch.autocast("cpu", dtype, enabled=autocast):
            fn(directions)

    futures = [_direction_pool().submit(run, slice(d, d + 1)) for d in (0, 1)]
    # Both finish before an error of either is raised: neither may still be writing then.
    wait(futures)
    for future in futures:
        future.result()


def _input_steps(x: torch.Tensor, t0: int, t1: int) -> torch.Tensor:
    """Steps t0..t1-1 of (B, C, L) for both directions: (2, T, B, C) (a copy)."""
    batch, channels, length = x.shape
    out = x.new_empty(2, t1 - t0, batch, channels)
    out[0] = x[:, :, t0:t1].permute(2, 0, 1)
    out[1] = x[:, :, length - t1:length - t0].flip(2).permute(2, 0, 1)
    return out


def _state_steps(seq: torch.Tensor, t0: int, t1: int) -> torch.Tensor:
    """Steps t0..t1-1 of (B, 2W, L), direction d taking channels d*W..(d+1)*W: (2, T, B, W)."""
    batch, two_w, length = seq.shape
    width = two_w // 2
    out = seq.new_empty(2, t1 - t0, batch, width)
    out[0] = seq[:, :width, t0:t1].permute(2, 0, 1)
    out[1] = seq[:, width:, length - t1:length - t0].flip(2).permute(2, 0, 1)
    return out


def _project(x: torch.Tensor, w_ih: torch.Tensor, b_ih: torch.Tensor, t0: int, t1: int
             ) -> tuple[torch.Tensor, torch.Tensor]:
    """Input steps (2, T, B, I) and their projections W_ih x + b_ih, (2, T, B, 3H)."""
    xs = _input_steps(x, t0, t1)
    _, steps, batch, width = xs.shape
    gi = torch.baddbmm(b_ih[:, None], xs.view(2, steps * batch, width), w_ih.transpose(1, 2))
    return xs, gi.view(2, steps, batch, -1)


def _chunks(length: int, chunk: int) -> list[tuple[int, int]]:
    return [(t0, min(t0 + chunk, length)) for t0 in range(0, length, chunk)]


def _steps_forward(d: slice, gi: torch.Tensor, h: torch.Tensor, w_rz: torch.Tensor,
                   w_n: torch.Tensor, b_n: torch.Tensor, hs: torch.Tensor) -> None:
    """The steps of one block for directions ``d``, written to ``hs``.

    ``gi`` (2, T, B, 3H) input projections, with ``b_hh``'s r and z parts already added;
    ``h`` (2, B, H) the state before the block; ``w_rz`` (2, H, 2H), ``w_n`` (2, H, H) the
    recurrent weights, transposed, and ``b_n`` (2, 1, H) the n part of ``b_hh``; ``hs``
    (2, T, B, H) receives the states.
    """
    # Every view is made before the loop: a step is then eight calls, which matters because
    # the Python side of each call holds the GIL that the other direction's thread waits for.
    hidden = hs.shape[-1]
    gi_rz = gi[d, ..., :2 * hidden].unbind(1)
    gi_n = gi[d, ..., 2 * hidden:].unbind(1)
    w_rz, w_n, b_n, h = w_rz[d], w_n[d], b_n[d], h[d]
    for g_rz, g_n, out in zip(gi_rz, gi_n, hs[d].unbind(1), strict=True):
        r, z = torch.baddbmm(g_rz, h, w_rz).sigmoid_().chunk(2, -1)
        n = torch.addcmul(g_n, r, torch.baddbmm(b_n, h, w_n)).tanh_()
        h = torch.addcmul(n, z, h - n, out=out)


def _steps_backward(d: slice, dh: torch.Tensor, grad_steps: torch.Tensor, coef: torch.Tensor,
                    z: torch.Tensor, w_hh: torch.Tensor, dhs: torch.Tensor, dgh: torch.Tensor,
                    dh_before: torch.Tensor) -> None:
    """The hidden-state gradient through one block, last step first, for directions ``d``.

    ``dh`` (2, B, H) the gradient arriving from the step after the block; ``grad_steps``
    (2, T, B, H) the output gradients; ``coef`` (2, T, B, 3, H) and ``z`` (2, T, B, H) from the
    recomputed gates; ``w_hh`` (2, 3H, H). Written: ``dhs`` (2, T, B, H) the total gradient of
    each step's state, ``dgh`` (2, T, B, 3H) that of ``W_hh h + b_hh``, ``dh_before`` (2, B, H)
    the gradient passed to the step before the block.
    """
    batch, hidden = dh.shape[1:]
    steps = grad_steps.shape[1]
    views = zip(grad_steps[d].unbind(1), dhs[d].unbind(1), coef[d].unbind(1), z[d].unbind(1),
                dgh[d].view(-1, steps, batch, 3, hidden).unbind(1), dgh[d].unbind(1),
                strict=True)
    w_hh, dh_d = w_hh[d], dh[d]
    for grad, total, coef_t, z_t, dgh_gates, dgh_t in reversed(list(views)):
        dh_d = torch.add(dh_d, grad, out=total)
        torch.mul(coef_t, dh_d.unsqueeze(2), out=dgh_gates)
        dh_d = torch.baddbmm(dh_d * z_t, dgh_t, w_hh)
    dh_before[d] = dh_d


def _forward(x: torch.Tensor, w_ih: torch.Tensor, b_ih: torch.Tensor, w_hh: torch.Tensor,
             b_hh: torch.Tensor, h0: torch.Tensor, chunk: int) -> torch.Tensor:
    """The recurrence over channels-first ``x`` (B, I, L): hidden states (B, 2H, L).

    ``w_ih`` (2, 3H, I), ``b_ih`` (2, 3H), ``w_hh`` (2, 3H, H), ``b_hh`` (2, 3H), ``h0``
    (2, B, H); index 0 is the forward direction, 1 the reverse one.
    """
    batch, _, length = x.shape
    hidden = w_hh.shape[2]
    y = x.new_empty(batch, 2 * hidden, length)
    # Contiguous once here, or every matmul below would copy its weight operand.
    w_rz = w_hh[:, :2 * hidden].transpose(1, 2).contiguous()
    w_n = w_hh[:, 2 * hidden:].transpose(1, 2).contiguous()
    b_n = b_hh[:, None, 2 * hidden:].contiguous()
    # The r and z gates only ever see b_ih + b_hh: one bias, added with the projection.
    b_gi = torch.cat([b_ih[:, :2 * hidden] + b_hh[:, :2 * hidden], b_ih[:, 2 * hidden:]], 1)
    h = h0
    for t0, t1 in _chunks(length, chunk):
        gi = _project(x, w_ih, b_gi, t0, t1)[1]
        hs = x.new_empty(2, t1 - t0, batch, hidden)
        _by_direction(partial(_steps_forward, gi=gi, h=h, w_rz=w_rz, w_n=w_n, b_n=b_n, hs=hs))
        h = hs[:, -1]
        y[:, :hidden, t0:t1] = hs[0].permute(1, 2, 0)
        y[:, hidden:, length - t1:length - t0] = hs[1].flip(0).permute(1, 2, 0)
    return y


class _BiGRUFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w_ih, b_ih, w_hh, b_hh, h0, chunk):  # type: ignore[override]
        y = _forward(x, w_ih, b_ih, w_hh, b_hh, h0, chunk)
        ctx.chunk = chunk
        ctx.save_for_backward(x, y, w_ih, b_ih, w_hh, b_hh, h0)
        return y

    @staticmethod
    def backward(ctx, grad_y):  # type: ignore[override]
        x, y, w_ih, b_ih, w_hh, b_hh, h0 = ctx.saved_tensors
        batch, _, length = y.shape
        hidden = w_hh.shape[2]
        w_hh_t = w_hh.transpose(1, 2).contiguous()  # (2, H, 3H)
        dx = torch.zeros_like(x)
        dw_ih, db_ih = torch.zeros_like(w_ih), torch.zeros_like(b_ih)
        dw_hh, db_hh = torch.zeros_like(w_hh), torch.zeros_like(b_hh)
        dh = torch.zeros_like(h0)
        for t0, t1 in reversed(_chunks(length, ctx.chunk)):
            steps = t1 - t0
            rows = steps * batch
            xs, gi = _project(x, w_ih, b_ih, t0, t1)
            # Previous states of steps t0..t1-1: h0 or the outputs of steps t0-1..t1-2.
            if t0 == 0:
                h_prev = torch.cat([h0[:, None], _state_steps(y, 0, t1 - 1)], dim=1)
            else:
                h_prev = _state_steps(y, t0 - 1, t1 - 1)
            # The gates of the whole block at once: W_hh h + b_hh for every step in one matmul.
            gh = torch.baddbmm(b_hh[:, None], h_prev.view(2, rows, hidden), w_hh_t)
            gh = gh.view(2, steps, batch, 3 * hidden)
            rz = torch.add(gi[..., :2 * hidden], gh[..., :2 * hidden]).sigmoid_()
            r, z = rz[..., :hidden], rz[..., hidden:]
            ghn = gh[..., 2 * hidden:]
            n = torch.addcmul(gi[..., 2 * hidden:], r, ghn).tanh_()
            # With dh the gradient of a step's output, the pre-activation gradients are dh
            # times these coefficients: a = (1 - z)(1 - n^2) for n, (h_prev - n) z (1 - z) for
            # z, a * ghn * r (1 - r) for r; and a * r for W_hn h + b_hn.
            a = (1 - z).mul_(1 - n * n)
            coef = x.new_empty(2, steps, batch, 3, hidden)
            torch.mul(a * ghn, r * (1 - r), out=coef[..., 0, :])
            torch.mul(h_prev - n, z * (1 - z), out=coef[..., 1, :])
            torch.mul(a, r, out=coef[..., 2, :])
            grad_steps = _state_steps(grad_y, t0, t1)
            dgh = x.new_empty(2, steps, batch, 3 * hidden)
            dhs = x.new_empty(2, steps, batch, hidden)
            dh_before = torch.empty_like(dh)
            _by_direction(partial(_steps_backward, dh=dh, grad_steps=grad_steps, coef=coef, z=z,
                                  w_hh=w_hh, dhs=dhs, dgh=dgh, dh_before=dh_before))
            dh = dh_before
            dgh_rows = dgh.view(2, rows, 3 * hidden)
            dw_hh.baddbmm_(dgh_rows.transpose(1, 2), h_prev.view(2, rows, hidden))
            db_hh.add_(dgh_rows.sum(1))
            # The projection's gradient equals dgh except in the n block (dh * a, not * a * r).
            torch.mul(dhs, a, out=dgh[..., 2 * hidden:])
            dw_ih.baddbmm_(dgh_rows.transpose(1, 2), xs.view(2, rows, -1))
            db_ih.add_(dgh_rows.sum(1))
            dxs = torch.bmm(dgh_rows, w_ih).view(2, steps, batch, -1)
            dx[:, :, t0:t1] += dxs[0].permute(1, 2, 0)
            dx[:, :, length - t1:length - t0] += dxs[1].flip(0).permute(1, 2, 0)
        return dx, dw_ih, db_ih, dw_hh, db_hh, dh, None


def bigru_channels(gru: nn.GRU, x: torch.Tensor, h0: torch.Tensor,
                   chunk: int = CHUNK) -> torch.Tensor:
    """Bidirectional single-layer GRU with ``gru``'s parameters on channels-first inputs.

    Parameters
    ----------
    gru
        An ``nn.GRU(I, H, batch_first=True, bidirectional=True)`` holding the weights.
    x
        (B, I, L) inputs (any strides).
    h0
        (2, B, H) initial states (forward, reverse).
    chunk
        Time steps per block (memory only; the result does not depend on it beyond rounding).

    Returns
    -------
    torch.Tensor
        (B, 2H, L), contiguous: forward states in channels 0..H-1, reverse in H..2H-1; equal to
        ``gru(x.transpose(1, 2), h0)[0].transpose(1, 2)`` up to rounding.
    """
    w_ih = torch.stack([gru.weight_ih_l0, gru.weight_ih_l0_reverse])  # (2, 3H, I)
    b_ih = torch.stack([gru.bias_ih_l0, gru.bias_ih_l0_reverse])
    w_hh = torch.stack([gru.weight_hh_l0, gru.weight_hh_l0_reverse])  # (2, 3H, H)
    b_hh = torch.stack([gru.bias_hh_l0, gru.bias_hh_l0_reverse])
    h0 = h0.contiguous()
    tensors = (x, w_ih, b_ih, w_hh, b_hh, h0)
    if torch.is_grad_enabled() and any(t.requires_grad for t in tensors):
        return _BiGRUFunction.apply(*tensors, chunk)
    return _forward(*tensors, chunk)


def bigru(gru: nn.GRU, x: torch.Tensor, h0: torch.Tensor, chunk: int = CHUNK) -> torch.Tensor:
    """:func:`bigru_channels` on batch-first (B, L, I) inputs, like ``gru(x, h0)[0]``.

    Returns (B, L, 2H) (a transposed view of a channels-first result).
    """
    return bigru_channels(gru, x.transpose(1, 2), h0, chunk).transpose(1, 2)
