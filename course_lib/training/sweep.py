"""``llmcourse sweep``: train a grid of model sizes x token budgets, one result row per finished run, for
scaling-law fits (Kaplan et al. 2020; Hoffmann et al. 2022, "Chinchilla").

A grid is JSON (a file, or a built-in name from :data:`PRESET_GRIDS`)::

    {
      "corpus": "pydocs",                # or "data": "DIR" (a dataset from `llmcourse prepare`)
      "tokenizer": "char",               # with "corpus" only
      "preset": "cpu-tiny",              # the training settings every run starts from
      "train": {"batch_size": 16, "block_size": 64, "max_lr": 0.003},   # TrainConfig fields to override
      "models": {"xs": {"n_layers": 1, "n_heads": 2, "d_model": 32}, ...},   # model config fields per size
      "tokens": [200000, 400000, 800000] # training budgets D; steps = ceil(D / tokens_per_step)
    }

or, for IsoFLOP profiles (Hoffmann et al.'s Approach 2), compute budgets instead of token budgets::

      "flops": [3e10, 1e11, 3e11]        # C; each size trains on D = C / 6N tokens (N as in the rows below)

Every (model, tokens) pair is one run in ``OUT/MODEL-TOKENS/``, every (model, flops) pair one in
``OUT/MODEL-FLOPS/`` (``s-3e11``: an ordinary run directory). When a run finishes,
one row is appended to ``OUT/results.jsonl`` and ``OUT/results.csv`` is rewritten from it. Row fields
(:data:`ROW_FIELDS`):

- ``run``, ``model``: the run directory name and the size's name; ``n_layers``, ``n_heads``, ``d_model``;
- ``N``: non-embedding parameters (Kaplan et al.'s N: no token or position tables; a tied lm_head counts);
- ``D``: training tokens actually seen (steps x tokens_per_step); ``steps``; ``tokens_per_step``;
- ``C``: training compute in FLOPs by the usual estimate C = 6ND;
- ``train_loss``, ``val_loss``: the final evaluation's mean losses (nats per token) on held-out-style batches
  of the training split and on the validation split;
- ``wall_s``: training seconds (continuing across interruptions); ``seed``.

Rerunning the same command skips points that have a row and resumes a point whose run stopped midway.

Sweeps that lectures plot are committed next to this module (:data:`PUBLISHED_DIR`): ``NAME.csv``, the
``results.csv`` of ``llmcourse sweep --grid NAME``, and ``NAME.json``, how it was made (the grid, the command, the
machine, the date); :func:`published_results` reads both.
"""

from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path
from typing import Any

from course_lib.errors import CourseError
from course_lib.files import atomic_write

PUBLISHED_DIR = Path(__file__).parent / "sweeps"
RESULTS_JSONL = "results.jsonl"
RESULTS_CSV = "results.csv"
ROW_FIELDS = (
    "run",
    "model",
    "n_layers",
    "n_heads",
    "d_model",
    "N",
    "D",
    "C",
    "steps",
    "tokens_per_step",
    "train_loss",
    "val_loss",
    "wall_s",
    "seed",
)

_CPU_TRAIN = {
    "batch_size": 16,
    "block_size": 64,
    "max_lr": 3e-3,
    "min_lr": 3e-4,
    "warmup_steps": 20,
    "eval_batches": 8,
    "sample_tokens": 0,
    "log_interval": 25,
}

