"""WordPiece (BERT's subword tokenizer; Schuster & Nakajima 2012, Devlin et al. 2019).

Encoding (identical to Hugging Face ``tokenizers``' ``BertPreTokenizer`` + ``WordPiece`` model):

1. pre-split: drop whitespace, and make every punctuation character (Unicode category P*, or ASCII
   ``!"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~``) a word of its own; optionally lowercase first;
2. each word is cut greedily, longest match first: take the longest vocabulary entry that starts the word,
   then the longest ``##``-prefixed entry that continues it, and so on; if some position cannot be matched,
   or the word has more than ``max_input_chars_per_word`` characters, the whole word becomes ``[UNK]``.

Training (the likelihood-based variant): start from every character (``##c`` when not word-initial), then
repeatedly merge the adjacent pair ``(a, b)`` with the highest score ``count(ab) / (count(a) * count(b))``,
ties to the lexicographically greatest ``(a, b)``; ``a`` + ``##b`` becomes ``ab``.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from itertools import pairwise
from pathlib import Path

import regex

from course_lib.tokenizers.base import JsonTokenizerFile
from course_lib.tokenizers.bpe_train import merge_pair

# Punctuation as BERT sees it: Unicode P* plus the ASCII symbols that Unicode calls S* ($ + < = > ^ ` | ~).
_PUNCT = r"\p{P}!-/:-@\[-`{-~"
PRESPLIT_REGEX = regex.compile(rf"[^\p{{White_Space}}{_PUNCT}]+|[{_PUNCT}]")

BERT_SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def presplit(text: str) -> list[str]:
    """BERT's basic split, e.g. ``"Hello, world!"`` -> ``["Hello", ",", "world", "!"]``."""
    return PRESPLIT_REGEX.findall(text)


class WordPieceTokenizer(JsonTokenizerFile):
    """WordPiece tokenizer over ``vocab`` (a list, where the position is the id, or a ``token -> id`` map).

    ``save``/``load`` keep every option in one JSON file; :meth:`from_bert_vocab` / :meth:`save_bert_vocab`
    read and write BERT's ``vocab.txt``, which holds the tokens only (pass the options yourself).
    """

    FORMAT = "course_lib.WordPieceTokenizer/1"

    def __init__(
        self,
        vocab: Sequence[str] | Mapping[str, int],
        unk_token: str = "[UNK]",
        lowercase: bool = False,
        prefix: str = "##",
        max_input_chars_per_word: int = 100,
    ) -> None:
        self.vocab: dict[str, int] = (
            dict(vocab) if isinstance(vocab, Mapping) else {tok: i for i, tok in enumerate(vocab)}
        )
        if unk_token not in self.vocab:
            raise ValueError(f"the unknown token {unk_token!r} is not in the vocabulary")
        self.id_to_token = {i: tok for tok, i in self.vocab.items()}
        self.unk_token = unk_token
        self.lowercase = lowercase
        self.prefix = prefix
        self.max_input_chars_per_word = max_input_chars_per_word

    @classmethod
    def from_bert_vocab(cls, path: str | os.PathLike, **options) -> WordPieceTokenizer:
        """Load a BERT ``vocab.txt``: one token per line, the line number (from 0) is its id."""
        tokens = Path(path).read_text(encoding="utf-8").splitlines()
        return cls(tokens, **options)

    from_vocab_file = from_bert_vocab  # the name used before the tokenizer interface was unified

    def save_bert_vocab(self, path: str | os.PathLike) -> None:
        """Write a BERT-style ``vocab.txt`` (needs ids ``0..n-1``)."""
        if sorted(self.id_to_token) != list(range(len(self.id_to_token))):
            raise ValueError("save_bert_vocab needs contiguous ids 0..n-1")
        lines = (self.id_to_token[i] for i in range(len(self.id_to_token)))
        Path(path).write_text("".join(f"{tok}\n" for tok in lines), encoding="utf-8")

    @classmethod
    def train(
        cls,
        texts: str | Iterable[str],
        vocab_size: int,
        special_tokens: Sequence[str] = BERT_SPECIAL_TOKENS,
        lowercase: bool = False,
        **options,
    ) -> WordPieceTokenizer:
        """Learn a vocabulary of at most ``vocab_size`` tokens from ``texts`` (see the module docstring).

        Ids: ``special_tokens`` first, then the initial alphabet sorted, then merged tokens in creation order.
        """
        word_counts: Counter[str] = Counter()
        for text in [texts] if isinstance(texts, str) else texts:
            word_counts.update(presplit(text.lower() if lowercase else text))
        vocab = list(dict.fromkeys(special_tokens))
        vocab += train_wordpiece(word_counts, vocab_size - len(vocab), prefix=options.get("prefix", "##"))
        return cls(vocab, lowercase=lowercase, **options)

    def to_dict(self) -> dict:
        return {
            "format": self.FORMAT,
            "vocab": self.vocab,
            "unk_token": self.unk_token,
            "lowercase": self.lowercase,
            "prefix": self.prefix,
            "max_input_chars_per_word": self.max_input_chars_per_word,
        }

    @classmethod
    def from_dict(cls, state: dict) -> WordPieceTokenizer:
        options = {k: v for k, v in state.items() if k not in ("format", "vocab")}
        return cls(state["vocab"], **options)

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def tokenize(self, text: str) -> list[str]:
        """The WordPiece tokens of ``text``, e.g. ``["un", "##aff", "##able"]``."""
        pieces: list[str] = []
        for word in presplit(text.lower() if self.lowercase else text):
            pieces.extend(self._split_word(word))
        return pieces

    def encode(self, text: str, add_special_tokens: bool = False) -> list[int]:
        """Token ids of ``text``; with ``add_special_tokens``, BERT's ``[CLS] ... [SEP]`` around them."""
        ids = [self.vocab[piece] for piece in self.tokenize(text)]
        if add_special_tokens:
            missing = [tok for tok in ("[CLS]", "[SEP]") if tok not in self.vocab]
            if missing:
                raise ValueError(f"add_special_tokens needs {missing} in the vocabulary")
            ids = [self.vocab["[CLS]"], *ids, self.vocab["[SEP]"]]
        return ids

    def decode(self, ids: Iterable[int]) -> str:
        """Join tokens with spaces, gluing ``##`` pieces to the token before them."""
        text = ""
        for i in ids:
            token = self.id_to_token[i]
            if token.startswith(self.prefix) and text:
                text += token[len(self.prefix) :]
            else:
                text += (" " if text else "") + token
        return text

    def _split_word(self, word: str) -> list[str]:
        if len(word) > self.max_input_chars_per_word:
            return [self.unk_token]
        pieces = []
        start = 0
        while start < len(word):
            for end in range(len(word), start, -1):
                piece = word[start:end] if start == 0 else self.prefix + word[start:end]
                if piece in self.vocab:
                    pieces.append(piece)
                    start = end
                    break
            else:
                return [self.unk_token]
        return pieces


