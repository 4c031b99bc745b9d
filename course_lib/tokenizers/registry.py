"""Tokenizers by name, for the command line and for checkpoints.

A *spec* names a tokenizer to train on a corpus: ``char`` (one id per character) or ``bpe`` / ``bpe:VOCAB``
(byte-level BPE with ``VOCAB`` tokens, default :data:`DEFAULT_BPE_VOCAB`, plus ``<|endoftext|>``). A trained
tokenizer travels in checkpoints and dataset metadata as plain data (``tok.to_dict()``), never as pickled code.
"""

from __future__ import annotations

from typing import Any

from course_lib.errors import CourseError
from course_lib.tokenizers.base import Tokenizer, tokenizer_from_dict
from course_lib.tokenizers.bpe import BPETokenizer
from course_lib.tokenizers.simple import CharTokenizer

TOKENIZER_KINDS = ("char", "bpe")
DEFAULT_BPE_VOCAB = 512
END_OF_TEXT = "<|endoftext|>"


def parse_spec(spec: str) -> tuple[str, int | None]:
    """``"char"`` -> ``("char", None)``; ``"bpe:1024"`` -> ``("bpe", 1024)``; ``"bpe"`` -> the default size."""
    kind, _, size = spec.partition(":")
    if kind not in TOKENIZER_KINDS:
        raise CourseError(f"unknown tokenizer {spec!r}; available: char, bpe, bpe:VOCAB_SIZE")
    if kind == "char":
        if size:
            raise CourseError(f"tokenizer {spec!r}: char takes no vocabulary size")
        return kind, None
    if not size:
        return kind, DEFAULT_BPE_VOCAB
    if not size.isdigit() or not 257 <= int(size) < 2**32:
        raise CourseError(f"tokenizer {spec!r}: the BPE vocabulary size must be an integer >= 257 (256 bytes + 1)")
    return kind, int(size)


def build_tokenizer(spec: str, text: str) -> Tokenizer:
    """A tokenizer named by ``spec`` trained on ``text``."""
    kind, size = parse_spec(spec)
    if kind == "char":
        return CharTokenizer.train(text)
    assert size is not None
    return BPETokenizer.train(text, size, special_tokens=[END_OF_TEXT])


def tokenizer_to_state(tokenizer: Tokenizer) -> dict[str, Any]:
    return tokenizer.to_dict()


def tokenizer_from_state(state: dict[str, Any]) -> Tokenizer:
    """The tokenizer saved as ``state``; also reads the ``{"kind": "char", "chars": ...}`` of older checkpoints."""
    if state.get("kind") == "char" and "format" not in state:
        return CharTokenizer(state["chars"])
    try:
        return tokenizer_from_dict(state)
    except (ValueError, KeyError) as err:
        raise CourseError(f"cannot rebuild the saved tokenizer: {err}") from None


def encode(tokenizer: Tokenizer, text: str) -> list[int]:
    """``tokenizer.encode(text)``, with characters outside the vocabulary reported as a CourseError."""
    try:
        return tokenizer.encode(text)
    except ValueError as err:
        raise CourseError(str(err)) from None
