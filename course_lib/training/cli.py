"""``llmcourse train``, ``prepare``, ``sweep`` and ``generate``.

Also runnable as a module (the ``llmcourse`` command line), which is how ``torchrun`` starts one copy per rank::

    torchrun --standalone --nproc_per_node=2 -m course_lib.training.cli train gpt --data data/shakespeare-char
"""

from __future__ import annotations

import argparse
import sys

from course_lib.training.models import MODELS
from course_lib.training.presets import PRESETS

# Decoding options whose Python names appear in library errors, and the flags that set them.
_DECODING_FLAGS = ("max_new_tokens", "num_samples", "num_beams", "length_penalty", "temperature", "top_k", "top_p")


def register(subparsers: argparse._SubParsersAction) -> None:
    _register_train(subparsers)
    _register_prepare(subparsers)
    _register_sweep(subparsers)
    _register_generate(subparsers)


def _register_train(subparsers: argparse._SubParsersAction) -> None:
    cpu_tiny = PRESETS["cpu-tiny"]
    train = subparsers.add_parser(
        "train",
        help="train a language model on a text corpus (resumable, with eval loss, samples and a metrics log)",
        description="Train a language model (a GPT by default). Checkpoints and metrics.jsonl go to --out; Ctrl-C "
        "saves a checkpoint, and --resume continues the run exactly where it stopped. Under torchrun "
        "(`torchrun --standalone --nproc_per_node=N -m course_lib.training.cli train gpt ...`) the same command "
        f"trains data-parallel. Sizes: {cpu_tiny.name}: {cpu_tiny.description}.",
    )
    train.add_argument("model", choices=sorted(MODELS), help="what to train")
    data = train.add_mutually_exclusive_group()
    data.add_argument("--corpus", help="corpus name from `course_lib.data.list_corpora()` (default: tinyshakespeare)")
    data.add_argument("--data", help="a dataset directory written by `llmcourse prepare` (memory-mapped tokens)")
    train.add_argument("--tokenizer", help="char, bpe or bpe:VOCAB_SIZE (default: char; not with --data)")
    presets = "; ".join(f"{p.name}: {p.description}" for p in PRESETS.values())
    train.add_argument("--preset", help=f"model and training size (default: by device). {presets}")
    train.add_argument("--steps", type=int, help="optimizer steps in total (default: the preset's)")
    train.add_argument("--out", help="run directory (default: runs/MODEL-CORPUS-PRESET)")
    train.add_argument("--resume", action="store_true", help="continue the run saved in --out")
    train.add_argument(
        "--device", help="cpu, cuda, cuda:N or mps (default: best available; cuda:LOCAL_RANK under torchrun)"
    )
    train.add_argument(
        "--compile",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="torch.compile the model (default: the preset's; on for gpu-small)",
    )
    train.add_argument("--seed", type=int, help="random seed of a fresh run (default: the preset's)")
    train.add_argument(
        "--grad-accum-steps",
        type=int,
        help="micro-batches per optimizer step, a multiple of the number of torchrun ranks (default: the preset's)",
    )
    train.add_argument(
        "--threads",
        type=int,
        help="torch threads per process (default: the usable cores shared among the ranks, one left free when "
        "there are more than two; see README)",
    )
    train.add_argument("--no-progress", action="store_true", help="no progress bar (logs and evals still print)")
    train.set_defaults(func=run_train)


def _register_prepare(subparsers: argparse._SubParsersAction) -> None:
    prep = subparsers.add_parser(
        "prepare",
        help="tokenize a corpus once into memory-mapped train.bin/val.bin for `train --data`",
        description="Train the tokenizer on the first 90% of the corpus and write DIR/train.bin, DIR/val.bin "
        "(uint16 or uint32 token ids) and DIR/meta.json. Files appear only when complete.",
    )
    prep.add_argument("--corpus", required=True, help="corpus name from `course_lib.data.list_corpora()`")
    prep.add_argument("--tokenizer", default="char", help="char, bpe or bpe:VOCAB_SIZE (default: char)")
    prep.add_argument("--out", required=True, help="dataset directory to create")
    prep.add_argument("--no-progress", action="store_true", help="no progress bar")
    prep.set_defaults(func=run_prepare)


