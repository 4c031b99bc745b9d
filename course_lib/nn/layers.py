"""Normalisation and feed-forward layers of a transformer block.

- :class:`LayerNorm` (Ba et al. 2016): centre and scale each token's features, then a learned gain and bias.
- :class:`RMSNorm` (Zhang & Sennrich 2019): scale by the root mean square only; no centring, no bias.
- :class:`FeedForward`: the position-wise MLP, with ReLU (Vaswani et al. 2017), GELU (exact erf form, or
  ``gelu_tanh``: GPT-2's tanh approximation) or SwiGLU (Shazeer 2020, LLaMA).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

NORMS = ("layernorm", "rmsnorm")
ACTIVATIONS = ("relu", "gelu", "gelu_tanh", "swiglu")


class LayerNorm(nn.Module):
    """``y = (x - mean(x)) / sqrt(var(x) + eps) * weight + bias`` over the last dimension.

    The variance is the biased one (divide by ``d``), as in :class:`torch.nn.LayerNorm`.
    ``bias=False`` drops the additive term (GPT configs with ``bias=False``).
    """

    def __init__(self, d: int, eps: float = 1e-5, bias: bool = True) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d))
        self.bias = nn.Parameter(torch.zeros(d)) if bias else None

    def forward(self, x: Tensor) -> Tensor:  # (..., d) -> (..., d)
        # The fused kernel computes exactly the formula above in one pass over x, several times faster than
        # writing it out with mean/var (which the tests do, in float64, as the oracle).
        return F.layer_norm(x, self.weight.shape, self.weight, self.bias, self.eps)


class RMSNorm(nn.Module):
    """``y = x / sqrt(mean(x²) + eps) * weight`` over the last dimension (no centring, no bias)."""

    def __init__(self, d: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x: Tensor) -> Tensor:  # (..., d) -> (..., d)
        return x * torch.rsqrt(x.pow(2).mean(dim=-1, keepdim=True) + self.eps) * self.weight


def make_norm(kind: str, d: int, bias: bool = True) -> nn.Module:
    """``"layernorm"`` -> :class:`LayerNorm`, ``"rmsnorm"`` -> :class:`RMSNorm` (which never has a bias)."""
    if kind == "layernorm":
        return LayerNorm(d, bias=bias)
    if kind == "rmsnorm":
        return RMSNorm(d)
    raise ValueError(f"unknown norm {kind!r}: choose one of {', '.join(NORMS)}")


def swiglu_hidden_size(d_model: int, multiple_of: int = 64) -> int:
    """Hidden width for SwiGLU: 2/3 of 4·d (same parameter count as a 4·d MLP), rounded up (LLaMA)."""
    hidden = int(2 * 4 * d_model / 3)
    return multiple_of * math.ceil(hidden / multiple_of)


class FeedForward(nn.Module):
    """Position-wise MLP: ``down_proj(act(up_proj(x)))``, or with SwiGLU
    ``down_proj(silu(gate_proj(x)) * up_proj(x))``.

    ``d_ff`` defaults to ``4 * d_model`` (ReLU/GELU) or :func:`swiglu_hidden_size` (SwiGLU).
    Shapes: ``(..., d_model) -> (..., d_model)``.
    """

    def __init__(
        self,
        d_model: int,
        d_ff: int | None = None,
        activation: str = "gelu",
        bias: bool = True,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}: choose one of {', '.join(ACTIVATIONS)}")
        self.activation = activation
        if d_ff is None:
            d_ff = swiglu_hidden_size(d_model) if activation == "swiglu" else 4 * d_model
        self.up_proj = nn.Linear(d_model, d_ff, bias=bias)
        self.gate_proj = nn.Linear(d_model, d_ff, bias=bias) if activation == "swiglu" else None
        self.down_proj = nn.Linear(d_ff, d_model, bias=bias)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        if self.gate_proj is not None:
            h = F.silu(self.gate_proj(x)) * self.up_proj(x)  # (..., d_ff)
        elif self.activation == "gelu":
            h = F.gelu(self.up_proj(x))
        elif self.activation == "gelu_tanh":  # GPT-2: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
            h = F.gelu(self.up_proj(x), approximate="tanh")
        else:
            h = F.relu(self.up_proj(x))
        return self.dropout(self.down_proj(h))
