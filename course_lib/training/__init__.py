"""Training: learning-rate schedule, AdamW groups, resumable checkpoints, the LM trainer and its presets."""

from course_lib.training.checkpoint import load_checkpoint, save_checkpoint
from course_lib.training.optim import make_adamw, parameter_groups
from course_lib.training.schedule import warmup_cosine_lr
from course_lib.training.trainer import TrainConfig, Trainer, train_val_split

__all__ = [
    "TrainConfig", "Trainer", "load_checkpoint", "make_adamw", "parameter_groups", "save_checkpoint",
    "train_val_split", "warmup_cosine_lr",
]