def _register_sweep(subparsers: argparse._SubParsersAction) -> None:
    from course_lib.training.sweep import PRESET_GRIDS

    sweep = subparsers.add_parser(
        "sweep",
        help="train a grid of model sizes x token (or compute) budgets and write one result row per run (scaling laws)",
        description="Train every point of a grid (a JSON file, or a built-in grid: "
        f"{', '.join(PRESET_GRIDS)}) and append one row per finished run to DIR/results.jsonl and "
        "DIR/results.csv: N (non-embedding parameters), D (tokens), C = 6ND, final train/val loss, wall time. "
        "Rerunning skips finished points and resumes an interrupted one.",
    )
    sweep.add_argument("--grid", required=True, help="a grid JSON file or a built-in grid name")
    sweep.add_argument("--out", required=True, help="sweep directory (one run directory per point inside)")
    sweep.add_argument("--device", help="cpu, cuda, cuda:N or mps (default: best available)")
    sweep.add_argument("--threads", type=int, help="torch threads (default: as for train)")
    sweep.add_argument("--no-progress", action="store_true", help="no progress bars")
    sweep.set_defaults(func=run_sweep)


def _register_generate(subparsers: argparse._SubParsersAction) -> None:
    gen = subparsers.add_parser(
        "generate",
        help="sample text from a trained checkpoint",
        description="Continue a prompt with a model trained by `llmcourse train`.",
    )
    gen.add_argument(
        "--checkpoint", required=True, help="a run directory written by `llmcourse train`, or its checkpoint.pt"
    )
    gen.add_argument("--prompt", default="\n", help="text to continue (default: a newline)")
    gen.add_argument("--max-new-tokens", type=int, default=300, help="tokens to add (default: 300)")
    gen.add_argument("--num-samples", type=int, default=1, help="independent continuations (default: 1)")
    gen.add_argument("--greedy", action="store_true", help="always take the most likely token (no sampling flags)")
    gen.add_argument("--temperature", type=float, help="< 1 sharper, > 1 flatter; 0 is greedy (default: 1)")
    gen.add_argument("--top-k", type=int, help="sample only among the k most likely tokens")
    gen.add_argument("--top-p", type=float, help="sample only from the smallest set holding probability p")
    gen.add_argument("--num-beams", type=int, default=1, help="beam search with this many beams")
    gen.add_argument("--length-penalty", type=float, default=1.0, help="beam search: score / length**penalty")
    gen.add_argument("--seed", type=int, default=0, help="seed of the sampling generator (default: 0)")
    gen.add_argument("--device", help="cpu, cuda, cuda:N or mps (default: best available)")
    gen.set_defaults(func=run_generate)


def set_threads(threads: int | None, world_size: int = 1) -> int:
    """Set torch's intra-op threads (``--threads``, else :func:`~course_lib.training.distributed.default_threads`)."""
    import torch

    from course_lib.errors import CourseError
    from course_lib.training.distributed import default_threads

    if threads is not None and threads < 1:
        raise CourseError(f"--threads must be at least 1, got {threads}")
    chosen = threads or default_threads(world_size)
    torch.set_num_threads(chosen)
    return chosen


