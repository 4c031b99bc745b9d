"""Character- and word-level tokenizers: the two extremes that motivate subword tokenization.

- :class:`CharTokenizer`: tiny vocabulary, no unknown words, but long sequences.
- :class:`WordTokenizer`: short sequences, but a huge vocabulary, and every word missing from it becomes
  ``<unk>`` (the out-of-vocabulary problem; see :meth:`WordTokenizer.unk_rate`).

Both follow the course's tokenizer interface (:class:`course_lib.tokenizers.base.Tokenizer`):
``train`` / ``encode`` / ``decode`` / ``save`` / ``load``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import regex

from course_lib.data.batching import PAD, UNK, Vocab
from course_lib.tokenizers.base import JsonTokenizerFile

# A word is a run of letters, digits, underscores and apostrophes inside a word ("don't"); every other
# non-space character is a token on its own ("hello," -> "hello", ",").
WORD_PATTERN = r"\w+(?:'\w+)*|[^\w\s]"
WORD_REGEX = regex.compile(WORD_PATTERN)


def _as_texts(texts: str | Iterable[str]) -> Iterable[str]:
    return [texts] if isinstance(texts, str) else texts


class CharTokenizer(JsonTokenizerFile):
    """One id per character: ``chars`` in the given order get ids ``0, 1, ...`` (nanoGPT's convention when
    built with :meth:`train`, which sorts the characters).

    With ``unk_token`` (e.g. ``"<unk>"``), that token gets id 0, the characters follow, and unknown characters
    encode to it; without it (the default) an unknown character raises ``ValueError``.
    """

    FORMAT = "course_lib.CharTokenizer/1"

    def __init__(self, chars: Iterable[str], unk_token: str | None = None) -> None:
        self.unk_token = unk_token
        self.itos: list[str] = ([unk_token] if unk_token is not None else []) + list(dict.fromkeys(chars))
        if any(len(c) != 1 for c in self.itos[1 if unk_token is not None else 0 :]):
            raise ValueError("CharTokenizer characters must be strings of length 1")
        self.stoi: dict[str, int] = {s: i for i, s in enumerate(self.itos)}

    @classmethod
    def train(cls, texts: str | Iterable[str], unk_token: str | None = None) -> CharTokenizer:
        """Vocabulary = the sorted set of characters seen in ``texts`` (one string or several)."""
        return cls(sorted({c for text in _as_texts(texts) for c in text}), unk_token)

    @property
    def vocab_size(self) -> int:
        return len(self.itos)

    def encode(self, text: str) -> list[int]:
        if self.unk_token is not None:
            unk = self.stoi[self.unk_token]
            return [self.stoi.get(c, unk) for c in text]
        try:
            return [self.stoi[c] for c in text]
        except KeyError as err:
            raise ValueError(f"character {err.args[0]!r} is not in the vocabulary (no unk_token)") from None

    def decode(self, ids: Iterable[int]) -> str:
        return "".join(self.itos[i] for i in ids)

    def to_dict(self) -> dict[str, Any]:
        chars = self.itos[1:] if self.unk_token is not None else self.itos
        return {"format": self.FORMAT, "chars": list(chars), "unk_token": self.unk_token}

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> CharTokenizer:
        return cls(state["chars"], state.get("unk_token"))


class WordTokenizer(JsonTokenizerFile):
    """Word-level tokenizer: split with :data:`WORD_PATTERN`, optionally lowercase, and look the words up in a
    :class:`course_lib.data.Vocab` (words it lacks become ``<unk>``).

    Ids: the special tokens first (default ``("<pad>", "<unk>")``, so ``<pad>`` = 0 and ``<unk>`` = 1), then
    the words by decreasing count, ties in alphabetical order. :meth:`decode` joins words with single spaces.
    """

    FORMAT = "course_lib.WordTokenizer/1"

    def __init__(self, words: Sequence[str], lowercase: bool = False, specials: Sequence[str] = (PAD, UNK)) -> None:
        self.vocab = Vocab(words, specials)
        self.lowercase = lowercase
        self.itos: list[str] = self.vocab.id_to_token
        self.stoi: dict[str, int] = self.vocab.token_to_id
        self.unk_id = self.vocab.unk_id

    @classmethod
    def train(
        cls,
        texts: str | Iterable[str],
        lowercase: bool = False,
        min_freq: int = 1,
        max_size: int | None = None,
        specials: Sequence[str] = (PAD, UNK),
    ) -> WordTokenizer:
        """Build the vocabulary from ``texts`` (one string or several) with :meth:`Vocab.build
        <course_lib.data.Vocab.build>`: words seen at least ``min_freq`` times, at most ``max_size`` entries
        in all (special tokens included)."""
        sentences = (cls.split(text, lowercase) for text in _as_texts(texts))
        vocab = Vocab.build(sentences, min_freq=min_freq, max_size=max_size, specials=specials)
        return cls([t for t in vocab.id_to_token if t not in vocab.specials], lowercase, specials)

    @staticmethod
    def split(text: str, lowercase: bool = False) -> list[str]:
        """The words of ``text``, e.g. ``"Don't stop!"`` -> ``["Don't", "stop", "!"]``."""
        return WORD_REGEX.findall(text.lower() if lowercase else text)

    @property
    def vocab_size(self) -> int:
        return len(self.itos)

    def encode(self, text: str) -> list[int]:
        return self.vocab.encode(self.split(text, self.lowercase))

    def decode(self, ids: Iterable[int]) -> str:
        return " ".join(self.vocab.decode(ids))

    def unk_rate(self, texts: str | Iterable[str]) -> float:
        """Fraction of the words of ``texts`` that are out of vocabulary (encode to ``<unk>``)."""
        ids = [i for text in _as_texts(texts) for i in self.encode(text)]
        return sum(i == self.unk_id for i in ids) / len(ids) if ids else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.FORMAT,
            "specials": list(self.vocab.specials),
            "words": [t for t in self.itos if t not in self.vocab.specials],
            "lowercase": self.lowercase,
        }

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> WordTokenizer:
        return cls(state["words"], state["lowercase"], state["specials"])
