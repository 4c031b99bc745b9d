"""Tokenizers for the course: characters, words, byte-level BPE (GPT-2 style) and WordPiece (BERT style).

This package is ``course_lib.tokenizers``; it does not shadow the PyPI ``tokenizers`` library (imports are
absolute).
"""

from course_lib.tokenizers.bpe import BPETokenizer
from course_lib.tokenizers.bpe_train import BPETrainer, Merge, train_bpe

__all__ = ["BPETokenizer", "BPETrainer", "Merge", "train_bpe"]
