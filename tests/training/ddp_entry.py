"""The training command line with a test-sized preset: what the DDP tests start, alone or under torchrun.

    python tests/training/ddp_entry.py train gpt --preset ddp-micro ...
    python -m torch.distributed.run --standalone --nproc_per_node 2 tests/training/ddp_entry.py train gpt ...

With ``KILL_AT_STEP=k`` every rank dies abruptly (``os._exit``, no checkpoint, no cleanup) right after
optimizer step ``k``, as if the machine had lost power.
"""

from __future__ import annotations

import os
import sys

from course_lib import cli
from course_lib.training import presets
from course_lib.training.config import TrainConfig
from course_lib.training.presets import Preset
from course_lib.training.trainer import Trainer

DDP_MICRO = Preset(
    name="ddp-micro",
    device_type="cpu",
    description="test-sized, no dropout (every rank computes what one process would)",
    model=dict(block_size=16, n_layers=1, n_heads=2, d_model=16, dropout=0.0),
    train=TrainConfig(
        max_steps=6,
        batch_size=4,
        block_size=16,
        grad_accum_steps=4,
        warmup_steps=2,
        eval_interval=2,
        eval_batches=2,
        log_interval=1,
        sample_tokens=0,
    ),
)


def die_after_step(kill_at: int) -> None:
    real_train_step = Trainer.train_step

    def train_step_then_die(self: Trainer) -> float:
        loss = real_train_step(self)
        if self.step == kill_at:
            os._exit(1)
        return loss

    Trainer.train_step = train_step_then_die


if __name__ == "__main__":
    presets.PRESETS[DDP_MICRO.name] = DDP_MICRO
    if os.environ.get("KILL_AT_STEP"):
        die_after_step(int(os.environ["KILL_AT_STEP"]))
    sys.exit(cli.main(sys.argv[1:]))
