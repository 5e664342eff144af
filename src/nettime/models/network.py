"""The NetTIME network: input layer, two Basic Blocks (residual CNN + bi-GRU), decoder.

Sizes and layers follow the original implementation. With ``x`` of shape
(B, L, K) the model returns logits (B, L, 2); softmax is applied outside the model.

- Input layer: Linear(K -> 2H) + BatchNorm + ReLU.
- Basic Block (two, separate weights): residual CNN [Conv1d(2H, 2H, 7, pad 3) + BN + ReLU +
  Conv1d + BN, add the input, ReLU, Dropout] then a bidirectional GRU (input 2H, hidden H per
  direction) + BN + Tanh + Dropout. Dropout 0.1 in the first block, 0.0 in the second.
- The GRU's initial hidden state, for both directions in both blocks, is the concatenation of the
  TF and cell-type embedding vectors (each of dimension d), so H = 2d; with one embedding
  disabled H = d.
- Decoder: Linear(2H -> H) + BN + ReLU + Dropout(0.1) + Linear(H -> 2).

Internally activations stay channels-first (B, C, L) between the convolutions, and are
transposed only around the GRU; this avoids the permute-and-copy pairs of the original around
every BatchNorm, with identical arithmetic.

Embedding modes (``ModelConfig.embeddings``), one source per TF / cell type:
``trained`` (learned), ``random`` (fixed random vectors, never trained: Fig 4b), ``none``.
Trained vectors can also be replaced by random ones at prediction time only (Fig 4a), see
:func:`randomize_embeddings`.
"""

from __future__ import annotations

import contextlib
import copy
import pickle
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn

from nettime.models.gru import bigru_channels
from nettime.models.recompute import Recompute, bn_add_relu, bn_then, dropout, mark

#: Named embedding modes -> (TF source, cell-type source); each source trained|random|none.
EMBEDDING_MODES: dict[str, tuple[str, str]] = {
    "both": ("trained", "trained"),
    "tf": ("trained", "none"),
    "cell": ("none", "trained"),
    "none": ("none", "none"),
    "random_tf": ("random", "trained"),
    "random_cell": ("trained", "random"),
    "random_both": ("random", "random"),
}



class ModelError(ValueError):
    """A model specification or checkpoint that cannot be used, with the reason."""


@dataclass(frozen=True)
class ModelConfig:
    """Sizes and variant of a NetTIME network.

    Parameters
    ----------
    n_features
        K, input channels per position (4 one-hot + assays [+ 2 motif channels]).
    embedding_dim
        d, the dimension of each embedding vector (paper: 50).
    tf_table_size, cell_table_size
        Rows of the embedding tables (paper: 256 and 64); at least the vocabulary sizes.
    embeddings
        A key of :data:`EMBEDDING_MODES`.
    dropout
        Dropout of the first Basic Block and of the decoder (the second block uses 0.0).
    kernel_size
        Convolution width (odd; padding keeps the length).
    n_blocks
        Number of Basic Blocks; only the last one has no dropout.
    tf_vocab, cell_vocab
        Names of the TFs and cell types, row i of a table = the i-th name.
    """

    n_features: int
    embedding_dim: int = 50
    tf_table_size: int = 256
    cell_table_size: int = 64
    embeddings: str = "both"
    dropout: float = 0.1
    kernel_size: int = 7
    n_blocks: int = 2
    tf_vocab: tuple[str, ...] = field(default_factory=tuple)
    cell_vocab: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.embeddings not in EMBEDDING_MODES:
            raise ModelError(f"unknown embedding mode {self.embeddings!r}; allowed: "
                             f"{', '.join(EMBEDDING_MODES)}")
        if self.kernel_size % 2 != 1:
            raise ModelError(f"kernel_size must be odd, got {self.kernel_size}")
        for name, vocab, size in (("TF", self.tf_vocab, self.tf_table_size),
                                  ("cell-type", self.cell_vocab, self.cell_table_size)):
            if len(vocab) > size:
                raise ModelError(f"{len(vocab)} {name} names do not fit a table of {size} rows")
            if len(set(vocab)) != len(vocab):
                raise ModelError(f"the {name} vocabulary has duplicate names")
        object.__setattr__(self, "tf_vocab", tuple(self.tf_vocab))
        object.__setattr__(self, "cell_vocab", tuple(self.cell_vocab))

    @property
    def sources(self) -> tuple[str, str]:
        return EMBEDDING_MODES[self.embeddings]

    @property
    def hidden(self) -> int:
        """H, the GRU hidden size per direction: d per embedding in use (2d without any)."""
        used = sum(source != "none" for source in self.sources)
        return self.embedding_dim * (used if used else 2)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["tf_vocab"] = list(self.tf_vocab)
        out["cell_vocab"] = list(self.cell_vocab)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        return cls(**{**data, "tf_vocab": tuple(data.get("tf_vocab", ())),
                      "cell_vocab": tuple(data.get("cell_vocab", ()))})


