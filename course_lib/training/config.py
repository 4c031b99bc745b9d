"""Optimisation and bookkeeping settings of a training run (plain data: no torch, so ``--help`` stays fast)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TrainConfig:
    """Optimisation and bookkeeping settings (the model's shape lives in the model's own config)."""

    max_steps: int = 2000
    batch_size: int = 32  # windows per micro-batch
    block_size: int = 128  # tokens per window (at most the model's context length)
    grad_accum_steps: int = 1
    max_lr: float = 1e-3
    min_lr: float = 1e-4
    warmup_steps: int = 100
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.99
    grad_clip: float = 1.0  # max global gradient norm; 0 turns clipping off
    eval_interval: int = 250  # steps between validation passes (and checkpoints)
    eval_batches: int = 20  # micro-batches averaged per split for each evaluation
    log_interval: int = 10  # steps between metrics-log lines
    sample_tokens: int = 200  # length of the text sample printed at each evaluation; 0 for none
    seed: int = 1337
    compile: bool = False  # torch.compile the model (worth it on GPUs)

    @property
    def tokens_per_step(self) -> int:
        return self.batch_size * self.block_size * self.grad_accum_steps