def train_wordpiece(word_counts: Mapping[str, int], size: int, prefix: str = "##") -> list[str]:
    """Learn up to ``size`` WordPiece tokens (alphabet first, sorted; then merges) from ``word -> count``.

    Pair and token counts are updated only for the words that contain the merged pair; the best pair is found
    by a scan over the current pairs (the score depends on the tokens' counts, which every merge changes).
    """
    words = [[w[0]] + [prefix + c for c in w[1:]] for w in word_counts]
    counts = list(word_counts.values())
    alphabet = sorted({piece for word in words for piece in word})
    vocab = alphabet[:size]
    if len(alphabet) > size:
        return vocab

    token_counts: Counter[str] = Counter()
    pair_counts: Counter[tuple[str, str]] = Counter()
    pair_words: dict[tuple[str, str], set[int]] = defaultdict(set)
    for index, (word, count) in enumerate(zip(words, counts, strict=True)):
        _add_word(word, count, index, token_counts, pair_counts, pair_words)

    while len(vocab) < size and pair_counts:
        left, right = max(pair_counts, key=lambda p: (_score(p, pair_counts, token_counts), p))
        merged = left + right.removeprefix(prefix)
        vocab.append(merged)
        for index in pair_words.pop((left, right)):
            word, count = words[index], counts[index]
            _add_word(word, -count, index, token_counts, pair_counts, pair_words)
            words[index] = merge_pair(word, (left, right), merged)
            _add_word(words[index], count, index, token_counts, pair_counts, pair_words)
        pair_counts += Counter()  # drop pairs whose count fell to zero
    return list(dict.fromkeys(vocab))


def _score(pair: tuple[str, str], pair_counts: Counter, token_counts: Counter) -> float:
    return pair_counts[pair] / (token_counts[pair[0]] * token_counts[pair[1]])


def _add_word(
    word: list[str],
    count: int,
    index: int,
    token_counts: Counter[str],
    pair_counts: Counter[tuple[str, str]],
    pair_words: dict[tuple[str, str], set[int]],
) -> None:
    """Add ``count`` (negative to remove) occurrences of ``word``'s tokens and pairs to the tables."""
    for token in word:
        token_counts[token] += count
    for pair in pairwise(word):
        pair_counts[pair] += count
        if count > 0:
            pair_words[pair].add(index)
        elif pair in pair_words:
            pair_words[pair].discard(index)