def run_train(args: argparse.Namespace) -> int:
    from course_lib.errors import CourseError
    from course_lib.training.distributed import init_distributed, shutdown_distributed
    from course_lib.training.gpt_run import prepare_run, resolve_device
    from course_lib.training.presets import default_preset_name

    device = resolve_device(args.device)
    dist = init_distributed(device.type)
    try:
        if dist.enabled and device.type == "cuda":
            device = resolve_device(f"cuda:{dist.local_rank}")
        threads = set_threads(args.threads, dist.world_size)
        out = args.out
        if out is None:
            if args.resume:
                raise CourseError("--resume needs --out DIR: the run directory to continue")
            preset = args.preset or default_preset_name(device, args.model)
            source = args.corpus or (args.data and args.data.rstrip("/").split("/")[-1]) or "tinyshakespeare"
            out = f"runs/{args.model}-{source}-{preset}"
        trainer = prepare_run(
            model=args.model,
            corpus=args.corpus,
            data=args.data,
            tokenizer=args.tokenizer,
            preset=args.preset,
            steps=args.steps,
            out=out,
            resume=args.resume,
            device=device,
            compile=args.compile,
            seed=args.seed,
            grad_accum_steps=args.grad_accum_steps,
            progress=not args.no_progress,
            dist=dist,
        )
        meta, config = trainer.meta, trainer.config
        n_params = sum(p.numel() for p in trainer.model.parameters())
        if dist.is_main:
            ranks = f" x {dist.world_size} ranks" if dist.enabled else ""
            print(
                f"{meta['preset']} {meta['model']}, {n_params / 1e6:.2f}M parameters, on {trainer.device}{ranks} "
                f"({threads} threads each); {config.tokens_per_step} tokens/step; step {trainer.step} of "
                f"{config.max_steps}; run dir {out}"
            )
        trainer.fit()
        if trainer.evals and dist.is_main:
            last = trainer.evals[-1]
            print(f"done: step {last['step']}, val loss {last['val_loss']:.4f}; checkpoint in {out}")
    finally:
        shutdown_distributed()
    return 0


def run_prepare(args: argparse.Namespace) -> int:
    from course_lib.data.token_files import prepare_dataset

    meta = prepare_dataset(args.corpus, args.tokenizer, args.out, progress=not args.no_progress)
    print(
        f"{args.out}: {meta['train_tokens']:,} train + {meta['val_tokens']:,} val tokens ({meta['dtype']}), "
        f"vocabulary {meta['vocab_size']} ({meta['tokenizer_spec']}); "
        f"train with `llmcourse train gpt --data {args.out}`"
    )
    return 0


def run_sweep(args: argparse.Namespace) -> int:
    from course_lib.training import sweep

    set_threads(args.threads)
    grid = sweep.load_grid(args.grid)
    rows = sweep.run_sweep(grid, args.out, device=args.device, progress=not args.no_progress)
    print(f"{len(rows)} runs finished; results in {args.out}/results.csv and {args.out}/results.jsonl")
    return 0


def run_generate(args: argparse.Namespace) -> int:
    from course_lib.errors import CourseError
    from course_lib.training.gpt_run import load_model, sample_text

    if args.num_samples < 1:
        raise CourseError(f"--num-samples must be at least 1, got {args.num_samples}")
    sampling = [
        flag
        for flag, value in (("--temperature", args.temperature), ("--top-k", args.top_k), ("--top-p", args.top_p))
        if value is not None
    ]
    if args.greedy and sampling:
        raise CourseError(f"--greedy always takes the most likely token: drop {', '.join(sampling)}")
    model, tokenizer = load_model(args.checkpoint, args.device)
    try:
        samples = sample_text(
            model,
            tokenizer,
            args.prompt,
            args.max_new_tokens,
            num_samples=args.num_samples,
            seed=args.seed,
            do_sample=not args.greedy,
            temperature=1.0 if args.temperature is None else args.temperature,
            top_k=args.top_k,
            top_p=args.top_p,
            num_beams=args.num_beams,
            length_penalty=args.length_penalty,
        )
    except CourseError as err:
        raise CourseError(_flag_names(str(err))) from None
    for i, text in enumerate(samples):
        if i:
            print("\n" + "-" * 40)
        print(args.prompt + text)
    return 0


def _flag_names(message: str) -> str:
    """Name the command-line flags, not the Python parameters, in an error (``top_p`` -> ``--top-p``)."""
    for name in _DECODING_FLAGS:
        message = message.replace(name, "--" + name.replace("_", "-"))
    return message


if __name__ == "__main__":  # what torchrun starts: the whole `llmcourse` command line, one copy per rank
    from course_lib.cli import main

    sys.exit(main())
