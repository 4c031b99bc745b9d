"""Tokenize a corpus once into flat binary files, then train from memory maps (``llmcourse prepare``).

A prepared dataset is a directory::

    train.bin   the token ids of the first 90% of the text, one after another (uint16, or uint32 when the
    val.bin     vocabulary has more than 65,536 tokens); the last 10% of the text
    meta.json   {"format", "corpus", "tokenizer_spec", "tokenizer": tok.to_dict(), "dtype", "train_tokens", ...}

Training opens the ``.bin`` files with ``np.memmap``: the operating system pages in only the windows a batch
touches, so a corpus larger than RAM works and the second run starts at once (nanoGPT's ``prepare.py`` idea).
Every file is written under a temporary name and renamed into place when complete (``os.replace`` is atomic), and
``meta.json`` comes last: an interrupted prepare leaves no partial file, and a directory with ``meta.json`` is
complete.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from course_lib.errors import CourseError
from course_lib.files import atomic_write

META_FILE = "meta.json"
FORMAT = "course_lib.token_files/1"
VAL_FRACTION = 0.1
CHUNK_CHARS = 1 << 20  # text is tokenized and written about this many characters at a time


def token_dtype(vocab_size: int) -> np.dtype:
    """The smallest unsigned integer type that holds every id: uint16 up to 65,536 tokens, else uint32."""
    return np.dtype(np.uint16) if vocab_size <= 1 << 16 else np.dtype(np.uint32)


def split_text(text: str, val_fraction: float = VAL_FRACTION) -> tuple[str, str]:
    """The leading ``1 - val_fraction`` of ``text`` for training and the tail for validation."""
    cut = int(len(text) * (1 - val_fraction))
    return text[:cut], text[cut:]


def _encode_in_chunks(tokenizer: Any, text: str, bar: tqdm) -> Iterator[list[int]]:
    """The ids of ``text`` in pieces of about :data:`CHUNK_CHARS` characters. BPE streams through
    ``encode_iterable``, which never cuts inside a pre-token, so the ids equal ``encode(text)``; a character
    tokenizer can be cut anywhere."""
    from course_lib.tokenizers.registry import encode

    def chunks() -> Iterator[str]:
        for start in range(0, len(text), CHUNK_CHARS):
            chunk = text[start : start + CHUNK_CHARS]
            bar.update(len(chunk))
            yield chunk

    if not hasattr(tokenizer, "encode_iterable"):
        for chunk in chunks():
            yield encode(tokenizer, chunk)
        return
    batch: list[int] = []
    for token_id in tokenizer.encode_iterable(chunks()):
        batch.append(token_id)
        if len(batch) >= CHUNK_CHARS:
            yield batch
            batch = []
    yield batch


def write_tokens(path: str | os.PathLike, id_chunks: Iterable[list[int]], dtype: np.dtype) -> int:
    """Append each chunk of ids to ``path`` (written to a temporary name, renamed when done); returns the count."""
    count = 0
    with atomic_write(path) as handle:
        for ids in id_chunks:
            array = np.asarray(ids, dtype=np.int64)
            if array.size and (array.min() < 0 or array.max() >= np.iinfo(dtype).max + 1):
                raise CourseError(f"token id out of range for {dtype.name} while writing {Path(path).name}")
            array.astype(dtype).tofile(handle)
            count += array.size
    return count


def prepare_dataset(
    corpus: str, tokenizer_spec: str, out: str | os.PathLike, *, progress: bool = True
) -> dict[str, Any]:
    """Tokenize ``corpus`` with a tokenizer trained on its training part; write ``out/{train,val}.bin`` and
    ``out/meta.json``; return the metadata. A directory that already holds a dataset is refused."""
    from course_lib.data.corpora import load_corpus
    from course_lib.tokenizers.registry import build_tokenizer

    out = Path(out)
    if (out / META_FILE).exists():
        raise CourseError(f"{str(out)!r} already holds a prepared dataset; choose another --out or delete it")
    out.mkdir(parents=True, exist_ok=True)
    text = load_corpus(corpus)
    train_text, val_text = split_text(text)
    tokenizer = build_tokenizer(tokenizer_spec, train_text)
    dtype = token_dtype(tokenizer.vocab_size)
    counts = {}
    with tqdm(total=len(text), unit="char", unit_scale=True, disable=not progress, desc="tokenizing") as bar:
        for split, part in (("train", train_text), ("val", val_text)):
            counts[split] = write_tokens(out / f"{split}.bin", _encode_in_chunks(tokenizer, part, bar), dtype)
    meta = {
        "format": FORMAT,
        "corpus": corpus,
        "tokenizer_spec": tokenizer_spec,
        "tokenizer": tokenizer.to_dict(),
        "vocab_size": tokenizer.vocab_size,
        "dtype": dtype.name,
        "train_tokens": counts["train"],
        "val_tokens": counts["val"],
        "chars": len(text),
    }
    with atomic_write(out / META_FILE, "w", encoding="utf-8") as handle:  # last: it marks the dataset complete
        handle.write(json.dumps(meta, indent=1))
    return meta


def read_meta(directory: str | os.PathLike) -> dict[str, Any]:
    """The ``meta.json`` of a prepared dataset (a CourseError when there is none)."""
    path = Path(directory) / META_FILE
    if not path.is_file():
        raise CourseError(f"{str(directory)!r} is not a prepared dataset (no {META_FILE}; run `llmcourse prepare`)")
    meta = json.loads(path.read_text(encoding="utf-8"))
    if meta.get("format") != FORMAT:
        raise CourseError(f"{str(path)!r} has format {meta.get('format')!r}, expected {FORMAT!r}")
    return meta


def open_tokens(directory: str | os.PathLike, split: str) -> np.memmap:
    """``split`` ("train" or "val") of a prepared dataset as a read-only 1-D memory map (nothing is read yet)."""
    meta = read_meta(directory)
    path = Path(directory) / f"{split}.bin"
    expected = meta[f"{split}_tokens"]
    tokens = np.memmap(path, dtype=np.dtype(meta["dtype"]), mode="r")
    if len(tokens) != expected:
        raise CourseError(f"{str(path)!r} holds {len(tokens)} tokens but meta.json says {expected}")
    return tokens