class BasicBlock(nn.Module):
    """Residual CNN then bi-GRU; input and output (B, 2H, L) float32."""

    def __init__(self, hidden: int, kernel_size: int, dropout: float):
        super().__init__()
        channels = 2 * hidden
        pad = kernel_size // 2
        self.conv1 = nn.Conv1d(channels, channels, kernel_size, padding=pad)
        self.bn1 = nn.BatchNorm1d(channels)
        self.conv2 = nn.Conv1d(channels, channels, kernel_size, padding=pad)
        self.bn2 = nn.BatchNorm1d(channels)
        self.dropout_cnn = nn.Dropout(dropout)
        self.gru = nn.GRU(channels, hidden, batch_first=True, bidirectional=True)
        self.bn_gru = nn.BatchNorm1d(channels)
        self.dropout_gru = nn.Dropout(dropout)
        self.fused_gru = True

    def forward(self, x: torch.Tensor, h0: torch.Tensor,
                rec: Recompute | None = None) -> torch.Tensor:
        """``x`` (B, 2H, L); ``h0`` (2, B, H) -> (B, 2H, L).

        With ``rec`` (training on CPU), the BatchNorm / ReLU / Tanh / Dropout results are
        rebuilt in the backward pass from the convolution and GRU outputs instead of being kept.
        """
        return self.recurrent(self.cnn(x, rec), h0, rec)

    def cnn(self, x: torch.Tensor, rec: Recompute | None = None) -> torch.Tensor:
        """The residual CNN: (B, 2H, L) -> (B, 2H, L); no embedding enters it."""
        # In-place ReLU / residual add act on BatchNorm outputs, which BatchNorm's backward does
        # not need: the same arithmetic with fewer live activations.
        c1 = self.conv1(x)
        out = mark(rec, self.bn1(c1), bn_then(self.bn1, torch.relu_), c1).relu_()
        c2 = self.conv2(out)
        out = mark(rec, self.bn2(c2), bn_add_relu(self.bn2), c2, x).add_(x).relu_()
        return dropout(out, self.dropout_cnn, rec)

    def recurrent(self, out: torch.Tensor, h0: torch.Tensor,
                  rec: Recompute | None = None) -> torch.Tensor:
        """The bi-GRU from initial states ``h0`` (2, B, H): (B, 2H, L) -> (B, 2H, L)."""
        # cuDNN's GRU is fastest on CUDA; on CPU the fused recurrence avoids per-step autograd.
        if out.is_cuda or not self.fused_gru:
            hid = self.gru(out.transpose(1, 2), h0)[0].transpose(1, 2)
        else:
            hid = bigru_channels(self.gru, out, h0)
        out = mark(rec, self.bn_gru(hid), bn_then(self.bn_gru, torch.tanh_), hid).tanh_()
        # The block's output is kept, not rebuilt: it feeds the next block's convolution and
        # residual add, and rebuilding it would chain recomputations across blocks.
        return dropout(out, self.dropout_gru, rec, rebuild=False)


