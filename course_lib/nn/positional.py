"""Ways to tell a transformer where each token is.

- :class:`LearnedPositionalEmbedding` (GPT-2, BERT): one trained vector per position, added to the tokens.
- :class:`SinusoidalPositionalEncoding` (Vaswani et al. 2017): fixed sines and cosines, added to the tokens.
- :class:`RoPE` (Su et al. 2021, RoFormer): rotate queries and keys so that their dot product depends only
  on the *relative* distance between positions. It is applied inside attention, not added to the input.

All three take explicit ``positions`` (a LongTensor such as ``torch.arange(offset, offset + T)``), so
incremental decoding with a KV cache just passes the positions of the new tokens.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


def _check_positions(positions: Tensor, max_len: int, what: str) -> None:
    # Checked eagerly on CPU only: reading a GPU tensor's max would stall the GPU at every forward pass, and
    # torch.compile cannot trace a branch on a tensor's value. GPT checks the sequence length up front anyway.
    if torch.compiler.is_compiling() or positions.device.type != "cpu" or not positions.numel():
        return
    if int(positions.max()) >= max_len:
        raise ValueError(f"{what} covers positions < {max_len}, got position {int(positions.max())}")


class LearnedPositionalEmbedding(nn.Module):
    """A table of ``max_len`` trained vectors: ``positions (...,) -> (..., d_model)``."""

    def __init__(self, max_len: int, d_model: int) -> None:
        super().__init__()
        self.max_len = max_len
        self.weight = nn.Parameter(torch.empty(max_len, d_model))
        nn.init.normal_(self.weight, std=0.02)

    def forward(self, positions: Tensor) -> Tensor:
        _check_positions(positions, self.max_len, "LearnedPositionalEmbedding")
        return self.weight[positions]


def sinusoidal_table(max_len: int, d_model: int) -> Tensor:
    """The ``(max_len, d)`` table ``PE[pos, 2i] = sin(pos / 10000^(2i/d))``, ``PE[pos, 2i+1] = cos(...)``."""
    if d_model % 2:
        raise ValueError(f"sinusoidal encodings need an even d_model, got {d_model}")
    pos = torch.arange(max_len, dtype=torch.float64)[:, None]  # (max_len, 1)
    inv_freq = torch.exp(-math.log(10000.0) * torch.arange(0, d_model, 2, dtype=torch.float64) / d_model)
    table = torch.empty(max_len, d_model, dtype=torch.float64)
    table[:, 0::2] = torch.sin(pos * inv_freq)
    table[:, 1::2] = torch.cos(pos * inv_freq)
    return table.float()


class SinusoidalPositionalEncoding(nn.Module):
    """Fixed encodings (:func:`sinusoidal_table`), no weights: ``positions (...,) -> (..., d_model)``."""

    def __init__(self, max_len: int, d_model: int) -> None:
        super().__init__()
        self.max_len = max_len
        self.register_buffer("table", sinusoidal_table(max_len, d_model), persistent=False)

    def forward(self, positions: Tensor) -> Tensor:
        _check_positions(positions, self.max_len, "SinusoidalPositionalEncoding")
        return self.table[positions]


class RoPE(nn.Module):
    """Rotary position embedding: rotate each consecutive pair ``(x[2i], x[2i+1])`` by ``pos · θ^(-2i/d)``.

    ``rope(x, positions)`` takes ``x`` of shape ``(..., T, d)`` (e.g. ``(B, H, T, d_head)``) and
    ``positions`` of shape ``(T,)``; it returns the rotated tensor, same shape and dtype. Because rotations
    compose, ``<rope(q, m), rope(k, n)> = <q, R(n - m) k>`` depends only on ``m - n``.
    """

    def __init__(self, d: int, theta: float = 10000.0, max_seq_len: int = 4096) -> None:
        super().__init__()
        if d % 2:
            raise ValueError(f"RoPE rotates pairs of features, so d must be even, got {d}")
        self.d, self.theta, self.max_seq_len = d, theta, max_seq_len
        inv_freq = theta ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)  # (d/2,) = θ^(-2i/d)
        angles = torch.arange(max_seq_len, dtype=torch.float64)[:, None] * inv_freq  # (max_seq_len, d/2)
        self.register_buffer("cos", angles.cos().float(), persistent=False)
        self.register_buffer("sin", angles.sin().float(), persistent=False)

    def forward(self, x: Tensor, positions: Tensor) -> Tensor:
        if x.size(-1) != self.d:
            raise ValueError(f"RoPE was built for d={self.d}, got features of size {x.size(-1)}")
        _check_positions(positions, self.max_seq_len, "RoPE")
        cos = self.cos[positions].to(x.dtype)  # (T, d/2)
        sin = self.sin[positions].to(x.dtype)
        x1, x2 = x[..., 0::2], x[..., 1::2]  # (..., T, d/2): the two coordinates of each pair
        rotated = torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1)  # (..., T, d/2, 2)
        return rotated.flatten(-2)  # interleave back to (..., T, d)
