"""Which tokenizer a training run uses, and how it travels in a checkpoint (plain data, to decode later).

Only the character-level tokenizer (``course_lib.tokenizers.CharTokenizer``) is wired in so far.
"""

from __future__ import annotations

from typing import Any

from course_lib.errors import CourseError
from course_lib.tokenizers import CharTokenizer

TOKENIZER_KINDS = ("char",)


def build_tokenizer(kind: str, text: str) -> CharTokenizer:
    """A tokenizer of ``kind`` fitted to ``text``."""
    if kind not in TOKENIZER_KINDS:
        raise CourseError(f"unknown tokenizer {kind!r}; available: {', '.join(TOKENIZER_KINDS)}")
    return CharTokenizer.fit(text)


def tokenizer_to_state(tokenizer: CharTokenizer) -> dict[str, Any]:
    return {"kind": "char", "chars": list(tokenizer.itos)}


def tokenizer_from_state(state: dict[str, Any]) -> CharTokenizer:
    if state.get("kind") != "char":
        raise CourseError(f"checkpoint uses tokenizer {state.get('kind')!r}, which this version cannot load")
    return CharTokenizer(state["chars"])


def encode(tokenizer: CharTokenizer, text: str) -> list[int]:
    """``tokenizer.encode(text)``, with characters outside the vocabulary reported as a CourseError."""
    try:
        return tokenizer.encode(text)
    except ValueError as err:
        raise CourseError(str(err)) from None
