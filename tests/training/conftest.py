"""A tiny stand-in language model: the trainer only needs ``forward(idx, targets) -> (logits, loss)``."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn


class TinyLM(nn.Module):
    """Embedding -> LayerNorm -> dropout -> linear head: a bigram-ish model with matrices, biases and gains."""

    def __init__(self, vocab_size: int = 11, d: int = 16, dropout: float = 0.1) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, d)
        self.norm = nn.LayerNorm(d)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(d, vocab_size)

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        logits = self.head(self.drop(self.norm(self.embed(idx))))  # (B, T, V)
        loss = None if targets is None else F.cross_entropy(logits.flatten(0, 1), targets.flatten())
        return logits, loss


@pytest.fixture
def tiny_lm_factory():
    def make(seed: int = 0, **kwargs) -> TinyLM:
        torch.manual_seed(seed)
        return TinyLM(**kwargs)

    return make


@pytest.fixture
def token_data() -> tuple[torch.Tensor, torch.Tensor]:
    """A noisy periodic sequence over 11 symbols: learnable, but not trivially."""
    gen = torch.Generator().manual_seed(0)
    ids = torch.arange(3000) % 11
    noise = torch.rand(3000, generator=gen) < 0.2
    ids = torch.where(noise, torch.randint(0, 11, (3000,), generator=gen), ids)
    return ids[:2700], ids[2700:]
