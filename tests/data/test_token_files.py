"""``llmcourse prepare``: token files that equal in-memory tokenization, atomic writes, memmap windows."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from course_lib.data import corpora, get_batch, load_corpus
from course_lib.data import token_files as tf
from course_lib.errors import CourseError
from course_lib.tokenizers import BPETokenizer, CharTokenizer, load_tokenizer, tokenizer_from_dict

SMALL = "The quick brown fox jumps over the lazy dog. It was the best of times, it was the worst of times.\n" * 40


@pytest.fixture
def small_corpus(monkeypatch):
    real = corpora.load_corpus
    monkeypatch.setattr(corpora, "load_corpus", lambda name: SMALL if name == "small" else real(name))


def test_char_dataset_equals_in_memory_encoding(tmp_path):
    meta = tf.prepare_dataset("pydocs", "char", tmp_path, progress=False)
    text = load_corpus("pydocs")
    train_text, val_text = tf.split_text(text)
    tok = CharTokenizer.train(train_text)
    assert tokenizer_from_dict(meta["tokenizer"]).to_dict() == tok.to_dict()
    train, val = tf.open_tokens(tmp_path, "train"), tf.open_tokens(tmp_path, "val")
    assert isinstance(train, np.memmap) and train.dtype == np.uint16 and meta["dtype"] == "uint16"
    assert np.array_equal(train, tok.encode(train_text)) and np.array_equal(val, tok.encode(val_text))
    assert meta["train_tokens"] == len(train_text) and json.loads((tmp_path / "meta.json").read_text()) == meta
    assert sorted(p.name for p in tmp_path.iterdir()) == ["meta.json", "train.bin", "val.bin"]


def test_bpe_dataset_streams_in_chunks_without_changing_the_ids(tmp_path, small_corpus, monkeypatch):
    monkeypatch.setattr(tf, "CHUNK_CHARS", 300)  # many chunks: cuts must not change the tokens
    meta = tf.prepare_dataset("small", "bpe:300", tmp_path, progress=False)
    train_text, val_text = tf.split_text(SMALL)
    tok = BPETokenizer.train(train_text, 300, special_tokens=["<|endoftext|>"])
    assert meta["vocab_size"] == tok.vocab_size
    assert np.array_equal(tf.open_tokens(tmp_path, "train"), tok.encode(train_text))
    assert np.array_equal(tf.open_tokens(tmp_path, "val"), tok.encode(val_text))


def test_interrupted_prepare_leaves_no_file(tmp_path, small_corpus, monkeypatch):
    monkeypatch.setattr(tf, "CHUNK_CHARS", 100)
    calls = []
    real_encode = CharTokenizer.encode

    def encode_then_stop(self, text):
        calls.append(text)
        if len(calls) == 5:
            raise KeyboardInterrupt
        return real_encode(self, text)

    monkeypatch.setattr(CharTokenizer, "encode", encode_then_stop)
    with pytest.raises(KeyboardInterrupt):
        tf.prepare_dataset("small", "char", tmp_path / "ds", progress=False)
    assert list((tmp_path / "ds").iterdir()) == []
    with pytest.raises(CourseError, match="not a prepared dataset"):
        tf.open_tokens(tmp_path / "ds", "train")


def test_existing_dataset_is_refused_and_sizes_are_checked(tmp_path, small_corpus):
    tf.prepare_dataset("small", "char", tmp_path, progress=False)
    with pytest.raises(CourseError, match="already holds a prepared dataset"):
        tf.prepare_dataset("small", "char", tmp_path, progress=False)
    with open(tmp_path / "val.bin", "ab") as handle:
        handle.write(b"\0\0")
    with pytest.raises(CourseError, match="meta.json says"):
        tf.open_tokens(tmp_path, "val")


def test_dtype_by_vocabulary_size():
    assert tf.token_dtype(65_536) == np.uint16 and tf.token_dtype(65_537) == np.uint32
    with pytest.raises(CourseError, match="out of range"):
        tf.write_tokens("/tmp/never.bin", [[70_000]], np.dtype(np.uint16))


def test_windows_from_the_memmap_equal_the_in_memory_windows(tmp_path):
    tf.prepare_dataset("pydocs", "char", tmp_path, progress=False)
    mapped = tf.open_tokens(tmp_path, "train")
    in_memory = torch.from_numpy(np.array(mapped, dtype=np.int64))
    for seed in range(3):
        x, y = get_batch(mapped, 8, 32, "cpu", torch.Generator().manual_seed(seed))
        want = get_batch(in_memory, 8, 32, "cpu", torch.Generator().manual_seed(seed))
        assert torch.equal(x, want[0]) and torch.equal(y, want[1]) and x.dtype == torch.long


def test_the_tokenizer_file_of_a_dataset_loads(tmp_path, small_corpus):
    meta = tf.prepare_dataset("small", "char", tmp_path, progress=False)
    (tmp_path / "tok.json").write_text(json.dumps(meta["tokenizer"]))
    assert load_tokenizer(tmp_path / "tok.json").encode("fox") == CharTokenizer.train(tf.split_text(SMALL)[0]).encode(
        "fox"
    )
