"""``llmcourse train gpt|window|rnn|lstm ...`` and ``llmcourse generate ...``."""

from __future__ import annotations

import argparse

from course_lib.training.presets import PRESETS


def register(subparsers: argparse._SubParsersAction) -> None:
    train = subparsers.add_parser(
        "train",
        help="train a GPT, window, RNN or LSTM LM on a text corpus (resumable, with eval loss, samples and a log)",
        description="Train a character-level language model. Checkpoints and metrics.jsonl go to --out; Ctrl-C saves a "
        "checkpoint, and --resume continues the run exactly where it stopped.",
    )
    train.add_argument(
        "model", choices=["gpt", "window", "rnn", "lstm"], help="what to train (window, rnn, lstm: lecture 4's models)"
    )
    train.add_argument("--corpus", help="corpus name from `course_lib.data.list_corpora()` (default: tinyshakespeare)")
    train.add_argument("--tokenizer", help="tokenizer (default: char)")
    presets = "; ".join(f"{p.name}: {p.description}" for p in PRESETS.values())
    train.add_argument("--preset", help=f"model and training size (default: by device). {presets}")
    train.add_argument("--steps", type=int, help="optimizer steps in total (default: the preset's)")
    train.add_argument("--out", help="run directory (default: runs/MODEL-CORPUS-PRESET)")
    train.add_argument("--resume", action="store_true", help="continue the run saved in --out")
    train.add_argument("--device", help="cpu, cuda, cuda:N or mps (default: best available)")
    train.add_argument(
        "--compile",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="torch.compile the model (default: the preset's; on for gpu-small)",
    )
    train.add_argument("--seed", type=int, help="random seed of a fresh run (default: the preset's)")
    train.add_argument("--no-progress", action="store_true", help="no progress bar (logs and evals still print)")
    train.set_defaults(func=run_train)

    gen = subparsers.add_parser(
        "generate",
        help="sample text from a trained checkpoint",
        description="Continue a prompt with a model trained by `llmcourse train`.",
    )
    gen.add_argument("--checkpoint", required=True, help="run directory written by `llmcourse train`")
    gen.add_argument("--prompt", default="\n", help="text to continue (default: a newline)")
    gen.add_argument("--max-new-tokens", type=int, default=300, help="tokens to add (default: 300)")
    gen.add_argument("--num-samples", type=int, default=1, help="independent continuations (default: 1)")
    gen.add_argument("--greedy", action="store_true", help="always take the most likely token")
    gen.add_argument("--temperature", type=float, default=1.0, help="< 1 sharper, > 1 flatter; 0 is greedy")
    gen.add_argument("--top-k", type=int, help="sample only among the k most likely tokens")
    gen.add_argument("--top-p", type=float, help="sample only from the smallest set holding probability p")
    gen.add_argument("--num-beams", type=int, default=1, help="beam search with this many beams")
    gen.add_argument("--length-penalty", type=float, default=1.0, help="beam search: score / length**penalty")
    gen.add_argument("--seed", type=int, default=0, help="seed of the sampling generator (default: 0)")
    gen.add_argument("--device", help="cpu, cuda, cuda:N or mps (default: best available)")
    gen.set_defaults(func=run_generate)


def run_train(args: argparse.Namespace) -> int:
    from course_lib.errors import CourseError
    from course_lib.training.gpt_run import prepare_gpt_run, resolve_device
    from course_lib.training.presets import default_preset_name

    out = args.out
    if out is None:
        if args.resume:
            raise CourseError("--resume needs --out DIR: the run directory to continue")
        preset = args.preset or default_preset_name(resolve_device(args.device))
        out = f"runs/{args.model}-{args.corpus or 'tinyshakespeare'}-{preset}"
    trainer = prepare_gpt_run(
        model=args.model,
        corpus=args.corpus,
        tokenizer=args.tokenizer,
        preset=args.preset,
        steps=args.steps,
        out=out,
        resume=args.resume,
        device=args.device,
        compile=args.compile,
        seed=args.seed,
        progress=not args.no_progress,
    )
    meta, config = trainer.meta, trainer.config
    n_params = trainer.model.num_params()
    print(
        f"{meta['preset']} {meta['model']}, {n_params / 1e6:.2f}M parameters, on {trainer.device}; "
        f"{config.tokens_per_step} tokens/step; step {trainer.step} of {config.max_steps}; run dir {out}"
    )
    trainer.fit()
    if trainer.evals:
        last = trainer.evals[-1]
        print(f"done: step {last['step']}, val loss {last['val_loss']:.4f}; checkpoint in {out}")
    return 0


def run_generate(args: argparse.Namespace) -> int:
    from course_lib.training.gpt_run import load_gpt, sample_text

    model, tokenizer = load_gpt(args.checkpoint, args.device)
    samples = sample_text(
        model,
        tokenizer,
        args.prompt,
        args.max_new_tokens,
        num_samples=args.num_samples,
        seed=args.seed,
        do_sample=not args.greedy,
        temperature=args.temperature,
        top_k=args.top_k,
        top_p=args.top_p,
        num_beams=args.num_beams,
        length_penalty=args.length_penalty,
    )
    for i, text in enumerate(samples):
        if i:
            print("\n" + "-" * 40)
        print(args.prompt + text)
    return 0