class NetTIME(nn.Module):
    """The NetTIME network; see the module docstring.

    Parameters
    ----------
    config
        Sizes, embedding mode and vocabularies.
    """

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        d, hidden = config.embedding_dim, config.hidden
        tf_source, cell_source = config.sources
        self.tf_embed = _make_table(tf_source, config.tf_table_size, d)
        self.cell_embed = _make_table(cell_source, config.cell_table_size, d)
        self.input_fc = nn.Linear(config.n_features, 2 * hidden)
        self.input_bn = nn.BatchNorm1d(2 * hidden)
        self.blocks = nn.ModuleList(
            BasicBlock(hidden, config.kernel_size,
                       config.dropout if i < config.n_blocks - 1 else 0.0)
            for i in range(config.n_blocks))
        self.dec_fc1 = nn.Linear(2 * hidden, hidden)
        self.dec_bn = nn.BatchNorm1d(hidden)
        self.dec_dropout = nn.Dropout(config.dropout)
        self.dec_fc2 = nn.Linear(hidden, 2)
        # Fixed random tables (Fig 4b) live in buffers so that no optimiser can touch them.
        self.register_buffer("tf_random", _random_table(tf_source, config.tf_table_size, d),
                             persistent=True)
        self.register_buffer("cell_random", _random_table(cell_source, config.cell_table_size, d),
                             persistent=True)
        #: Rebuild elementwise activations in the backward pass (CPU training) instead of
        #: keeping them; False gives the plain autograd graph (same results).
        self.recompute_activations = True

    def initial_state(self, tf: torch.Tensor, cell: torch.Tensor) -> torch.Tensor:
        """GRU initial state (2, B, H) from TF and cell indices (B,) int64."""
        parts = []
        for index, table, fixed in ((tf, self.tf_embed, self.tf_random),
                                    (cell, self.cell_embed, self.cell_random)):
            if table is not None:
                parts.append(table(index))
            elif fixed is not None:
                parts.append(fixed[index])
        if parts:
            h = torch.cat(parts, dim=1)
        else:
            h = torch.zeros(tf.shape[0], self.config.hidden, device=tf.device,
                            dtype=self.input_fc.weight.dtype)
        return h.unsqueeze(0).expand(2, -1, -1).contiguous()

    def forward(self, x: torch.Tensor, tf: torch.Tensor, cell: torch.Tensor) -> torch.Tensor:
        """Logits per position.

        Parameters
        ----------
        x
            float32 (B, L, K) input features.
        tf, cell
            int64 (B,) TF and cell-type indices into the embedding tables.

        Returns
        -------
        torch.Tensor
            float32 (B, L, 2) logits (unbound, bound).
        """
        h0 = self.initial_state(tf, cell)
        # Training on CPU keeps fewer activations for the backward pass (see Recompute); on
        # CUDA memory is not the constraint and the plain autograd graph is used.
        rec = Recompute() if (self.recompute_activations and self.training
                               and torch.is_grad_enabled() and x.device.type == "cpu") else None
        with rec.hooks() if rec is not None else contextlib.nullcontext():
            return self._head(self._trunk(x, rec), h0, rec)

    def trunk(self, x: torch.Tensor) -> torch.Tensor:
        """The part of the network that no embedding enters: the input layer and the first
        block's convolutions, float32 (B, L, K) -> (B, 2H, L). It depends on the input
        features alone, so conditions that share them (one cell type's, without motif
        channels) can share it: ``head(trunk(x), tf, cell)`` equals ``forward(x, tf, cell)``."""
        return self._trunk(x, None)

    def head(self, trunk: torch.Tensor, tf: torch.Tensor, cell: torch.Tensor) -> torch.Tensor:
        """The rest of the network from :meth:`trunk`'s (B, 2H, L) output and int64 (B,) TF
        and cell-type indices: float32 (B, L, 2) logits."""
        return self._head(trunk, self.initial_state(tf, cell), None)

    def _trunk(self, x: torch.Tensor, rec: Recompute | None) -> torch.Tensor:
        fc = self.input_fc(x).transpose(1, 2)  # (B, 2H, L)
        # Kept like the blocks' outputs (an input to a convolution and a residual add).
        out = self.input_bn(fc).relu_()
        return self.blocks[0].cnn(out, rec)

    def _head(self, out: torch.Tensor, h0: torch.Tensor, rec: Recompute | None) -> torch.Tensor:
        out = self.blocks[0].recurrent(out, h0, rec)
        for block in self.blocks[1:]:
            out = block(out, h0, rec)
        # The decoder's Linear layers act on channels-first (B, C, L) activations as matmuls,
        # with no transposed copies.
        dec = _linear_channels(self.dec_fc1, out)  # (B, H, L)
        out = mark(rec, self.dec_bn(dec), bn_then(self.dec_bn, torch.relu_), dec).relu_()
        out = dropout(out, self.dec_dropout, rec)
        return _linear_channels(self.dec_fc2, out).transpose(1, 2)


def _linear_channels(layer: nn.Linear, x: torch.Tensor) -> torch.Tensor:
    """``layer`` applied along the channels of (B, C_in, L) -> (B, C_out, L)."""
    # bmm with the weight broadcast over the batch keeps ``x`` itself for the backward pass;
    # torch.matmul would fold (B, C_in, L) into a transposed copy and keep that.
    weight = layer.weight.expand(x.shape[0], -1, -1)
    return torch.bmm(weight, x).add_(layer.bias[:, None])


def _make_table(source: str, rows: int, dim: int) -> nn.Embedding | None:
    return nn.Embedding(rows, dim) if source == "trained" else None


def _random_table(source: str, rows: int, dim: int) -> torch.Tensor | None:
    # Same distribution as a freshly initialised nn.Embedding, N(0, 1).
    return torch.randn(rows, dim) if source == "random" else None


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of scalar parameters (buffers such as fixed random tables excluded)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def build_model(config: ModelConfig, seed: int | None = None) -> NetTIME:
    """A freshly initialised model; with ``seed`` the initial weights are reproducible."""
    if seed is None:
        return NetTIME(config)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return NetTIME(config)


def vocab_index(vocab: Sequence[str], names: Sequence[str], kind: str) -> list[int]:
    """Indices of ``names`` in ``vocab``; a clear error names the unknown ones."""
    position = {name: i for i, name in enumerate(vocab)}
    missing = [n for n in names if n not in position]
    if missing:
        raise ModelError(f"unknown {kind}(s) {', '.join(missing)}; the model knows "
                         f"{', '.join(vocab) or 'none'}")
    return [position[n] for n in names]


