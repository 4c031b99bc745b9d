"""A synthetic task that a small GPT can only solve by learning in context.

Every sequence draws a **fresh random mapping** from ``n_keys`` key tokens to ``n_values`` value tokens and
lists key→value pairs under it, keys drawn with replacement:

    <bos> k3 v5 k0 v1 k3 v5 k6 v2 k0 v1 ...

Nothing about the mapping survives from one sequence to the next, so the value after a key is predictable only
when that key already appeared earlier in the same sequence: the model has to find the earlier occurrence and
copy the token after it, which is what an *induction head* does (Olsson et al. 2022, "In-context Learning and
Induction Heads"): one head marks each token with its predecessor, a second attends from the current key to the
token that followed the same key before.

**Few-shot evaluation**: a prompt with ``k`` solved examples on ``k`` different keys, then a query key drawn
uniformly from all keys; the model's answer is the value token with the highest next-token logit (rank
classification over the value tokens). The best possible accuracy is :meth:`KeyValueTask.bayes_accuracy`:
the query's key is among the examples with probability ``k / n_keys``; otherwise a guess is right with
probability ``1 / n_values``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from course_lib.errors import CourseError


@dataclass(frozen=True)
class KeyValueTask:
    """Token layout: keys ``0 .. n_keys-1``, values ``n_keys .. n_keys+n_values-1``, then ``bos``."""

    n_keys: int = 8
    n_values: int = 8
    n_pairs: int = 16  # pairs per training sequence

    def __post_init__(self) -> None:
        if min(self.n_keys, self.n_values, self.n_pairs) < 1:
            raise CourseError("n_keys, n_values and n_pairs must be positive")

    @property
    def bos(self) -> int:
        return self.n_keys + self.n_values

    @property
    def vocab_size(self) -> int:
        return self.n_keys + self.n_values + 1

    @property
    def sequence_length(self) -> int:
        return 1 + 2 * self.n_pairs

    def value_token(self, value: Tensor) -> Tensor:
        return value + self.n_keys

    def _mappings(self, n: int, generator: torch.Generator) -> Tensor:  # (n, n_keys) value index of each key
        return torch.randint(0, self.n_values, (n, self.n_keys), generator=generator)

    def sequences(self, n: int, generator: torch.Generator) -> Tensor:
        """``n`` training sequences ``(n, 1 + 2·n_pairs)``, each under its own random mapping."""
        mappings = self._mappings(n, generator)
        keys = torch.randint(0, self.n_keys, (n, self.n_pairs), generator=generator)
        values = self.value_token(mappings.gather(1, keys))
        pairs = torch.stack([keys, values], dim=-1).view(n, -1)  # k v k v ...
        return torch.cat([torch.full((n, 1), self.bos), pairs], dim=1)

    def stream(self, n_sequences: int, seed: int = 0) -> Tensor:
        """A 1-D token stream of ``n_sequences`` concatenated sequences, for the course trainer's random windows."""
        return self.sequences(n_sequences, torch.Generator().manual_seed(seed)).reshape(-1)

    def few_shot_prompts(self, k: int, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """``n`` prompts ``(n, 2 + 2k)``: bos, ``k`` examples on distinct keys, a query key; and the answers
        ``(n,)`` as value indices ``0 .. n_values-1``."""
        if not 0 <= k <= self.n_keys:
            raise CourseError(f"k must lie in 0..{self.n_keys} (examples use distinct keys), got {k}")
        mappings = self._mappings(n, generator)
        shown = torch.rand(n, self.n_keys, generator=generator).argsort(dim=1)[:, :k]  # k distinct keys per row
        query = torch.randint(0, self.n_keys, (n, 1), generator=generator)
        pairs = torch.stack([shown, self.value_token(mappings.gather(1, shown))], dim=-1).view(n, -1)
        prompts = torch.cat([torch.full((n, 1), self.bos), pairs, query], dim=1)
        return prompts, mappings.gather(1, query)[:, 0]

    def bayes_accuracy(self, k: int) -> float:
        """The best expected accuracy with ``k`` examples: ``k/n_keys + (1 - k/n_keys) / n_values``."""
        seen = k / self.n_keys
        return seen + (1 - seen) / self.n_values


@torch.no_grad()
def few_shot_accuracy(model: nn.Module, task: KeyValueTask, k: int, n: int = 512, seed: int = 0) -> float:
    """Fraction of ``n`` fresh ``k``-shot prompts whose query the model answers right (the value token with the
    highest logit wins; other tokens are never an answer)."""
    prompts, answers = task.few_shot_prompts(k, n, torch.Generator().manual_seed(seed))
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        logits = model(prompts.to(device))
        logits = logits[0] if isinstance(logits, tuple) else logits
    finally:
        model.train(was_training)
    value_logits = logits[:, -1, task.n_keys : task.n_keys + task.n_values]  # (n, n_values)
    return (value_logits.argmax(dim=-1).cpu() == answers).double().mean().item()
