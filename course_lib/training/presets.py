"""Named model + training settings sized for a kind of machine (``--preset``).

- ``cpu-tiny``: a 2-core laptop CPU. A 0.8M-parameter model, 1500 steps of 24 x 128 characters. On
  tinyshakespeare (character level) its validation loss passes 1.80 nats/char at step 900 (about 7 minutes
  on a single core) and ends near 1.64 (``bench/bench_train_quality.py`` prints the curve).
- ``gpu-small``: one course GPU. nanoGPT's shakespeare-char model (6 layers, 384 wide, 256 context, dropout
  0.2) with bf16 autocast and ``torch.compile``; nanoGPT reports a validation loss near 1.47 after 5000 steps.

A preset can run on the other kind of device (it warns): the numbers stay the same, only the speed changes.
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from course_lib.errors import CourseError
from course_lib.training.config import TrainConfig

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class Preset:
    name: str
    device_type: str  # the kind of device it is sized for: "cpu" or "cuda"
    description: str
    model: dict[str, Any] = field(default_factory=dict)  # the model's config fields except vocab_size
    train: TrainConfig = field(default_factory=TrainConfig)
    kind: str = "gpt"  # the model it sizes (course_lib.training.models)


PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        Preset(
            name="cpu-tiny",
            device_type="cpu",
            description="0.8M-parameter GPT for a 2-core laptop CPU (val loss < 1.80 in ~7 min)",
            model=dict(block_size=128, n_layers=4, n_heads=4, d_model=128, dropout=0.0, bias=False),
            train=TrainConfig(
                max_steps=1500,
                batch_size=24,
                block_size=128,
                max_lr=3e-3,
                min_lr=3e-4,
                warmup_steps=100,
                weight_decay=0.1,
                beta2=0.99,
                grad_clip=1.0,
                eval_interval=100,
                eval_batches=10,
                log_interval=10,
                sample_tokens=200,
            ),
        ),
        Preset(
            name="gpu-small",
            device_type="cuda",
            description="10.7M-parameter GPT (nanoGPT shakespeare-char) for one course GPU",
            model=dict(block_size=256, n_layers=6, n_heads=6, d_model=384, dropout=0.2, bias=False),
            train=TrainConfig(
                max_steps=5000,
                batch_size=64,
                block_size=256,
                max_lr=1e-3,
                min_lr=1e-4,
                warmup_steps=100,
                weight_decay=0.1,
                beta2=0.99,
                grad_clip=1.0,
                eval_interval=500,
                eval_batches=50,
                log_interval=50,
                sample_tokens=300,
                compile=True,
            ),
        ),
        *(
            Preset(
                name=f"{kind}-cpu",
                device_type="cpu",
                description=f"lecture 4's {kind} LM for a laptop CPU",
                model=sizes,
                train=TrainConfig(
                    max_steps=2000,
                    batch_size=32,
                    block_size=64,
                    max_lr=3e-3,
                    min_lr=3e-4,
                    warmup_steps=50,
                    weight_decay=0.0,
                    grad_clip=1.0,
                    eval_interval=200,
                    eval_batches=10,
                    log_interval=20,
                    sample_tokens=200,
                ),
                kind=kind,
            )
            for kind, sizes in (
                ("window", dict(context=8, d_embed=32, d_hidden=512)),
                ("rnn", dict(d_embed=64, d_hidden=256, n_layers=1)),
                ("lstm", dict(d_embed=64, d_hidden=256, n_layers=1)),
            )
        ),
    )
}


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise CourseError(f"unknown preset {name!r}; available: {', '.join(PRESETS)}") from None


def default_preset_name(device: torch.device, kind: str = "gpt") -> str:
    """The first preset for model ``kind`` sized for ``device`` (for GPT: ``gpu-small`` on CUDA, ``cpu-tiny``
    elsewhere); a preset for another device when there is none."""
    device_type = "cuda" if device.type == "cuda" else "cpu"
    candidates = [p for p in PRESETS.values() if p.kind == kind]
    if not candidates:
        raise CourseError(f"no preset for model {kind!r}")
    return next((p.name for p in candidates if p.device_type == device_type), candidates[0].name)


def train_config_for(
    preset: Preset,
    device: torch.device,
    *,
    steps: int | None = None,
    compile: bool | None = None,
    seed: int | None = None,
    grad_accum_steps: int | None = None,
) -> TrainConfig:
    """The preset's TrainConfig with command-line overrides; warns when the preset targets another device."""
    if device.type != preset.device_type:
        warnings.warn(
            f"preset {preset.name!r} is sized for {preset.device_type}, running on {device.type}: "
            f"expect it to be {'slow' if device.type == 'cpu' else 'under-using the device'}",
            stacklevel=2,
        )
    overrides: dict[str, Any] = {}
    if steps is not None:
        if steps < 1:
            raise CourseError(f"--steps must be at least 1, got {steps}")
        overrides["max_steps"] = steps
        overrides["warmup_steps"] = min(preset.train.warmup_steps, steps // 10)
    if compile is not None:
        overrides["compile"] = compile
    if seed is not None:
        overrides["seed"] = seed
    if grad_accum_steps is not None:
        if grad_accum_steps < 1:
            raise CourseError(f"--grad-accum-steps must be at least 1, got {grad_accum_steps}")
        overrides["grad_accum_steps"] = grad_accum_steps
    return dataclasses.replace(preset.train, **overrides)
