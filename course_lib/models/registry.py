"""The language models ``llmcourse train`` builds, by name, with their sizes for each training preset.

All of them follow the GPT interface the trainer needs, ``forward(idx, targets) -> (logits, loss)``, and save
their config with ``to_dict`` / ``from_dict``. GPT's sizes live in the presets themselves
(``course_lib.training.presets``); the neural LMs of lecture 4 get theirs here.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from course_lib.errors import CourseError
from course_lib.models.gpt import GPT, GPTConfig
from course_lib.models.neural_lm import LSTMLM, RNNLM, RecurrentLMConfig, WindowLM, WindowLMConfig

MODELS: dict[str, tuple[type[nn.Module], Any]] = {
    "gpt": (GPT, GPTConfig),
    "window": (WindowLM, WindowLMConfig),
    "rnn": (RNNLM, RecurrentLMConfig),
    "lstm": (LSTMLM, RecurrentLMConfig),
}

_RECURRENT = {
    "cpu-tiny": dict(d_embed=64, d_hidden=256, n_layers=1),  # about 0.3M parameters for 65 characters
    "gpu-small": dict(d_embed=128, d_hidden=1024, n_layers=2),
}
SIZES: dict[str, dict[str, dict[str, Any]]] = {
    "window": {
        "cpu-tiny": dict(context=8, d_embed=32, d_hidden=512),
        "gpu-small": dict(context=16, d_embed=64, d_hidden=2048),
    },
    "rnn": _RECURRENT,
    "lstm": _RECURRENT,
}


def _check(kind: str) -> None:
    if kind not in MODELS:
        raise CourseError(f"unknown model {kind!r}; choose one of {', '.join(MODELS)}")


def make_config(kind: str, vocab_size: int, preset: str, preset_model: dict[str, Any]) -> Any:
    """The config of a fresh ``kind`` model for a preset: GPT takes the preset's own fields; the others take
    their sizes for that preset (or the ``cpu-tiny`` ones for a preset they do not know, such as a test's)."""
    _check(kind)
    _, config_cls = MODELS[kind]
    if kind == "gpt":
        return config_cls(vocab_size=vocab_size, **preset_model)
    sizes = SIZES[kind].get(preset, SIZES[kind]["cpu-tiny"])
    return config_cls(vocab_size=vocab_size, **sizes)


def config_from_dict(kind: str, values: dict[str, Any]) -> Any:
    _check(kind)
    return MODELS[kind][1].from_dict(values)


def build_model(kind: str, config: Any) -> nn.Module:
    _check(kind)
    return MODELS[kind][0](config)
