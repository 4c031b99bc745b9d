import random

import numpy as np
import pytest
import torch

from course_lib.errors import CourseError
from course_lib.training import checkpoint as ckpt


class Sneaky:
    """Any class at all: unpickling it could run code, so weights_only loading must refuse it."""


def draws(gen: torch.Generator) -> tuple:
    return (
        torch.rand(3).tolist(),
        np.random.rand(3).tolist(),
        np.random.randn(),
        random.random(),
        torch.randint(0, 1000, (3,), generator=gen).tolist(),
    )


def test_rng_round_trip_through_a_weights_only_file(tmp_path):
    gen = torch.Generator().manual_seed(3)
    torch.manual_seed(1), np.random.seed(1), random.seed(1)
    np.random.randn()  # leaves a cached Gaussian in NumPy's state, which must survive too
    ckpt.save_checkpoint(tmp_path, {"rng": ckpt.capture_rng_state(gen)})
    expected = draws(gen)
    draws(gen)  # move every generator on
    ckpt.restore_rng_state(ckpt.load_checkpoint(tmp_path)["rng"], gen)
    assert draws(gen) == expected


def test_save_is_atomic_and_leaves_no_temp_file(tmp_path):
    ckpt.save_checkpoint(tmp_path, {"w": torch.arange(4.0), "step": 1})
    assert sorted(p.name for p in tmp_path.iterdir()) == [ckpt.CHECKPOINT_FILE]
    loaded = ckpt.load_checkpoint(tmp_path)
    assert loaded["step"] == 1 and torch.equal(loaded["w"], torch.arange(4.0))


def test_crash_while_writing_keeps_previous_checkpoint(tmp_path, monkeypatch):
    ckpt.save_checkpoint(tmp_path, {"step": 1})

    def crash(obj, handle):
        handle.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(OSError):
        ckpt.save_checkpoint(tmp_path, {"step": 2})
    monkeypatch.undo()
    assert ckpt.load_checkpoint(tmp_path)["step"] == 1
    assert [p.name for p in tmp_path.iterdir()] == [ckpt.CHECKPOINT_FILE]


def test_missing_or_broken_checkpoints_are_course_errors(tmp_path):
    with pytest.raises(CourseError, match="does not exist"):
        ckpt.load_checkpoint(tmp_path / "nope")
    with pytest.raises(CourseError, match="no checkpoint"):
        ckpt.load_checkpoint(tmp_path)
    (tmp_path / ckpt.CHECKPOINT_FILE).write_bytes(b"not a checkpoint")
    with pytest.raises(CourseError, match="cannot read"):
        ckpt.load_checkpoint(tmp_path)


def test_loading_refuses_arbitrary_pickled_objects(tmp_path):
    """weights_only=True: a checkpoint cannot smuggle in code to run at load time."""
    torch.save({"x": Sneaky()}, tmp_path / ckpt.CHECKPOINT_FILE)
    with pytest.raises(CourseError, match="cannot read"):
        ckpt.load_checkpoint(tmp_path)