PRESET_GRIDS: dict[str, dict[str, Any]] = {
    # 3 sizes x 3 budgets = 9 runs on the embedded pydocs corpus; about 10 minutes on 2 CPU cores
    "cpu-2core": {
        "corpus": "pydocs",
        "tokenizer": "char",
        "preset": "cpu-tiny",
        "train": _CPU_TRAIN,
        "models": {
            "xs": {"block_size": 64, "n_layers": 1, "n_heads": 2, "d_model": 32},
            "s": {"block_size": 64, "n_layers": 2, "n_heads": 2, "d_model": 48},
            "m": {"block_size": 64, "n_layers": 3, "n_heads": 4, "d_model": 64},
        },
        "tokens": [100_000, 200_000, 400_000],
    },
    # a second or two per run: for tests and for trying the command
    "smoke": {
        "corpus": "pydocs",
        "tokenizer": "char",
        "preset": "cpu-tiny",
        "train": {**_CPU_TRAIN, "batch_size": 4, "block_size": 16, "eval_batches": 2, "warmup_steps": 2},
        "models": {
            "xs": {"block_size": 16, "n_layers": 1, "n_heads": 2, "d_model": 16},
            "s": {"block_size": 16, "n_layers": 1, "n_heads": 2, "d_model": 24},
        },
        "tokens": [640, 1280],
    },
    # IsoFLOP profiles for lecture 11, whose results are committed in sweeps/cpu-isoflop.csv (and .json, how they
    # were made): seven widths of a 2-layer character GPT, each trained at three compute budgets on tinyshakespeare.
    # The learning rate is high for tiny models, which would otherwise need far more steps to leave the bigram stage.
    "cpu-isoflop": {
        "corpus": "tinyshakespeare",
        "tokenizer": "char",
        "preset": "cpu-tiny",
        "train": {**_CPU_TRAIN, "max_lr": 1e-2, "min_lr": 1e-3, "warmup_steps": 50, "eval_batches": 16},
        "models": {
            f"d{width}": {"block_size": 64, "n_layers": 2, "n_heads": width // 8, "d_model": width}
            for width in (12, 16, 24, 32, 48, 64, 96)
        },
        "flops": [1e11, 3e11, 1e12],
    },
    # one GPU (minutes per point): 5 sizes x 4 budgets of tinyshakespeare characters
    "gpu": {
        "corpus": "tinyshakespeare",
        "tokenizer": "char",
        "preset": "gpu-small",
        "train": {"batch_size": 64, "block_size": 256, "eval_batches": 50, "sample_tokens": 0},
        "models": {
            "1M": {"n_layers": 4, "n_heads": 4, "d_model": 128, "dropout": 0.0},
            "3M": {"n_layers": 4, "n_heads": 4, "d_model": 256, "dropout": 0.0},
            "7M": {"n_layers": 6, "n_heads": 6, "d_model": 320, "dropout": 0.0},
            "11M": {"n_layers": 6, "n_heads": 6, "d_model": 384, "dropout": 0.0},
            "25M": {"n_layers": 8, "n_heads": 8, "d_model": 512, "dropout": 0.0},
        },
        "tokens": [10_000_000, 20_000_000, 40_000_000, 80_000_000],
    },
}


def load_grid(grid: str | os.PathLike) -> dict[str, Any]:
    """A built-in grid by name, or a grid JSON file."""
    if str(grid) in PRESET_GRIDS:
        return PRESET_GRIDS[str(grid)]
    path = Path(grid)
    if not path.is_file():
        raise CourseError(f"--grid {str(grid)!r}: no such file or built-in grid ({', '.join(PRESET_GRIDS)})")
    try:
        spec = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise CourseError(f"--grid {str(path)!r} is not valid JSON: {err}") from None
    if not spec.get("models"):
        raise CourseError(f"--grid {str(path)!r} needs a non-empty 'models'")
    if bool(spec.get("tokens")) == bool(spec.get("flops")):
        raise CourseError(f"--grid {str(path)!r} needs a non-empty 'tokens' or 'flops' (one of them)")
    return spec


def flops_name(flops: float) -> str:
    """A compute budget as it appears in run names: ``3e+11`` -> ``3e11``."""
    return f"{float(flops):.3g}".replace("e+", "e")


def grid_points(grid: dict[str, Any], n_params: dict[str, int] | None = None) -> list[tuple[str, dict[str, Any], int]]:
    """``(run name, model fields, token budget)`` for every point: by size then budget (``tokens`` grids), by
    budget then size (``flops`` grids).

    A ``flops`` grid needs ``n_params`` (:func:`model_sizes`): a size's token budget at compute ``C`` is
    ``round(C / 6N)``.
    """
    if "flops" not in grid:
        return [
            (f"{name}-{tokens}", fields, int(tokens))
            for name, fields in grid["models"].items()
            for tokens in grid["tokens"]
        ]
    if n_params is None:
        raise CourseError("a 'flops' grid needs the models' parameter counts (model_sizes(grid))")
    return [  # budget by budget, so that each IsoFLOP profile is complete as early as possible
        (f"{name}-{flops_name(flops)}", fields, round(flops / (6 * n_params[name])))
        for flops in grid["flops"]
        for name, fields in grid["models"].items()
    ]


def model_sizes(grid: dict[str, Any]) -> dict[str, int]:
    """``N`` (non-embedding parameters, as in the rows) of each size of ``grid``, built on its vocabulary."""
    from course_lib.data import load_corpus
    from course_lib.data.token_files import read_meta
    from course_lib.tokenizers.registry import build_tokenizer, tokenizer_from_state
    from course_lib.training.gpt_run import DEFAULT_CORPUS
    from course_lib.training.models import get_model_kind, non_embedding_params
    from course_lib.training.presets import get_preset

    base = get_preset(grid.get("preset", "cpu-tiny"))
    if "data" in grid:
        vocab_size = tokenizer_from_state(read_meta(grid["data"])["tokenizer"]).vocab_size
    else:
        corpus = grid.get("corpus") or DEFAULT_CORPUS
        vocab_size = build_tokenizer(grid.get("tokenizer") or "char", load_corpus(corpus)).vocab_size
    kind = get_model_kind(base.kind)
    return {
        name: non_embedding_params(kind, kind.build(kind.make_config(vocab_size, {**base.model, **fields})))
        for name, fields in grid["models"].items()
    }


def read_rows(out: str | os.PathLike) -> list[dict[str, Any]]:
    path = Path(out) / RESULTS_JSONL
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


_INT_FIELDS = {"n_layers", "n_heads", "d_model", "N", "D", "C", "steps", "tokens_per_step", "seed"}


def read_results_csv(path: str | os.PathLike) -> list[dict[str, Any]]:
    """The rows of a sweep's ``results.csv``, with ints and floats as :func:`run_sweep` returns them."""
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if list(reader.fieldnames or []) != list(ROW_FIELDS):
            raise CourseError(f"{str(path)!r} is not a sweep's results.csv: columns {reader.fieldnames}")
        return [
            {
                key: value if key in ("run", "model") else int(value) if key in _INT_FIELDS else float(value)
                for key, value in row.items()
            }
            for row in reader
        ]


def published_results(name: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """``(rows, about)`` of the committed sweep ``name``: its rows, and how it was made (grid, command, machine)."""
    csv_path, about_path = PUBLISHED_DIR / f"{name}.csv", PUBLISHED_DIR / f"{name}.json"
    if not csv_path.is_file():
        available = ", ".join(sorted(p.stem for p in PUBLISHED_DIR.glob("*.csv")))
        raise CourseError(f"no committed sweep {name!r} (available: {available or 'none'})")
    return read_results_csv(csv_path), json.loads(about_path.read_text(encoding="utf-8"))


def run_sweep(
    grid: dict[str, Any], out: str | os.PathLike, *, device: str | None = None, progress: bool = True
) -> list[dict[str, Any]]:
    """Train every point of ``grid`` that has no row yet; returns all rows (old and new)."""
    import dataclasses

    from course_lib.training.gpt_run import prepare_run, resolve_device
    from course_lib.training.presets import get_preset

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    dev = resolve_device(device)
    rows = read_rows(out)
    done = {row["run"] for row in rows}
    base = get_preset(grid.get("preset", "cpu-tiny"))
    train_fields = {k: v for k, v in grid.get("train", {}).items() if v is not None}
    try:
        train_config = dataclasses.replace(base.train, **train_fields)
    except TypeError as err:
        raise CourseError(f"grid 'train': {err}") from None
    n_params = model_sizes(grid) if "flops" in grid else None
    for name, model_fields, tokens in grid_points(grid, n_params):
        if name in done:
            continue
        steps = max(1, math.ceil(tokens / train_config.tokens_per_step))
        run_dir = out / name
        preset = dataclasses.replace(
            base,
            name=f"sweep-{name}",
            model={**base.model, **model_fields},
            train=dataclasses.replace(
                train_config,
                max_steps=steps,
                warmup_steps=min(train_config.warmup_steps, max(1, steps // 10)),
                eval_interval=max(1, steps // 2),
            ),
        )
        trainer = _sweep_trainer(prepare_run, preset, grid, run_dir, dev, progress)
        if trainer.step < trainer.config.max_steps:  # else it finished before its row was written
            if progress:
                print(f"sweep: {name} ({steps} steps of {train_config.tokens_per_step} tokens)", flush=True)
            trainer.fit()
        row = _row(name, model_fields, trainer)
        rows.append(row)
        _append_row(out, row)
        _write_csv(out, rows)
    return rows


def _sweep_trainer(prepare_run, preset, grid: dict[str, Any], run_dir: Path, dev, progress: bool):
    """A fresh run for one grid point, or the resumed one when it was interrupted."""
    from course_lib.training.checkpoint import has_checkpoint

    if has_checkpoint(run_dir):
        return prepare_run(out=run_dir, resume=True, device=dev, progress=progress, verbose=False, finished_ok=True)
    if "data" in grid:
        source = {"data": grid["data"]}
    else:
        source = {"corpus": grid.get("corpus"), "tokenizer": grid.get("tokenizer")}
    return prepare_run(preset=preset, out=run_dir, device=dev, progress=progress, verbose=False, **source)


def _row(name: str, model_fields: dict[str, Any], trainer) -> dict[str, Any]:
    from course_lib.training.models import get_model_kind, non_embedding_params

    config = trainer.config
    n = non_embedding_params(get_model_kind(trainer.meta["model"]), trainer.model)
    d = trainer.step * config.tokens_per_step
    last = trainer.evals[-1]
    model_config = trainer.meta["model_config"]
    return {
        "run": name,
        "model": name.rsplit("-", 1)[0],
        "n_layers": model_config.get("n_layers"),
        "n_heads": model_config.get("n_heads"),
        "d_model": model_config.get("d_model"),
        "N": n,
        "D": d,
        "C": 6 * n * d,
        "steps": trainer.step,
        "tokens_per_step": config.tokens_per_step,
        "train_loss": last["train_loss_eval"],
        "val_loss": last["val_loss"],
        "wall_s": round(trainer.elapsed_s, 2),
        "seed": config.seed,
    }


def _append_row(out: Path, row: dict[str, Any]) -> None:
    with open(out / RESULTS_JSONL, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(row) + "\n")


def _write_csv(out: Path, rows: list[dict[str, Any]]) -> None:
    with atomic_write(out / RESULTS_CSV, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=ROW_FIELDS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
