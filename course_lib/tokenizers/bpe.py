"""``BPETokenizer``: encode and decode with a trained byte-level BPE vocabulary (GPT-2 style).

Encoding a text: cut out special tokens (each becomes its id), split the rest into GPT-2 pre-tokens, turn each
pre-token into its UTF-8 bytes (one token per byte), then repeatedly merge the adjacent pair whose merge was
learned earliest (lowest rank), all its occurrences left to right, until no learned merge applies. This gives
the same tokens as replaying the merges in training order, and the same ids as Hugging Face ``tokenizers``'
BPE model given the same vocabulary and merges.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Sequence
from itertools import pairwise
from pathlib import Path

from course_lib.tokenizers.base import JsonTokenizerFile
from course_lib.tokenizers.bpe_train import Pair, merge_pair, train_bpe
from course_lib.tokenizers.bytes_unicode import str_to_token, token_to_str
from course_lib.tokenizers.pretokenize import GPT2_REGEX, last_safe_cut, split_on_special_tokens


class BPETokenizer(JsonTokenizerFile):
    """Byte-level BPE tokenizer from ``vocab`` (id -> token bytes) and ``merges`` (``(left, right)``, by rank).

    ``special_tokens``: strings that are never split; each maps to the lowest id whose bytes equal its UTF-8
    encoding, or to a new id after the largest one if the vocabulary lacks it. The vocabulary must contain
    the 256 single bytes and, for each merge, ``left``, ``right`` and ``left + right``.

    Pre-token encodings are cached (up to :attr:`cache_size` distinct pre-tokens), so encoding text with a
    Zipfian word distribution mostly costs a dictionary lookup per pre-token.
    """

    FORMAT = "course_lib.BPETokenizer/1"
    cache_size = 200_000
    stream_chars = 1 << 16  # encode_iterable buffers about this many characters before cutting

    def __init__(
        self,
        vocab: dict[int, bytes],
        merges: Sequence[tuple[bytes, bytes]],
        special_tokens: Sequence[str] | None = None,
    ) -> None:
        self.vocab: dict[int, bytes] = dict(vocab)
        self.merges: list[tuple[bytes, bytes]] = list(merges)
        self.special_tokens: list[str] = list(dict.fromkeys(special_tokens or ()))

        by_bytes: dict[bytes, list[int]] = {}
        for token_id in sorted(self.vocab):
            by_bytes.setdefault(self.vocab[token_id], []).append(token_id)
        self.special_ids: dict[str, int] = {}
        for token in self.special_tokens:
            raw = token.encode("utf-8")
            if raw in by_bytes:
                self.special_ids[token] = by_bytes[raw].pop(0)
            else:
                self.special_ids[token] = max(self.vocab, default=-1) + 1
                self.vocab[self.special_ids[token]] = raw
        # Ordinary tokens: the lowest id that was not taken by a special token.
        self._ids: dict[bytes, int] = {raw: ids[0] for raw, ids in by_bytes.items() if ids}

        missing = [b for b in range(256) if bytes([b]) not in self._ids]
        if missing:
            raise ValueError(f"the vocabulary lacks {len(missing)} single bytes (first: {bytes([missing[0]])!r})")
        self._byte_ids = [self._ids[bytes([b])] for b in range(256)]
        self._ranks: dict[Pair, tuple[int, int]] = {}  # (left id, right id) -> (rank, merged id)
        for rank, (left, right) in enumerate(self.merges):
            for part in (left, right, left + right):
                if part not in self._ids:
                    raise ValueError(
                        f"merge {rank} ({left!r}, {right!r}) uses {part!r}, which is not in the vocabulary"
                    )
            self._ranks.setdefault((self._ids[left], self._ids[right]), (rank, self._ids[left + right]))
        self._cache: dict[str, list[int]] = {}

    # -- construction --

    @classmethod
    def train(
        cls, input: str | os.PathLike, vocab_size: int, special_tokens: Sequence[str] = (), **options
    ) -> BPETokenizer:
        """Train on ``input`` (a path or the text) with :func:`~course_lib.tokenizers.bpe_train.train_bpe`."""
        vocab, merges = train_bpe(input, vocab_size, special_tokens, **options)
        return cls(vocab, merges, special_tokens)

    @classmethod
    def from_gpt2_files(
        cls,
        vocab_json: str | os.PathLike,
        merges_txt: str | os.PathLike,
        special_tokens: Sequence[str] | None = None,
    ) -> BPETokenizer:
        """Load GPT-2 style files: ``vocab.json`` maps token string -> id, ``merges.txt`` has one pair
        ``left right`` per line (an optional first line ``#version: ...``), both written with GPT-2's
        byte<->unicode map (:mod:`~course_lib.tokenizers.bytes_unicode`). Special tokens present in
        ``vocab.json`` (e.g. ``<|endoftext|>``) keep their ids there; others are appended."""
        with open(vocab_json, encoding="utf-8") as f:
            table = json.load(f)
        vocab: dict[int, bytes] = {}
        specials = set(special_tokens or ())
        for text, token_id in table.items():
            vocab[token_id] = text.encode("utf-8") if text in specials else str_to_token(text)
        merges = []
        for number, line in enumerate(Path(merges_txt).read_text(encoding="utf-8").splitlines(), start=1):
            if not line or (number == 1 and line.startswith("#version")):
                continue
            parts = line.split(" ")
            if len(parts) != 2:
                raise ValueError(f"{merges_txt}:{number}: expected 'left right', got {line!r}")
            merges.append((str_to_token(parts[0]), str_to_token(parts[1])))
        return cls(vocab, merges, special_tokens)

    def save_gpt2_files(self, directory: str | os.PathLike) -> tuple[Path, Path]:
        """Write ``vocab.json`` and ``merges.txt`` in GPT-2's format into ``directory`` (read them back with
        :meth:`from_gpt2_files`, or with Hugging Face's GPT-2 tokenizers); returns the two paths."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        specials = {self.special_ids[token]: token for token in self.special_tokens}
        table = {specials.get(i, token_to_str(raw)): i for i, raw in sorted(self.vocab.items())}
        vocab_json, merges_txt = directory / "vocab.json", directory / "merges.txt"
        vocab_json.write_text(json.dumps(table, ensure_ascii=False), encoding="utf-8")
        lines = [f"{token_to_str(left)} {token_to_str(right)}" for left, right in self.merges]
        merges_txt.write_text("#version: 0.2\n" + "".join(line + "\n" for line in lines), encoding="utf-8")
        return vocab_json, merges_txt

    def to_dict(self) -> dict:
        """Plain JSON data (tokens shown with GPT-2's byte map, e.g. ``"Ġthe"``); see :meth:`save`."""
        return {
            "format": self.FORMAT,
            "special_tokens": self.special_tokens,
            "vocab": {str(i): token_to_str(raw) for i, raw in sorted(self.vocab.items())},
            "merges": [[token_to_str(left), token_to_str(right)] for left, right in self.merges],
        }

    @classmethod
    def from_dict(cls, state: dict) -> BPETokenizer:
        vocab = {int(i): str_to_token(text) for i, text in state["vocab"].items()}
        merges = [(str_to_token(left), str_to_token(right)) for left, right in state["merges"]]
        return cls(vocab, merges, state["special_tokens"])

    # -- encoding and decoding --

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text``; special tokens map to their ids and are never split."""
        ids: list[int] = []
        for piece in split_on_special_tokens(text, self.special_tokens):
            if piece in self.special_ids:
                ids.append(self.special_ids[piece])
                continue
            for pretoken in GPT2_REGEX.findall(piece):
                cached = self._cache.get(pretoken)
                if cached is None:
                    cached = self._encode_pretoken(pretoken)
                    if len(self._cache) < self.cache_size:
                        self._cache[pretoken] = cached
                ids.extend(cached)
        return ids

    def encode_iterable(self, iterable: Iterable[str]) -> Iterator[int]:
        """Lazily yield the ids of the concatenation of ``iterable`` (e.g. an open file), in bounded memory.

        The ids equal ``encode("".join(iterable))``. Text is buffered and encoded up to the last safe cut (a
        newline between two printable ASCII characters,
        :func:`~course_lib.tokenizers.pretokenize.is_safe_cut`), so no token or special token is split across
        chunks. Memory stays bounded when such newlines keep coming; if a special token contains a newline,
        nothing is cut and the whole input is buffered.
        """
        can_cut = not any("\n" in token for token in self.special_tokens)
        parts: list[str] = []
        size = 0
        for chunk in iterable:
            parts.append(chunk)
            size += len(chunk)
            if can_cut and size >= self.stream_chars:
                buffer = "".join(parts)
                cut = last_safe_cut(buffer)
                if cut:
                    yield from self.encode(buffer[:cut])
                    buffer = buffer[cut:]
                parts, size = [buffer], len(buffer)
        yield from self.encode("".join(parts))

    def decode(self, ids: Iterable[int]) -> str:
        """The text of ``ids``; bytes that are not valid UTF-8 become U+FFFD (never an exception for that)."""
        try:
            raw = b"".join(self.vocab[i] for i in ids)
        except KeyError as err:
            raise ValueError(f"token id {err.args[0]!r} is not in the vocabulary (size {len(self.vocab)})") from None
        return raw.decode("utf-8", errors="replace")

    def tokens(self, text: str) -> list[bytes]:
        """The tokens of ``text`` as byte strings (for showing how a text is split)."""
        return [self.vocab[i] for i in self.encode(text)]

    def _encode_pretoken(self, pretoken: str) -> list[int]:
        word = [self._byte_ids[b] for b in pretoken.encode("utf-8")]
        ranks = self._ranks
        while len(word) > 1:
            best = min(pairwise(word), key=lambda pair: ranks.get(pair, _NO_MERGE))
            if best not in ranks:
                break
            word = merge_pair(word, best, ranks[best][1])
        return word

    def __repr__(self) -> str:
        return (
            f"BPETokenizer(vocab_size={self.vocab_size}, merges={len(self.merges)}, "
            f"special_tokens={self.special_tokens})"
        )


_NO_MERGE = (float("inf"), -1)
