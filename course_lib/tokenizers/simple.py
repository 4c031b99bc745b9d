"""Character- and word-level tokenizers: the two extremes that motivate subword tokenization.

- :class:`CharTokenizer`: tiny vocabulary, no unknown words, but long sequences.
- :class:`WordTokenizer`: short sequences, but a huge vocabulary, and every word missing from it becomes
  ``<unk>`` (the out-of-vocabulary problem; see :meth:`WordTokenizer.unk_rate`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

import regex

# A word is a run of letters, digits, underscores and apostrophes inside a word ("don't"); every other
# non-space character is a token on its own ("hello," -> "hello", ",").
WORD_PATTERN = r"\w+(?:'\w+)*|[^\w\s]"
WORD_REGEX = regex.compile(WORD_PATTERN)


def _as_texts(texts: str | Iterable[str]) -> Iterable[str]:
    return [texts] if isinstance(texts, str) else texts


class CharTokenizer:
    """One id per character: ``chars`` in the given order get ids ``0, 1, ...`` (nanoGPT's convention when
    built with :meth:`fit`, which sorts the characters).

    With ``unk_token`` (e.g. ``"<unk>"``), that token gets id 0, the characters follow, and unknown characters
    encode to it; without it (the default) an unknown character raises ``ValueError``.
    """

    def __init__(self, chars: Iterable[str], unk_token: str | None = None) -> None:
        self.unk_token = unk_token
        self.itos: list[str] = ([unk_token] if unk_token is not None else []) + list(dict.fromkeys(chars))
        if any(len(c) != 1 for c in self.itos[1 if unk_token is not None else 0 :]):
            raise ValueError("CharTokenizer characters must be strings of length 1")
        self.stoi: dict[str, int] = {s: i for i, s in enumerate(self.itos)}

    @classmethod
    def fit(cls, texts: str | Iterable[str], unk_token: str | None = None) -> CharTokenizer:
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


class WordTokenizer:
    """Word-level tokenizer: split with :data:`WORD_PATTERN`, optionally lowercase, keep words seen at least
    ``min_freq`` times (at most ``max_size`` of them), map the rest to ``<unk>``.

    Ids: the special tokens first (default ``("<pad>", "<unk>")``, so ``<pad>`` = 0 and ``<unk>`` = 1), then
    the words by decreasing count, ties in alphabetical order. :meth:`decode` joins words with single spaces.
    """

    def __init__(
        self, words: Sequence[str], lowercase: bool = False, specials: Sequence[str] = ("<pad>", "<unk>")
    ) -> None:
        if "<unk>" not in specials:
            raise ValueError("WordTokenizer needs '<unk>' among its special tokens")
        self.lowercase = lowercase
        self.itos: list[str] = list(dict.fromkeys([*specials, *words]))
        self.stoi: dict[str, int] = {w: i for i, w in enumerate(self.itos)}
        self.unk_id = self.stoi["<unk>"]

    @classmethod
    def fit(
        cls,
        texts: str | Iterable[str],
        lowercase: bool = False,
        min_freq: int = 1,
        max_size: int | None = None,
        specials: Sequence[str] = ("<pad>", "<unk>"),
    ) -> WordTokenizer:
        """Build the vocabulary from ``texts`` (one string or several)."""
        if min_freq < 1:
            raise ValueError(f"min_freq must be >= 1, got {min_freq}")
        counts: Counter[str] = Counter()
        for text in _as_texts(texts):
            counts.update(cls.split(text, lowercase))
        ranked = sorted((w for w, c in counts.items() if c >= min_freq), key=lambda w: (-counts[w], w))
        return cls(ranked[:max_size], lowercase, specials)

    @staticmethod
    def split(text: str, lowercase: bool = False) -> list[str]:
        """The words of ``text``, e.g. ``"Don't stop!"`` -> ``["Don't", "stop", "!"]``."""
        return WORD_REGEX.findall(text.lower() if lowercase else text)

    @property
    def vocab_size(self) -> int:
        return len(self.itos)

    def encode(self, text: str) -> list[int]:
        return [self.stoi.get(w, self.unk_id) for w in self.split(text, self.lowercase)]

    def decode(self, ids: Iterable[int]) -> str:
        return " ".join(self.itos[i] for i in ids)

    def unk_rate(self, texts: str | Iterable[str]) -> float:
        """Fraction of the words of ``texts`` that are out of vocabulary (encode to ``<unk>``)."""
        ids = [i for text in _as_texts(texts) for i in self.encode(text)]
        return sum(i == self.unk_id for i in ids) / len(ids) if ids else 0.0
