"""Neural language models before transformers: the fixed-window LM and the recurrent LMs.

- :class:`WindowLM` (Bengio et al. 2003, "A Neural Probabilistic Language Model"): the previous ``context``
  tokens are embedded, concatenated and passed through one tanh hidden layer to a softmax over the vocabulary.
  Positions before the start of the text are filled with a padding id (``vocab_size``, one row past the last
  word), so no real word pretends to be "before the beginning".
- :class:`RNNLM` (Elman 1990; Mikolov et al. 2010) and :class:`LSTMLM` (Sundermeyer et al. 2012; Zaremba et al.
  2014): embedding -> recurrent layers (shared weights over time, any length) -> linear head.

All three follow the interface of :class:`course_lib.models.gpt.GPT`, so the one trainer in
``course_lib.training`` trains them: ``forward(idx (B, T), targets (B, T) | None) -> (logits (B, T, V), loss)``,
where ``logits[:, t]`` predicts ``targets[:, t]`` (the token after ``idx[:, t]``) from ``idx[:, :t+1]``.
The recurrent LMs also have ``run(idx, state) -> (logits, state)`` for truncated BPTT and sampling.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from course_lib.decoding import next_token_probs
from course_lib.errors import CourseError
from course_lib.models.recurrent import LSTM, RNN

# --------------------------------------------------------------------------------------------- window LM


def window_contexts(idx: Tensor, context: int, pad_id: int) -> Tensor:
    """For each position t of idx (B, T), the ``context`` tokens ending at t, oldest first: (B, T, context).

    ``out[b, t] = idx[b, t-context+1 : t+1]``, with ``pad_id`` where that reaches before the start.
    """
    padded = F.pad(idx, (context - 1, 0), value=pad_id)
    return padded.unfold(1, context, 1)


def window_examples(ids: Tensor, context: int, pad_id: int) -> tuple[Tensor, Tensor]:
    """Training pairs from one token sequence ids (N,): contexts (N, context) and targets (N,) = ids.

    The context of ``ids[t]`` is ``ids[t-context : t]`` (oldest first), padded with ``pad_id`` at the start.
    """
    return window_contexts(F.pad(ids[:-1], (1, 0), value=pad_id)[None], context, pad_id)[0], ids


@dataclass
class WindowLMConfig:
    vocab_size: int = 65
    context: int = 3  # n - 1 for an n-gram-like window
    d_embed: int = 32
    d_hidden: int = 128

    @property
    def block_size(self) -> int:
        """The longest context that matters (for sampling with ``course_lib.decoding``): the window."""
        return self.context

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> WindowLMConfig:
        return cls(**values)


class WindowLM(nn.Module):
    """``logits = W_out tanh(W_h [e(w_{t-k+1}); ...; e(w_t)] + b_h) + b_out`` (Bengio et al. 2003, without
    their direct input-to-output connections)."""

    def __init__(self, config: WindowLMConfig) -> None:
        super().__init__()
        self.config = config
        self.pad_id = config.vocab_size
        self.embedding = nn.Embedding(config.vocab_size + 1, config.d_embed)  # + 1: the padding row
        self.hidden = nn.Linear(config.context * config.d_embed, config.d_hidden)
        self.head = nn.Linear(config.d_hidden, config.vocab_size)

    def forward(self, idx: Tensor, targets: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        contexts = window_contexts(idx, self.config.context, self.pad_id)  # (B, T, k)
        x = self.embedding(contexts).flatten(-2)  # (B, T, k * d_embed): the concatenation
        logits = self.head(torch.tanh(self.hidden(x)))
        return logits, _loss(logits, targets)


# ------------------------------------------------------------------------------------------ recurrent LMs


@dataclass
class RecurrentLMConfig:
    vocab_size: int = 65
    d_embed: int = 64
    d_hidden: int = 256
    n_layers: int = 1
    fast: bool = True  # run torch.nn.RNN/LSTM (same parameters, fused kernels) instead of the readable loop
    block_size: int = 256  # tokens re-read per step when sampling with course_lib.decoding (generate() carries state)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> RecurrentLMConfig:
        return cls(**values)


class _RecurrentLM(nn.Module):
    readable: type[nn.Module]
    fused: type[nn.Module]

    def __init__(self, config: RecurrentLMConfig) -> None:
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.d_embed)
        layer = self.fused if config.fast else self.readable
        self.rnn = layer(config.d_embed, config.d_hidden, config.n_layers, batch_first=True)
        self.head = nn.Linear(config.d_hidden, config.vocab_size)

    def run(self, idx: Tensor, state: Any = None) -> tuple[Tensor, Any]:
        """idx (B, T), the state after the previous chunk (or None: zeros) -> logits (B, T, V), new state."""
        if idx.dim() != 2:
            raise CourseError(f"expected token ids of shape (B, T), got {tuple(idx.shape)}")
        out, state = self.rnn(self.embedding(idx), state)
        return self.head(out), state

    def forward(self, idx: Tensor, targets: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        logits, _ = self.run(idx)
        return logits, _loss(logits, targets)

    @torch.no_grad()
    def generate(
        self, prompt: Tensor, max_new_tokens: int, temperature: float = 1.0, generator: torch.Generator | None = None
    ) -> Tensor:
        """Continue prompt ids (T,) by sampling at ``temperature``; returns the new ids (max_new_tokens,).

        The prompt is read once; after that each step feeds only the newest token and carries the state, so a
        step costs the same however long the text already is (no context window, unlike GPT).
        """
        if prompt.dim() != 1 or len(prompt) == 0:
            raise CourseError(f"generate needs a non-empty 1-D prompt of token ids, got shape {tuple(prompt.shape)}")
        self.eval()
        logits, state = self.run(prompt[None])
        new = []
        for _ in range(max_new_tokens):
            probs = next_token_probs(logits[0, -1], temperature)
            token = torch.multinomial(probs, 1, generator=generator)
            new.append(token)
            logits, state = self.run(token[None], state)
        return torch.cat(new) if new else prompt.new_empty(0)


class RNNLM(_RecurrentLM):
    """Elman RNN language model: state ``h`` of shape (n_layers, B, d_hidden)."""

    readable, fused = RNN, nn.RNN


class LSTMLM(_RecurrentLM):
    """LSTM language model: state ``(h, c)``, each (n_layers, B, d_hidden)."""

    readable, fused = LSTM, nn.LSTM


def _loss(logits: Tensor, targets: Tensor | None) -> Tensor | None:
    if targets is None:
        return None
    return F.cross_entropy(logits.flatten(0, 1), targets.flatten())
