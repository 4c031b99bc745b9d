"""Set up, resume and sample a training run: the library behind ``llmcourse train`` and ``llmcourse generate``.

A run lives in one directory: ``checkpoint.pt`` (see ``course_lib.training.checkpoint``) and
``metrics.jsonl`` (one JSON object per logged step). Its text comes either from a corpus, tokenized in memory
at start-up, or from a dataset prepared once by ``llmcourse prepare`` (``--data DIR``: memory-mapped token
files, :mod:`course_lib.data.token_files`). The model comes from the registry in
:mod:`course_lib.training.models` (``gpt`` by default).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from course_lib.data import load_corpus
from course_lib.data.token_files import open_tokens, read_meta
from course_lib.decoding import generate
from course_lib.device import get_device, seed_everything
from course_lib.errors import CourseError
from course_lib.models.gpt import GPT
from course_lib.tokenizers import Tokenizer
from course_lib.tokenizers.registry import build_tokenizer, encode, tokenizer_from_state, tokenizer_to_state
from course_lib.training.checkpoint import CHECKPOINT_FILE, has_checkpoint, load_checkpoint
from course_lib.training.config import TrainConfig
from course_lib.training.distributed import SINGLE, DistContext
from course_lib.training.models import get_model_kind
from course_lib.training.presets import Preset, default_preset_name, get_preset, train_config_for
from course_lib.training.trainer import METRICS_FILE, Trainer, train_val_split

SAMPLE_PROMPT = "\n"
DEFAULT_CORPUS = "tinyshakespeare"


def resolve_device(name: str | None) -> torch.device:
    try:
        return get_device(name)
    except ValueError as err:
        raise CourseError(str(err)) from None


@dataclass
class _RunSpec:
    """What a run is made of, whether fresh or read back from a checkpoint."""

    model: str  # a name in course_lib.training.models.MODELS
    corpus: str
    data: str | None  # a prepared dataset directory, or None: tokenize the corpus in memory
    preset: str
    tokenizer: Tokenizer
    tokenizer_spec: str  # how it was built: "char", "bpe:512"
    model_config: dict[str, Any]
    train_config: TrainConfig
    state: dict[str, Any] | None = None  # the checkpoint to continue from


def prepare_run(
    *,
    model: str = "gpt",
    corpus: str | None = None,
    data: str | Path | None = None,
    tokenizer: str | None = None,
    preset: str | Preset | None = None,
    steps: int | None = None,
    out: str | Path | None = None,
    resume: bool = False,
    device: str | torch.device | None = None,
    compile: bool | None = None,
    seed: int | None = None,
    grad_accum_steps: int | None = None,
    progress: bool = True,
    verbose: bool = True,
    dist: DistContext = SINGLE,
    finished_ok: bool = False,
) -> Trainer:
    """A :class:`Trainer` for a fresh run, or (``resume=True``) the run saved in ``out``, ready to ``fit()``.

    A fresh run refuses a directory that already holds a checkpoint; a resumed one takes the model, data,
    tokenizer and preset from the checkpoint (``steps`` may extend it; the cosine then stretches).
    ``data``: a directory written by ``llmcourse prepare`` (then ``corpus`` and ``tokenizer`` come from it).
    ``preset``: a name from ``PRESETS`` or a :class:`Preset` (the sweep runner builds one per grid point).
    Under ``torchrun`` pass ``dist`` (:func:`~course_lib.training.distributed.init_distributed`).
    ``finished_ok``: resuming a finished run returns its trainer (``fit()`` then does nothing) instead of an error.
    """
    dev = device if isinstance(device, torch.device) else resolve_device(device)
    if resume:
        spec = _resumed_spec(out, model=model, corpus=corpus, data=data, tokenizer=tokenizer, preset=preset)
        overrides_train = {k: v for k, v in (("max_steps", steps), ("compile", compile)) if v is not None}
        spec.train_config = dataclasses.replace(spec.train_config, **overrides_train)
        if spec.train_config.max_steps <= spec.state["step"] and not finished_ok:
            raise CourseError(
                f"the run in {str(out)!r} already finished {spec.state['step']} steps; "
                f"pass --steps N with N > {spec.state['step']} to train longer"
            )
    else:
        spec = _fresh_spec(model, corpus, data, tokenizer, preset, dev, steps, compile, seed, grad_accum_steps)
        if out is not None and has_checkpoint(out):
            raise CourseError(
                f"{str(out)!r} already holds a checkpoint: pass --resume to continue it, or choose another --out"
            )
        if out is not None and dist.is_main:
            (Path(out) / METRICS_FILE).unlink(missing_ok=True)  # a log without its checkpoint is stale

    config = spec.train_config
    if config.grad_accum_steps % dist.world_size:
        raise CourseError(
            f"{dist.world_size} ranks cannot share {config.grad_accum_steps} micro-batches per step: pass "
            f"--grad-accum-steps with a multiple of {dist.world_size} (the global batch grows with it)"
        )
    train_ids, val_ids = _token_splits(spec)
    kind = get_model_kind(spec.model)
    seed_everything(config.seed)  # the model's initial weights; a resumed run restores every RNG below
    net = kind.build(spec.model_config)
    prompt_ids = _sample_prompt(spec.tokenizer, val_ids)

    def sampler(m: nn.Module) -> str:
        return sample_ids(m, spec.tokenizer, prompt_ids, config.sample_tokens, temperature=0.8, seed=config.seed)[0]

    meta: dict[str, Any] = {
        "model": spec.model,
        "corpus": spec.corpus,
        "data": spec.data,
        "preset": spec.preset,
        "tokenizer": tokenizer_to_state(spec.tokenizer),
        "tokenizer_spec": spec.tokenizer_spec,
        "model_config": spec.model_config,
    }
    trainer = Trainer(
        net,
        config,
        train_ids,
        val_ids,
        device=dev,
        out_dir=out,
        sampler=sampler,
        meta=meta,
        progress=progress,
        verbose=verbose,
        dist=dist,
    )
    if spec.state is not None:
        trainer.load_state_dict(spec.state)
    return trainer


def prepare_gpt_run(**options: Any) -> Trainer:
    """:func:`prepare_run` for a GPT (the name notebooks and older scripts use)."""
    return prepare_run(model="gpt", **options)


def _fresh_spec(
    model: str,
    corpus: str | None,
    data: str | Path | None,
    tokenizer: str | None,
    preset: str | Preset | None,
    dev: torch.device,
    steps: int | None,
    compile: bool | None,
    seed: int | None,
    grad_accum_steps: int | None,
) -> _RunSpec:
    kind = get_model_kind(model)
    chosen = preset if isinstance(preset, Preset) else get_preset(preset or default_preset_name(dev, kind.name))
    if chosen.kind != kind.name:
        raise CourseError(f"preset {chosen.name!r} sizes a {chosen.kind} model, not a {kind.name}")
    if data is not None:
        if corpus is not None or tokenizer is not None:
            raise CourseError("--data comes with its own corpus and tokenizer: drop --corpus and --tokenizer")
        meta = read_meta(data)
        corpus_name, spec_name = meta["corpus"], meta["tokenizer_spec"]
        tok = tokenizer_from_state(meta["tokenizer"])
        data = str(Path(data).resolve())
    else:
        corpus_name, spec_name = corpus or DEFAULT_CORPUS, tokenizer or "char"
        tok = build_tokenizer(spec_name, load_corpus(corpus_name))
    try:
        model_config = kind.make_config(tok.vocab_size, chosen.model)
    except (TypeError, ValueError) as err:
        raise CourseError(f"model settings: {err}") from None
    train_config = train_config_for(
        chosen, dev, steps=steps, compile=compile, seed=seed, grad_accum_steps=grad_accum_steps
    )
    return _RunSpec(kind.name, corpus_name, data, chosen.name, tok, spec_name, model_config, train_config)


def _token_splits(spec: _RunSpec) -> tuple[torch.Tensor | np.ndarray, torch.Tensor | np.ndarray]:
    """Training and validation tokens: memory maps of a prepared dataset, or the corpus tokenized now."""
    if spec.data is not None:
        return open_tokens(spec.data, "train"), open_tokens(spec.data, "val")
    ids = torch.tensor(encode(spec.tokenizer, load_corpus(spec.corpus)), dtype=torch.long)
    return train_val_split(ids, 0.1)


def _sample_prompt(tokenizer: Tokenizer, val_ids: torch.Tensor | np.ndarray) -> list[int]:
    """A newline when the tokenizer has one (plays and docs start lines), else the first validation token."""
    try:
        return tokenizer.encode(SAMPLE_PROMPT)
    except ValueError:
        return [int(val_ids[0])]


def _resumed_spec(
    out: str | Path | None,
    *,
    model: str,
    corpus: str | None,
    data: str | Path | None,
    tokenizer: str | None,
    preset: str | None,
) -> _RunSpec:
    if out is None or not has_checkpoint(out):
        raise CourseError(f"nothing to resume: {str(out)!r} holds no checkpoint (start a run without --resume)")
    state = load_checkpoint(out)  # on the CPU, where RNG states live; the optimizer moves its tensors itself
    meta = state["meta"]
    saved_data = meta.get("data")
    for given, saved, what in (
        (model if model != "gpt" else None, meta.get("model", "gpt"), "model"),
        (corpus, meta["corpus"], "corpus"),
        (str(Path(data).resolve()) if data is not None else None, saved_data, "data"),
        (preset, meta["preset"], "preset"),
        (tokenizer, meta.get("tokenizer_spec", "char"), "tokenizer"),
    ):
        if given is not None and given != saved:
            raise CourseError(f"--{what} {given} does not match the checkpoint's {what} {saved}")
    return _RunSpec(
        meta.get("model", "gpt"),
        meta["corpus"],
        saved_data,
        meta["preset"],
        tokenizer_from_state(meta["tokenizer"]),
        meta.get("tokenizer_spec", "char"),
        meta["model_config"],
        TrainConfig(**state["train_config"]),
        state,
    )


def checkpoint_dir(path: str | Path) -> Path:
    """The run directory of ``path``: the directory itself, or the folder of its ``checkpoint.pt``."""
    path = Path(path)
    return path.parent if path.name == CHECKPOINT_FILE and path.is_file() else path


def load_model(checkpoint: str | Path, device: str | None = None) -> tuple[nn.Module, Tokenizer]:
    """The trained model (eval mode, on ``device``) and tokenizer saved in a run directory (or its
    ``checkpoint.pt``)."""
    dev = resolve_device(device)
    state = load_checkpoint(checkpoint_dir(checkpoint))
    meta = state["meta"]
    kind = get_model_kind(meta.get("model", "gpt"))
    model = kind.build(meta["model_config"])
    model.load_state_dict(state["model"])
    return model.to(dev).eval(), tokenizer_from_state(meta["tokenizer"])


def load_gpt(checkpoint: str | Path, device: str | None = None) -> tuple[GPT, Tokenizer]:
    """Like :func:`load_model`, for a GPT run (a CourseError for any other model)."""
    model, tokenizer = load_model(checkpoint, device)
    if not isinstance(model, GPT):
        raise CourseError(f"{str(checkpoint)!r} holds a {type(model).__name__} checkpoint, not a GPT")
    return model, tokenizer


def sample_text(
    model: nn.Module,
    tokenizer: Tokenizer,
    prompt: str,
    max_new_tokens: int,
    *,
    num_samples: int = 1,
    seed: int = 0,
    **decoding: Any,
) -> list[str]:
    """``num_samples`` continuations of ``prompt`` (text after the prompt only), decoded with ``decoding``
    options of :func:`course_lib.decoding.generate` (temperature, top_k, top_p, do_sample, num_beams, ...)."""
    if not prompt:
        raise CourseError("the prompt is empty: give at least one character")
    return sample_ids(
        model, tokenizer, encode(tokenizer, prompt), max_new_tokens, num_samples=num_samples, seed=seed, **decoding
    )


def sample_ids(
    model: nn.Module,
    tokenizer: Tokenizer,
    prompt_ids: list[int],
    max_new_tokens: int,
    *,
    num_samples: int = 1,
    seed: int = 0,
    **decoding: Any,
) -> list[str]:
    """:func:`sample_text` from a prompt already tokenized."""
    if num_samples < 1:
        raise CourseError(f"num_samples must be at least 1, got {num_samples}")
    device = next(model.parameters()).device
    ids = prompt_ids[-model.config.block_size :]
    idx = torch.tensor([ids] * num_samples, dtype=torch.long, device=device)  # (num_samples, T)
    generator = torch.Generator(device=device).manual_seed(seed)
    try:
        decoding.setdefault("use_cache", hasattr(model, "make_cache"))  # recurrent and window LMs have no KV cache
        out = generate(model, idx, max_new_tokens, generator=generator, **decoding)
    except ValueError as err:
        raise CourseError(str(err)) from None
    return [tokenizer.decode(row[len(ids) :].tolist()) for row in out]
