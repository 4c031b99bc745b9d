"""Which models ``llmcourse train MODEL`` can train: a small registry, so every model goes through the one
trainer (:class:`course_lib.training.trainer.Trainer`) and the one run directory format.

A :class:`ModelKind` says how to turn a vocabulary size and a preset's ``model`` fields into a config dict
(stored in every checkpoint, plain data) and how to build the ``nn.Module`` from that dict. The module must
follow the trainer's contract, ``forward(idx (B, T), targets (B, T)) -> (logits (B, T, V), loss)``, and have
``config.block_size`` (the longest context it takes) for sampling. Add a model with :func:`register_model`::

    register_model(ModelKind("lstm", make_config=..., build=...))

Torch is imported inside the functions so that ``llmcourse --help`` stays fast.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from course_lib.errors import CourseError

if TYPE_CHECKING:
    from torch import nn


@dataclass(frozen=True)
class ModelKind:
    name: str
    make_config: Callable[[int, dict[str, Any]], dict[str, Any]]  # (vocab_size, preset fields) -> config dict
    build: Callable[[dict[str, Any]], nn.Module]  # config dict -> model with fresh weights
    non_embedding_params: Callable[[nn.Module], int] | None = None  # N in the scaling laws (default: all)


def _gpt_config(vocab_size: int, fields: dict[str, Any]) -> dict[str, Any]:
    from course_lib.models.gpt import GPTConfig

    return GPTConfig(vocab_size=vocab_size, **fields).to_dict()


def _build_gpt(config: dict[str, Any]) -> nn.Module:
    from course_lib.models.gpt import GPT, GPTConfig

    return GPT(GPTConfig.from_dict(config))


def _neural_lm(name: str) -> ModelKind:
    """Lecture 4's window, RNN and LSTM LMs (``course_lib.models.neural_lm``)."""

    def make_config(vocab_size: int, fields: dict[str, Any]) -> dict[str, Any]:
        from course_lib.models import neural_lm

        config_cls = neural_lm.WindowLMConfig if name == "window" else neural_lm.RecurrentLMConfig
        return config_cls(vocab_size=vocab_size, **fields).to_dict()

    def build(config: dict[str, Any]) -> nn.Module:
        from course_lib.models import neural_lm

        if name == "window":
            return neural_lm.WindowLM(neural_lm.WindowLMConfig.from_dict(config))
        model_cls = neural_lm.RNNLM if name == "rnn" else neural_lm.LSTMLM
        return model_cls(neural_lm.RecurrentLMConfig.from_dict(config))

    return ModelKind(name, make_config, build)


MODELS: dict[str, ModelKind] = {
    "gpt": ModelKind("gpt", _gpt_config, _build_gpt, lambda model: model.num_params(non_embedding=True)),
    **{name: _neural_lm(name) for name in ("window", "rnn", "lstm")},
}


def register_model(kind: ModelKind) -> None:
    """Make ``llmcourse train NAME`` train ``kind`` (a later registration under the same name replaces it)."""
    MODELS[kind.name] = kind


def get_model_kind(name: str) -> ModelKind:
    try:
        return MODELS[name]
    except KeyError:
        raise CourseError(f"unknown model {name!r}; available: {', '.join(MODELS)}") from None


def non_embedding_params(kind: ModelKind, model: nn.Module) -> int:
    if kind.non_embedding_params is not None:
        return kind.non_embedding_params(model)
    return sum(p.numel() for p in model.parameters())
