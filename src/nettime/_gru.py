"""A bidirectional GRU recurrence for CPU with a hand-written backward pass.

``torch.nn.GRU`` on CPU records a dozen autograd nodes per time step and direction; at
L = 1000 that bookkeeping, not arithmetic, dominates a training step. Here both directions
advance together in one batched matmul per step, and the backward pass walks the sequence once
with a few operations per step. The arithmetic is that of ``nn.GRU`` (gate order r, z, n;
``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``); results agree to rounding.

Memory: the sequence is processed in blocks of ``chunk`` time steps, and only the input
(B, I, L) and the output (B, 2H, L) are kept for the backward pass (both are kept by the
neighbouring layers anyway). The input projection ``W_ih x + b_ih`` is formed one block at a
time, in the forward pass and again in the backward pass; the gates of a block are recomputed
from the saved hidden states with one large matmul, since every step's previous state is known.
That leaves only the truly sequential part (the hidden-state gradient) to the per-step loop,
four small operations per step.

Layouts: activations are channels-first (B, C, L), as in the rest of the model. Inside a block
tensors are direction-major (2, T, B, .), where step t of direction 1 is position L - 1 - t.
"""

from __future__ import annotations

import torch
from torch import nn

#: Time steps per block; the transient memory of the recurrence is proportional to it.
CHUNK = 50


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
    b_rz = b_hh[:, None, :2 * hidden].contiguous()
    b_n = b_hh[:, None, 2 * hidden:].contiguous()
    h = h0
    for t0, t1 in _chunks(length, chunk):
        gi = _project(x, w_ih, b_ih, t0, t1)[1]
        hs = x.new_empty(2, t1 - t0, batch, hidden)
        for t in range(t1 - t0):
            g = gi[:, t]
            rz = torch.baddbmm(b_rz, h, w_rz).add_(g[..., :2 * hidden]).sigmoid_()
            ghn = torch.baddbmm(b_n, h, w_n)
            n = torch.addcmul(g[..., 2 * hidden:], rz[..., :hidden], ghn).tanh_()
            h = torch.addcmul(n, rz[..., hidden:], h - n, out=hs[:, t])
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
            for t in range(steps - 1, -1, -1):
                dh = torch.add(dh, grad_steps[:, t], out=dhs[:, t])
                g = torch.mul(coef[:, t], dh[:, :, None], out=dgh[:, t].view(2, batch, 3, hidden))
                dh = torch.baddbmm(dh * z[:, t], g.view(2, batch, 3 * hidden), w_hh)
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
