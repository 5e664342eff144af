"""A bidirectional GRU recurrence for CPU with a hand-written backward pass.

``torch.nn.GRU`` on CPU records a dozen autograd nodes per time step and direction; at
L = 1000 that bookkeeping, not arithmetic, dominates a training step. Here both directions
advance together in one batched matmul per step, the forward pass writes gate activations
straight into preallocated buffers, and the backward pass walks the sequence once with a few
operations per step, then forms the weight gradients in one large matmul. The arithmetic is
that of ``nn.GRU`` in float32 (gate order r, z, n; ``n = tanh(W_in x + b_in + r * (W_hn h +
b_hn))``); results agree to rounding.
"""

from __future__ import annotations

import torch
from torch import nn


def _to_steps(seq: torch.Tensor, width: int) -> torch.Tensor:
    """(B, L, 2W) -> (L, 2, B, W) with direction 1 reversed in time (one copy)."""
    batch, length, _ = seq.shape
    steps = seq.view(batch, length, 2, width).permute(1, 2, 0, 3)
    out = torch.empty(length, 2, batch, width, dtype=seq.dtype, device=seq.device)
    out[:, 0] = steps[:, 0]
    out[:, 1] = steps[:, 1].flip(0)
    return out


def _from_steps(steps: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`_to_steps`: (L, 2, B, W) -> (B, L, 2W) (one copy)."""
    length, _, batch, width = steps.shape
    out = torch.empty(batch, length, 2, width, dtype=steps.dtype, device=steps.device)
    out[:, :, 0] = steps[:, 0].transpose(0, 1)
    out[:, :, 1] = steps[:, 1].flip(0).transpose(0, 1)
    return out.view(batch, length, 2 * width)


def _recur(gi: torch.Tensor, w_hh: torch.Tensor, b_hh: torch.Tensor, h0: torch.Tensor,
           save: bool) -> tuple[torch.Tensor, ...]:
    """Run the recurrence over (L, 2, B, 3H) input projections ``gi``.

    ``w_hh`` (2, 3H, H), ``b_hh`` (2, 3H), ``h0`` (2, B, H). Returns the hidden states
    (L, 2, B, H) and, with ``save``, r|z (L, 2, B, 2H) and n (L, 2, B, H).
    Every per-step result is written straight into a contiguous slice of its buffer: strided
    copies cost more than the arithmetic at these sizes.
    """
    length, _, batch, three_h = gi.shape
    hidden = three_h // 3
    out = gi.new_empty(length, 2, batch, hidden)
    rz_all = gi.new_empty(length, 2, batch, 2 * hidden) if save else None
    n_all = gi.new_empty(length, 2, batch, hidden) if save else None
    # Contiguous once here, or every matmul below would copy its weight operand.
    w_rz = w_hh[:, :2 * hidden].transpose(1, 2).contiguous()
    w_n = w_hh[:, 2 * hidden:].transpose(1, 2).contiguous()
    b_rz = b_hh[:, None, :2 * hidden].contiguous()
    b_n = b_hh[:, None, 2 * hidden:].contiguous()
    h = h0
    for t in range(length):
        g = gi[t]
        rz = torch.baddbmm(b_rz, h, w_rz)
        rz = torch.sigmoid(rz.add_(g[..., :2 * hidden]), out=rz_all[t]) if save \
            else torch.sigmoid_(rz.add_(g[..., :2 * hidden]))
        ghn = torch.baddbmm(b_n, h, w_n)
        n = torch.addcmul(g[..., 2 * hidden:], rz[..., :hidden], ghn)
        n = torch.tanh(n, out=n_all[t]) if save else n.tanh_()
        h = torch.addcmul(n, rz[..., hidden:], h - n, out=out[t])
    if save:
        return out, rz_all, n_all
    return (out,)


class _BiGRUFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, gi, w_hh, b_hh, h0):  # type: ignore[override]
        hidden = w_hh.shape[2]
        out, rz_all, n_all = _recur(_to_steps(gi, 3 * hidden), w_hh, b_hh, h0, save=True)
        ctx.save_for_backward(out, rz_all, n_all, w_hh, b_hh, h0)
        return _from_steps(out)

    @staticmethod
    def backward(ctx, grad_seq):  # type: ignore[override]
        out, rz_all, n_all, w_hh, b_hh, h0 = ctx.saved_tensors
        length, _, batch, hidden = out.shape
        # W_hn h + b_hn is recomputed per step rather than kept: one small matmul per step
        # instead of L x B x 2H floats held from the forward pass to the backward pass.
        w_n = w_hh[:, 2 * hidden:].transpose(1, 2).contiguous()
        b_n = b_hh[:, None, 2 * hidden:].contiguous()
        grad_out = _to_steps(grad_seq.contiguous(), hidden)
        # Direction-major (2, L, B, .) so that the weight gradient is one plain matmul.
        dgh_all = out.new_empty(2, length, batch, 3 * hidden)  # dr|dz|r*dn (pre-activation)
        dn_all = out.new_empty(2, length, batch, hidden)
        dh = torch.zeros_like(h0)
        for t in range(length - 1, -1, -1):
            h_prev = out[t - 1] if t > 0 else h0
            dh = dh + grad_out[t]
            rz = rz_all[t]
            r, z = rz[..., :hidden], rz[..., hidden:]
            n = n_all[t]
            dn = (dh - dh * z).mul_(1 - n * n)  # d pre-activation of n
            ghn = torch.baddbmm(b_n, h_prev, w_n)
            d_rz = torch.cat([dn * ghn, dh * (h_prev - n)], dim=-1)
            d_rz.mul_(rz - rz * rz)  # sigmoid derivative, r and z together
            dgh = torch.cat([d_rz, dn * r], dim=-1)
            dgh_all[:, t] = dgh
            dn_all[:, t] = dn
            dh = torch.baddbmm(dh * z, dgh, w_hh)
        h_prev_all = out.new_empty(2, length, batch, hidden)
        h_prev_all[:, 0] = h0
        h_prev_all[:, 1:] = out[:-1].transpose(0, 1)
        d_w_hh = torch.bmm(dgh_all.view(2, -1, 3 * hidden).transpose(1, 2),
                           h_prev_all.view(2, -1, hidden))
        d_b_hh = dgh_all.sum(dim=(1, 2))
        # The input gradient equals dgh except in the n block (dn, not r * dn).
        dgh_all[..., 2 * hidden:] = dn_all
        return _from_steps(dgh_all.transpose(0, 1)), d_w_hh, d_b_hh, dh


def bigru(gru: nn.GRU, x: torch.Tensor, h0: torch.Tensor) -> torch.Tensor:
    """Bidirectional single-layer GRU with ``gru``'s parameters.

    Parameters
    ----------
    gru
        An ``nn.GRU(I, H, batch_first=True, bidirectional=True)`` holding the weights.
    x
        float32 (B, L, I) inputs.
    h0
        float32 (2, B, H) initial states (forward, reverse).

    Returns
    -------
    torch.Tensor
        float32 (B, L, 2H), equal to ``gru(x, h0)[0]`` up to rounding.
    """
    w_ih = torch.cat([gru.weight_ih_l0, gru.weight_ih_l0_reverse])  # (6H, I)
    b_ih = torch.cat([gru.bias_ih_l0, gru.bias_ih_l0_reverse])
    w_hh = torch.stack([gru.weight_hh_l0, gru.weight_hh_l0_reverse])  # (2, 3H, H)
    b_hh = torch.stack([gru.bias_hh_l0, gru.bias_hh_l0_reverse])
    batch, length, _ = x.shape
    gi = torch.addmm(b_ih, x.reshape(batch * length, -1), w_ih.t())
    gi = gi.view(batch, length, -1)  # (B, L, 6H)
    if torch.is_grad_enabled() and any(t.requires_grad for t in (gi, w_hh, b_hh, h0)):
        return _BiGRUFunction.apply(gi, w_hh, b_hh, h0.contiguous())
    out = _recur(_to_steps(gi, 3 * gru.hidden_size), w_hh, b_hh, h0, save=False)[0]
    return _from_steps(out)
