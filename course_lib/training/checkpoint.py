"""Checkpoints that resume exactly: weights, optimizer moments, step, configs, tokenizer and every RNG state.

A training run draws random numbers from five places: PyTorch's CPU generator (dropout, init), each CUDA
device's generator, NumPy, Python's ``random``, and the generator that picks training windows. Saving and
restoring all of them is what makes "train k steps, save, resume" produce the same numbers as training
straight through.

The file is written to a temporary name and then renamed with ``os.replace``, which is atomic: a crash
mid-write leaves the previous checkpoint intact rather than a truncated one. Loading uses
``torch.load(weights_only=True)``, which refuses to run arbitrary pickled code, so the payload holds only
tensors and plain Python data.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from course_lib.errors import CourseError
from course_lib.files import atomic_write

CHECKPOINT_FILE = "checkpoint.pt"


def capture_rng_state(data_generator: torch.Generator | None = None) -> dict[str, Any]:
    """Every random-number generator's state as tensors and plain data (safe for ``weights_only`` loading)."""
    np_kind, np_keys, np_pos, np_has_gauss, np_gauss = np.random.get_state()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {
            "kind": np_kind,
            "keys": torch.from_numpy(np_keys.astype(np.int64)),
            "pos": int(np_pos),
            "has_gauss": int(np_has_gauss),
            "cached_gaussian": float(np_gauss),
        },
        "python": random.getstate(),
    }
    if data_generator is not None:
        state["data"] = data_generator.get_state()
    return state


def restore_rng_state(state: dict[str, Any], data_generator: torch.Generator | None = None) -> None:
    """Put every generator back where :func:`capture_rng_state` found it."""
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    np_state = state["numpy"]
    np.random.set_state(
        (
            np_state["kind"],
            np_state["keys"].numpy().astype(np.uint32),
            np_state["pos"],
            np_state["has_gauss"],
            np_state["cached_gaussian"],
        )
    )
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(internal), gauss_next))
    if data_generator is not None and "data" in state:
        data_generator.set_state(state["data"])


def save_checkpoint(directory: str | os.PathLike, payload: dict[str, Any]) -> Path:
    """Write ``payload`` to ``directory/checkpoint.pt`` atomically (temp file, then ``os.replace``)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / CHECKPOINT_FILE
    with atomic_write(final) as handle:
        torch.save(payload, handle)
    return final


def has_checkpoint(directory: str | os.PathLike) -> bool:
    return (Path(directory) / CHECKPOINT_FILE).is_file()


def load_checkpoint(directory: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint`; a missing or unreadable one is a CourseError."""
    directory = Path(directory)
    path = directory / CHECKPOINT_FILE
    if not directory.is_dir():
        raise CourseError(f"checkpoint directory {str(directory)!r} does not exist")
    if not path.is_file():
        raise CourseError(
            f"no checkpoint in {str(directory)!r}: expected {CHECKPOINT_FILE} (written by `llmcourse train`)"
        )
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # a truncated or foreign file: say which one, keep the cause for debugging
        raise CourseError(f"cannot read checkpoint {str(path)!r}: {err}") from err
