"""Set up, resume and sample a character-level training run: the library behind ``llmcourse train
gpt|window|rnn|lstm`` and ``llmcourse generate`` (the models by name: ``course_lib.models.registry``).

A run lives in one directory: ``checkpoint.pt`` (see ``course_lib.training.checkpoint``) and
``metrics.jsonl`` (one JSON object per logged step).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from course_lib.data import load_corpus
from course_lib.decoding import generate
from course_lib.device import get_device, seed_everything
from course_lib.errors import CourseError
from course_lib.models.gpt import GPT
from course_lib.models.registry import build_model, config_from_dict, make_config
from course_lib.tokenizers import CharTokenizer
from course_lib.training.checkpoint import has_checkpoint, load_checkpoint
from course_lib.training.config import TrainConfig
from course_lib.training.presets import default_preset_name, get_preset, train_config_for
from course_lib.training.tokenizer_io import build_tokenizer, encode, tokenizer_from_state, tokenizer_to_state
from course_lib.training.trainer import METRICS_FILE, Trainer, train_val_split

SAMPLE_PROMPT = "\n"


def resolve_device(name: str | None) -> torch.device:
    try:
        return get_device(name)
    except ValueError as err:
        raise CourseError(str(err)) from None


@dataclass
class _RunSpec:
    """What a run is made of, whether fresh or read back from a checkpoint."""

    corpus: str
    preset: str
    tokenizer: CharTokenizer
    model_config: Any  # GPTConfig, WindowLMConfig or RecurrentLMConfig
    train_config: TrainConfig
    state: dict[str, Any] | None = None  # the checkpoint to continue from
    model: str = "gpt"  # the kind of model (course_lib.models.registry)


def prepare_gpt_run(
    *,
    model: str = "gpt",
    corpus: str | None = None,
    tokenizer: str | None = None,
    preset: str | None = None,
    steps: int | None = None,
    out: str | Path | None = None,
    resume: bool = False,
    device: str | None = None,
    compile: bool | None = None,
    seed: int | None = None,
    progress: bool = True,
    verbose: bool = True,
) -> Trainer:
    """A :class:`Trainer` for a fresh run, or (``resume=True``) the run saved in ``out``, ready to ``fit()``.

    A fresh run refuses a directory that already holds a checkpoint; a resumed one takes the corpus,
    tokenizer, preset and model from the checkpoint (``steps`` may extend it; the cosine then stretches).
    """
    dev = resolve_device(device)
    if resume:
        spec = _resumed_spec(out, corpus=corpus, tokenizer=tokenizer, preset=preset, steps=steps, compile=compile)
        if model != spec.model:
            raise CourseError(f"the run in {str(out)!r} trains a {spec.model!r} model, not {model!r}")
        text = load_corpus(spec.corpus)
    else:
        if out is not None and has_checkpoint(out):
            raise CourseError(
                f"{str(out)!r} already holds a checkpoint: pass --resume to continue it, or choose another --out"
            )
        corpus = corpus or "tinyshakespeare"
        chosen = get_preset(preset or default_preset_name(dev))
        text = load_corpus(corpus)
        tok = build_tokenizer(tokenizer or "char", text)
        spec = _RunSpec(
            corpus,
            chosen.name,
            tok,
            make_config(model, tok.vocab_size, chosen.name, chosen.model),
            train_config_for(chosen, dev, steps=steps, compile=compile, seed=seed),
        )
        if out is not None:
            (Path(out) / METRICS_FILE).unlink(missing_ok=True)  # a log without its checkpoint is stale

    ids = torch.tensor(encode(spec.tokenizer, text), dtype=torch.long)
    train_ids, val_ids = train_val_split(ids, 0.1)
    config = spec.train_config
    seed_everything(config.seed)  # the model's initial weights; a resumed run restores every RNG below
    net = build_model(model, spec.model_config)
    prompt = SAMPLE_PROMPT if SAMPLE_PROMPT in text else text[0]

    def sampler(m: torch.nn.Module) -> str:
        return sample_text(m, spec.tokenizer, prompt, config.sample_tokens, temperature=0.8, seed=config.seed)[0]

    meta: dict[str, Any] = {
        "model": model,
        "corpus": spec.corpus,
        "preset": spec.preset,
        "tokenizer": tokenizer_to_state(spec.tokenizer),
        "model_config": spec.model_config.to_dict(),
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
    )
    if spec.state is not None:
        trainer.load_state_dict(spec.state)
    return trainer


def _resumed_spec(
    out: str | Path | None,
    *,
    corpus: str | None,
    tokenizer: str | None,
    preset: str | None,
    steps: int | None,
    compile: bool | None,
) -> _RunSpec:
    if out is None or not has_checkpoint(out):
        raise CourseError(f"nothing to resume: {str(out)!r} holds no checkpoint (start a run without --resume)")
    state = load_checkpoint(out)  # on the CPU, where RNG states live; the optimizer moves its tensors itself
    meta = state["meta"]
    for given, saved, what in (
        (corpus, meta["corpus"], "corpus"),
        (preset, meta["preset"], "preset"),
        (tokenizer, meta["tokenizer"]["kind"], "tokenizer"),
    ):
        if given is not None and given != saved:
            raise CourseError(f"--{what} {given} does not match the checkpoint's {what} {saved}")
    overrides = {k: v for k, v in (("max_steps", steps), ("compile", compile)) if v is not None}
    config = dataclasses.replace(TrainConfig(**state["train_config"]), **overrides)
    if config.max_steps <= state["step"]:
        raise CourseError(
            f"the run in {str(out)!r} already finished {state['step']} steps; "
            f"pass --steps N with N > {state['step']} to train longer"
        )
    return _RunSpec(
        meta["corpus"],
        meta["preset"],
        tokenizer_from_state(meta["tokenizer"]),
        config_from_dict(meta.get("model", "gpt"), meta["model_config"]),
        config,
        state,
        meta.get("model", "gpt"),
    )


def load_gpt(checkpoint_dir: str | Path, device: str | None = None) -> tuple[torch.nn.Module, CharTokenizer]:
    """The trained model (eval mode, on ``device``; a GPT or another registry model) and tokenizer saved in
    ``checkpoint_dir``."""
    dev = resolve_device(device)
    state = load_checkpoint(checkpoint_dir)
    meta = state["meta"]
    kind = meta.get("model", "gpt")
    model = build_model(kind, config_from_dict(kind, meta["model_config"]))
    model.load_state_dict(state["model"])
    return model.to(dev).eval(), tokenizer_from_state(meta["tokenizer"])


def sample_text(
    model: GPT,
    tokenizer: CharTokenizer,
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
    device = next(model.parameters()).device
    if not isinstance(model, GPT):  # window and recurrent LMs: temperature sampling with their own generate()
        generator = torch.Generator(device=device).manual_seed(seed)
        ids = torch.tensor(encode(tokenizer, prompt), dtype=torch.long, device=device)
        temperature = decoding.get("temperature", 1.0) if decoding.get("do_sample", True) else 1e-4
        return [
            tokenizer.decode(model.generate(ids, max_new_tokens, temperature or 1e-4, generator).tolist())
            for _ in range(num_samples)
        ]
    ids = encode(tokenizer, prompt)[-model.config.block_size :]
    idx = torch.tensor([ids] * num_samples, dtype=torch.long, device=device)  # (num_samples, T)
    generator = torch.Generator(device=device).manual_seed(seed)
    try:
        out = generate(model, idx, max_new_tokens, generator=generator, **decoding)
    except ValueError as err:
        raise CourseError(str(err)) from None
    return [tokenizer.decode(row[len(ids) :].tolist()) for row in out]
