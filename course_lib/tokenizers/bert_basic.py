"""BERT's full tokenizer: the *basic* tokenizer (normalisation) in front of WordPiece (Devlin et al. 2019).

Published BERT checkpoints ship a ``vocab.txt`` and expect text to be normalised first, exactly as Google's
``BasicTokenizer`` and Hugging Face's ``BertNormalizer`` do:

1. clean: drop NUL, U+FFFD and control characters; turn every whitespace character into a space;
2. CJK: put spaces around every CJK ideograph, so each becomes a word of its own (Chinese has no spaces);
3. uncased models: lowercase, then strip accents (decompose to NFD and drop the combining marks, Mn),
   so ``"Café"`` -> ``"cafe"``.

Then :mod:`course_lib.tokenizers.wordpiece` does the rest: split on whitespace and punctuation, and cut each
word greedily into vocabulary pieces (a word of more than 100 characters, or one that cannot be cut, is ``[UNK]``).
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Iterable

from course_lib.tokenizers.wordpiece import WordPieceTokenizer

# The CJK Unified Ideographs blocks, as in BERT's tokenization.py (Hangul and kana are not included: they are
# written with spaces, and BERT treats them like any other letters).
CJK_RANGES = (
    (0x4E00, 0x9FFF),
    (0x3400, 0x4DBF),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F),
    (0x2B820, 0x2CEAF),
    (0xF900, 0xFAFF),
    (0x2F800, 0x2FA1F),
)


def is_cjk(char: str) -> bool:
    code = ord(char)
    return any(low <= code <= high for low, high in CJK_RANGES)


def _is_whitespace(char: str) -> bool:
    return char in " \t\n\r" or unicodedata.category(char) == "Zs"


def _is_control(char: str) -> bool:
    return char not in "\t\n\r" and unicodedata.category(char).startswith("C")


def strip_accents(text: str) -> str:
    """``"Crème brûlée"`` -> ``"Creme brulee"``: NFD, then drop the nonspacing combining marks."""
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


def bert_normalize(text: str, lowercase: bool = True, strip_accents_: bool | None = None) -> str:
    """Steps 1-3 of the module docstring. ``strip_accents_=None`` means "as ``lowercase``" (BERT's default)."""
    out = []
    for char in text:
        if char in ("\x00", "\ufffd") or _is_control(char):
            continue
        if _is_whitespace(char):
            out.append(" ")
        elif is_cjk(char):
            out.append(f" {char} ")
        else:
            out.append(char)
    text = "".join(out)
    if lowercase:
        text = text.lower()
    if lowercase if strip_accents_ is None else strip_accents_:
        text = strip_accents(text)
    return text


class BertTokenizer:
    """BERT's tokenizer: :func:`bert_normalize`, then :class:`WordPieceTokenizer` on a ``vocab.txt``.

    ``encode`` returns ids; ``encode_pair`` builds ``[CLS] A [SEP] B [SEP]`` with its token-type ids, and
    ``batch`` pads several texts into ``input_ids``/``attention_mask``/``token_type_ids`` lists.
    """

    def __init__(self, wordpiece: WordPieceTokenizer, lowercase: bool = True) -> None:
        for token in ("[PAD]", "[CLS]", "[SEP]", "[MASK]"):
            if token not in wordpiece.vocab:
                raise ValueError(f"a BERT vocabulary needs {token}, and this one has none")
        self.wordpiece = wordpiece
        self.lowercase = lowercase
        vocab = wordpiece.vocab
        self.pad_id, self.cls_id, self.sep_id, self.mask_id = (vocab[t] for t in ("[PAD]", "[CLS]", "[SEP]", "[MASK]"))
        self.unk_id = vocab[wordpiece.unk_token]

    @classmethod
    def from_vocab_file(cls, path: str | os.PathLike, lowercase: bool = True) -> BertTokenizer:
        """Load a checkpoint's ``vocab.txt`` (normalisation does the lowercasing, so WordPiece itself does not)."""
        return cls(WordPieceTokenizer.from_vocab_file(path, lowercase=False), lowercase=lowercase)

    load = from_vocab_file

    def save(self, path: str | os.PathLike) -> None:
        self.wordpiece.save_vocab(path)

    @property
    def vocab_size(self) -> int:
        return self.wordpiece.vocab_size

    @property
    def special_ids(self) -> set[int]:
        """Ids that objectives must never mask: ``[PAD]``, ``[UNK]``, ``[CLS]``, ``[SEP]``, ``[MASK]``."""
        return {self.pad_id, self.unk_id, self.cls_id, self.sep_id, self.mask_id}

    def tokenize(self, text: str) -> list[str]:
        return self.wordpiece.tokenize(bert_normalize(text, self.lowercase))

    def encode(self, text: str, add_special_tokens: bool = False) -> list[int]:
        return self.wordpiece.encode(bert_normalize(text, self.lowercase), add_special_tokens=add_special_tokens)

    def decode(self, ids: Iterable[int]) -> str:
        return self.wordpiece.decode(ids)

    def encode_pair(self, text_a: str, text_b: str | None = None) -> tuple[list[int], list[int]]:
        """``[CLS] A [SEP]`` (+ ``B [SEP]``) and its token types: 0 up to and including the first ``[SEP]``, then 1."""
        a = self.encode(text_a)
        ids = [self.cls_id, *a, self.sep_id]
        types = [0] * len(ids)
        if text_b is not None:
            b = self.encode(text_b)
            ids += [*b, self.sep_id]
            types += [1] * (len(b) + 1)
        return ids, types

    def batch(self, texts: list[str], max_len: int = 128) -> dict[str, list[list[int]]]:
        """``[CLS] text [SEP]`` per text, truncated to ``max_len``, right-padded with ``[PAD]`` to the longest."""
        rows = [self.encode_pair(text)[0] for text in texts]
        rows = [row if len(row) <= max_len else [*row[: max_len - 1], self.sep_id] for row in rows]
        width = max(len(row) for row in rows)
        return {
            "input_ids": [row + [self.pad_id] * (width - len(row)) for row in rows],
            "attention_mask": [[1] * len(row) + [0] * (width - len(row)) for row in rows],
            "token_type_ids": [[0] * width for _ in rows],
        }
