"""The one tokenizer interface every course tokenizer follows (char, word, byte-level BPE, WordPiece).

    tok = SomeTokenizer.train(texts, ...)      # learn a vocabulary (arguments differ: BPE needs vocab_size)
    ids = tok.encode("some text")              # str -> list[int]
    text = tok.decode(ids)                     # list[int] -> str
    tok.save("tok.json"); SomeTokenizer.load("tok.json")   # one JSON file, tagged with its format
    tok.vocab_size

Files in other tools' formats have their own, clearly named classmethods (``BPETokenizer.from_gpt2_files`` for
GPT-2's ``vocab.json`` + ``merges.txt``, ``WordPieceTokenizer.from_bert_vocab`` for BERT's ``vocab.txt``).

Every tokenizer turns itself into plain JSON data (``to_dict``, with a ``"format"`` tag) and back
(``from_dict``); ``save``/``load`` write and read that data, and :func:`tokenizer_from_dict` rebuilds any of
them from it (a training checkpoint stores the tokenizer this way, so loading it never unpickles code).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol, Self, runtime_checkable


@runtime_checkable
class Tokenizer(Protocol):
    """What the course means by a tokenizer (a ``typing.Protocol``: no base class needed, only the methods)."""

    @property
    def vocab_size(self) -> int: ...

    @classmethod
    def train(cls, texts: Any, *args: Any, **options: Any) -> Self: ...

    def encode(self, text: str) -> list[int]: ...

    def decode(self, ids: Iterable[int]) -> str: ...

    def save(self, path: str | os.PathLike) -> None: ...

    @classmethod
    def load(cls, path: str | os.PathLike) -> Self: ...

    def to_dict(self) -> dict[str, Any]: ...


class JsonTokenizerFile:
    """``save``/``load`` for tokenizers that define ``to_dict`` / ``from_dict`` and a ``FORMAT`` tag."""

    FORMAT: str = ""

    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> Self:
        raise NotImplementedError

    def save(self, path: str | os.PathLike) -> None:
        """Write the tokenizer to one JSON file (read it back with :meth:`load`)."""
        Path(path).write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=0), encoding="utf-8")

    @classmethod
    def load(cls, path: str | os.PathLike) -> Self:
        """Read a file written by :meth:`save`."""
        state = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(state, dict) or state.get("format") != cls.FORMAT:
            raise ValueError(f"{path} is not a {cls.__name__} file (expected format {cls.FORMAT!r})")
        return cls.from_dict(state)


def tokenizer_classes() -> dict[str, type]:
    """``format tag -> class`` for every course tokenizer."""
    from course_lib.tokenizers.bpe import BPETokenizer
    from course_lib.tokenizers.simple import CharTokenizer, WordTokenizer
    from course_lib.tokenizers.wordpiece import WordPieceTokenizer

    return {cls.FORMAT: cls for cls in (CharTokenizer, WordTokenizer, BPETokenizer, WordPieceTokenizer)}


def tokenizer_from_dict(state: dict[str, Any]) -> Tokenizer:
    """Rebuild whichever tokenizer wrote ``state`` (``tok.to_dict()``)."""
    classes = tokenizer_classes()
    cls = classes.get(state.get("format", ""))
    if cls is None:
        raise ValueError(f"unknown tokenizer format {state.get('format')!r}; known: {', '.join(classes)}")
    return cls.from_dict(state)


def load_tokenizer(path: str | os.PathLike) -> Tokenizer:
    """Load a tokenizer file written by any course tokenizer's ``save``."""
    state = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(state, dict):
        raise ValueError(f"{path} is not a tokenizer file")
    return tokenizer_from_dict(state)
