"""Which tokenizer a training run uses, and how it is stored in a checkpoint (plain data, to decode later).

Only the character-level tokenizer is wired in so far.
TODO(tokenizers): switch ``_Chars`` to ``course_lib.tokenizers.CharTokenizer`` once it lands.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from course_lib.errors import CourseError

TOKENIZER_KINDS = ("char",)


class _Chars:
    """Character-level vocabulary: every distinct character of the training text, sorted, gets an id."""

    def __init__(self, chars: Iterable[str]) -> None:
        self.chars = sorted(set(chars))
        self.ids = {ch: i for i, ch in enumerate(self.chars)}

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> list[int]:
        unknown = sorted(set(text) - self.ids.keys())
        if unknown:
            raise CourseError(f"text has characters outside the vocabulary: {''.join(unknown)!r}")
        return [self.ids[ch] for ch in text]

    def decode(self, ids: Iterable[int]) -> str:
        return "".join(self.chars[i] for i in ids)


def build_tokenizer(kind: str, text: str) -> _Chars:
    """A tokenizer of ``kind`` fitted to ``text``."""
    if kind not in TOKENIZER_KINDS:
        raise CourseError(f"unknown tokenizer {kind!r}; available: {', '.join(TOKENIZER_KINDS)}")
    return _Chars(text)


def tokenizer_to_state(tokenizer: _Chars) -> dict[str, Any]:
    return {"kind": "char", "chars": list(tokenizer.chars)}


def tokenizer_from_state(state: dict[str, Any]) -> _Chars:
    if state.get("kind") != "char":
        raise CourseError(f"checkpoint uses tokenizer {state.get('kind')!r}, which this version cannot load")
    return _Chars(state["chars"])
