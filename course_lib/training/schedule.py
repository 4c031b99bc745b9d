"""Learning-rate schedule: linear warmup, then cosine decay to a floor (GPT-2/3, Chinchilla, nanoGPT).

Warmup keeps the first AdamW updates small while its second-moment estimates are still noisy; the cosine
then anneals the step size smoothly so the model settles into a minimum instead of bouncing around it.
"""

from __future__ import annotations

import math


def warmup_cosine_lr(step: int, *, max_lr: float, min_lr: float, warmup_steps: int, total_steps: int) -> float:
    """Learning rate for optimizer step ``step`` (0-based).

    - ``step < warmup_steps``: linear ramp ``max_lr * (step + 1) / warmup_steps`` (never exactly 0);
    - ``warmup_steps <= step < total_steps``: ``min_lr + (max_lr - min_lr) * (1 + cos(pi * p)) / 2`` with
      ``p = (step - warmup_steps) / (total_steps - warmup_steps)`` going from 0 to 1;
    - afterwards: ``min_lr``.
    """
    if not 0 <= min_lr <= max_lr:
        raise ValueError(f"need 0 <= min_lr <= max_lr, got min_lr={min_lr}, max_lr={max_lr}")
    if warmup_steps < 0 or total_steps < 1:
        raise ValueError(f"need warmup_steps >= 0 and total_steps >= 1, got {warmup_steps} and {total_steps}")
    if step < warmup_steps:
        return max_lr * (step + 1) / warmup_steps
    if step >= total_steps:
        return min_lr
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return min_lr + (max_lr - min_lr) * 0.5 * (1.0 + math.cos(math.pi * progress))