def grow_vocab(model: NetTIME, tfs: Sequence[str] = (), cells: Sequence[str] = (),
               seed: int = 0) -> NetTIME:
    """A copy of ``model`` whose vocabularies also hold ``tfs`` and ``cells``.

    New names are appended; rows of names already known keep their values exactly. Tables
    grow (new rows drawn from N(0, 1) with ``seed``) only when the names no longer fit.
    """
    config = model.config
    tf_vocab = list(config.tf_vocab) + [t for t in dict.fromkeys(tfs) if t not in config.tf_vocab]
    cell_vocab = list(config.cell_vocab) + [c for c in dict.fromkeys(cells)
                                            if c not in config.cell_vocab]
    new_config = ModelConfig.from_dict({
        **config.to_dict(), "tf_vocab": tf_vocab, "cell_vocab": cell_vocab,
        "tf_table_size": max(config.tf_table_size, len(tf_vocab)),
        "cell_table_size": max(config.cell_table_size, len(cell_vocab))})
    grown = copy.deepcopy(model)
    grown.config = new_config
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for attr, buf, rows in (("tf_embed", "tf_random", new_config.tf_table_size),
                                ("cell_embed", "cell_random", new_config.cell_table_size)):
            table = getattr(grown, attr)
            if table is not None and table.num_embeddings < rows:
                extra = torch.randn(rows - table.num_embeddings, table.embedding_dim,
                                    generator=generator).to(table.weight)
                bigger = nn.Embedding(rows, table.embedding_dim).to(table.weight)
                bigger.weight.copy_(torch.cat([table.weight, extra]))
                setattr(grown, attr, bigger)
            fixed = getattr(grown, buf)
            if fixed is not None and fixed.shape[0] < rows:
                extra = torch.randn(rows - fixed.shape[0], fixed.shape[1],
                                    generator=generator).to(fixed)
                setattr(grown, buf, torch.cat([fixed, extra]))
    return grown


def randomize_embeddings(model: NetTIME, tf: bool, cell: bool, seed: int = 0) -> NetTIME:
    """A copy of ``model`` with trained embedding tables replaced by N(0, 1) vectors (Fig 4a).

    Only prediction should use the copy. A table that is not trained (random or none) is left.
    """
    out = copy.deepcopy(model)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for flag, table in ((tf, out.tf_embed), (cell, out.cell_embed)):
            if flag and table is not None:
                table.weight.copy_(torch.randn(table.weight.shape, generator=generator))
    return out


def save_model(model: NetTIME, path: Any, extra: dict[str, Any] | None = None) -> None:
    """Write ``{config, state_dict, **extra}`` with torch.save (the caller makes it atomic)."""
    torch.save({"config": model.config.to_dict(), "state_dict": model.state_dict(),
                **(extra or {})}, path)


def load_model(path: Any, map_location: str | torch.device = "cpu") -> NetTIME:
    """Read a model written by :func:`save_model` (or a training checkpoint)."""
    try:
        data = torch.load(path, map_location=map_location, weights_only=False)
    except (OSError, RuntimeError, EOFError, pickle.UnpicklingError) as exc:
        raise ModelError(f"{path}: cannot read the model checkpoint ({exc})") from None
    if not isinstance(data, dict) or "config" not in data or "state_dict" not in data:
        raise ModelError(f"{path}: not a NetTIME model checkpoint (no config/state_dict)")
    model = NetTIME(ModelConfig.from_dict(data["config"]))
    model.load_state_dict(data["state_dict"])
    return model


def export_embeddings(model_path: Any, out: Any) -> None:
    """The trained embedding vectors of a model as TSV (written atomically).

    Columns ``kind`` (``tf`` or ``cell``), ``name`` and ``v0`` .. ``v{d-1}``: one row per TF
    and cell type of the model's vocabularies whose table is trained (fixed random tables and
    absent ones are left out).
    """
    import pandas as pd

    from nettime.files import atomic_output

    model = load_model(model_path)
    frames = []
    for kind, table, vocab in (("tf", model.tf_embed, model.config.tf_vocab),
                               ("cell", model.cell_embed, model.config.cell_vocab)):
        if table is None:
            continue
        vectors = table.weight.detach().double().numpy()[: len(vocab)]
        frame = pd.DataFrame(vectors, columns=[f"v{i}" for i in range(vectors.shape[1])])
        frame.insert(0, "name", list(vocab))
        frame.insert(0, "kind", kind)
        frames.append(frame)
    columns = ["kind", "name"] + [f"v{i}" for i in range(model.config.embedding_dim)]
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    with atomic_output(out) as tmp:
        # repr-exact floats, so that claims computed from the file equal those from the model
        table.to_csv(tmp, sep="\t", index=False, float_format="%.17g")
