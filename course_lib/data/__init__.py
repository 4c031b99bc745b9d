"""Datasets and batching: corpora that resolve offline first, vocabularies, padding, LM batches."""

from course_lib.data.batching import Vocab, collate, get_batch, pad_and_truncate
from course_lib.data.corpora import (
    DatasetNotFoundError,
    cache_dir,
    list_corpora,
    load_corpus,
    load_sentences,
    load_sst2,
    staged_dirs,
)

__all__ = [
    "DatasetNotFoundError",
    "Vocab",
    "cache_dir",
    "collate",
    "get_batch",
    "list_corpora",
    "load_corpus",
    "load_sentences",
    "load_sst2",
    "pad_and_truncate",
    "staged_dirs",
]
