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

Every (model, tokens) pair is one run in ``OUT/MODEL-TOKENS/`` (an ordinary run directory). When a run finishes,
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
    for key in ("models", "tokens"):
        if not spec.get(key):
            raise CourseError(f"--grid {str(path)!r} needs a non-empty {key!r}")
    return spec


def grid_points(grid: dict[str, Any]) -> list[tuple[str, dict[str, Any], int]]:
    """``(run name, model fields, token budget)`` for every point, smallest model and budget first."""
    return [
        (f"{name}-{tokens}", fields, int(tokens))
        for name, fields in grid["models"].items()
        for tokens in grid["tokens"]
    ]


def read_rows(out: str | os.PathLike) -> list[dict[str, Any]]:
    path = Path(out) / RESULTS_JSONL
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


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
    for name, model_fields, tokens in grid_points(grid):
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
