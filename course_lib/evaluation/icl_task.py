"""A synthetic task that a small GPT can only solve by learning in context.

Every sequence draws a **fresh random mapping** from ``n_keys`` keys to ``n_values`` values. It first states
some facts under that mapping, each one token ``(key, value)``, then asks about keys, each question followed by
its answer:

    <bos>  [k3=v5] [k0=v1] [k6=v2] ...   k3? v5   k1? v7   k6? v2 ...

Nothing about the mapping survives from one sequence to the next, so an answer is predictable only when a fact
about the asked key appeared earlier in the same sequence: the model has to attend from the question to the
fact with the same key and copy its value. The attention pattern shows this *lookup head* directly; it is the
second half of an *induction head* (Olsson et al. 2022, "In-context Learning and Induction Heads"), which
first has to join a key token with the value token after it (a fact here is one token, so one layer suffices
and a CPU learns it in a minute).

**Few-shot evaluation**: ``k`` facts on ``k`` different keys, then a question about a key drawn uniformly from
all keys; the model's answer is the value token with the highest next-token logit (rank classification over the
value tokens). The best possible accuracy is :meth:`KeyValueTask.bayes_accuracy`: the asked key is among the
facts with probability ``k / n_keys``; otherwise a guess is right with probability ``1 / n_values``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from course_lib.errors import CourseError


@dataclass(frozen=True)
class KeyValueTask:
    """Token layout: facts ``key * n_values + value``, then the question tokens (one per key), the answer tokens
    (one per value) and ``bos``."""

    n_keys: int = 8
    n_values: int = 8
    n_facts: int = 8  # facts per training sequence (keys drawn with replacement)
    n_questions: int = 8  # questions per training sequence

    def __post_init__(self) -> None:
        if min(self.n_keys, self.n_values, self.n_facts, self.n_questions) < 1:
            raise CourseError("n_keys, n_values, n_facts and n_questions must be positive")

    @property
    def first_question(self) -> int:
        return self.n_keys * self.n_values

    @property
    def first_answer(self) -> int:
        return self.first_question + self.n_keys

    @property
    def bos(self) -> int:
        return self.first_answer + self.n_values

    @property
    def vocab_size(self) -> int:
        return self.bos + 1

    @property
    def sequence_length(self) -> int:
        return 1 + self.n_facts + 2 * self.n_questions

    def _mappings(self, n: int, generator: torch.Generator) -> Tensor:  # (n, n_keys) value of each key
        return torch.randint(0, self.n_values, (n, self.n_keys), generator=generator)

    def _facts(self, mappings: Tensor, keys: Tensor) -> Tensor:  # (n, m) keys -> (n, m) fact tokens
        return keys * self.n_values + mappings.gather(1, keys)

    def sequences(self, n: int, generator: torch.Generator) -> Tensor:
        """``n`` training sequences ``(n, sequence_length)``, each under its own random mapping."""
        mappings = self._mappings(n, generator)
        facts = self._facts(mappings, torch.randint(0, self.n_keys, (n, self.n_facts), generator=generator))
        asked = torch.randint(0, self.n_keys, (n, self.n_questions), generator=generator)
        answers = self.first_answer + mappings.gather(1, asked)
        questions = torch.stack([self.first_question + asked, answers], dim=-1).view(n, -1)  # q a q a ...
        return torch.cat([torch.full((n, 1), self.bos), facts, questions], dim=1)

    def stream(self, n_sequences: int, seed: int = 0) -> Tensor:
        """A 1-D token stream of ``n_sequences`` concatenated sequences, for the course trainer's random windows."""
        return self.sequences(n_sequences, torch.Generator().manual_seed(seed)).reshape(-1)

    def few_shot_prompts(self, k: int, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """``n`` prompts ``(n, k + 2)``: bos, ``k`` facts on distinct keys, one question; and the answers ``(n,)``
        as value indices ``0 .. n_values-1``."""
        if not 0 <= k <= self.n_keys:
            raise CourseError(f"k must lie in 0..{self.n_keys} (the facts use distinct keys), got {k}")
        mappings = self._mappings(n, generator)
        shown = torch.rand(n, self.n_keys, generator=generator).argsort(dim=1)[:, :k]  # k distinct keys per row
        asked = torch.randint(0, self.n_keys, (n, 1), generator=generator)
        prompts = torch.cat(
            [torch.full((n, 1), self.bos), self._facts(mappings, shown), self.first_question + asked], dim=1
        )
        return prompts, mappings.gather(1, asked)[:, 0]

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
    value_logits = logits[:, -1, task.first_answer : task.first_answer + task.n_values]  # (n, n_values)
    return (value_logits.argmax(dim=-1).cpu() == answers).double().mean().item()


def train_in_context(
    model: nn.Module,
    task: KeyValueTask,
    steps: int,
    *,
    batch_size: int = 64,
    lr: float = 1e-3,
    seed: int = 0,
    on_step: Callable[[int, float], None] | None = None,
) -> list[float]:
    """Train ``model`` on fresh task sequences for ``steps`` AdamW steps; returns the loss of every step.

    Every batch row is one whole sequence starting at ``bos`` (the course trainer's random windows would cut
    sequences and mix two mappings in one window). The learning rate stays constant: the lookup is learned in a
    sudden phase change after a plateau (as induction heads are, Olsson et al. 2022), and a decaying rate would
    only delay it. ``on_step(step, loss)`` runs after each step (e.g. to measure accuracy during training).
    With ``task = KeyValueTask(n_questions=16)`` a 1-layer, 1-head GPT with ``d_model=64`` reaches the
    Bayes-optimal accuracy in a few hundred steps on a CPU.
    """
    generator = torch.Generator().manual_seed(seed)
    device = next(model.parameters()).device
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    losses = []
    model.train()
    for step in range(steps):
        batch = task.sequences(batch_size, generator).to(device)
        _, loss = model(batch[:, :-1], batch[:, 1:])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if on_step is not None:
            on_step(step + 1, losses[-1])
    model.eval()
    return losses
