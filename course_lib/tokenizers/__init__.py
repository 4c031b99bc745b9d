"""Tokenizers for the course: characters, words, byte-level BPE (GPT-2 style) and WordPiece (BERT style).

All follow one interface, :class:`~course_lib.tokenizers.base.Tokenizer`: ``train`` / ``encode`` / ``decode`` /
``save`` / ``load`` (and ``vocab_size``); :func:`load_tokenizer` reads any of their files back.

This package is ``course_lib.tokenizers``; it does not shadow the PyPI ``tokenizers`` library (imports are
absolute). GPT-2 pre-tokenisation lives in :mod:`course_lib.tokenizers.pretokenize`.
"""

from course_lib.tokenizers.base import Tokenizer, load_tokenizer, tokenizer_from_dict
from course_lib.tokenizers.bpe import BPETokenizer
from course_lib.tokenizers.bpe_train import BPETrainer, Merge, train_bpe
from course_lib.tokenizers.pretokenize import GPT2_PATTERN, split_on_special_tokens
from course_lib.tokenizers.simple import CharTokenizer, WordTokenizer
from course_lib.tokenizers.wordpiece import WordPieceTokenizer

__all__ = [
    "GPT2_PATTERN",
    "BPETokenizer",
    "BPETrainer",
    "CharTokenizer",
    "Merge",
    "Tokenizer",
    "WordPieceTokenizer",
    "WordTokenizer",
    "load_tokenizer",
    "split_on_special_tokens",
    "tokenizer_from_dict",
    "train_bpe",
]
