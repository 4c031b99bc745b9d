"""Pre-tokenisation for byte-level BPE: cut out special tokens, then split the rest with GPT-2's regex.

BPE never merges across a pre-token boundary, so pre-tokens are the "words" it learns from. Three rules:

1. Special tokens (e.g. ``<|endoftext|>``) are cut out of the text first; they are never split and no
   merge crosses them. When special tokens overlap, the leftmost match wins and, at one position, the
   longest one (``<|a|><|a|>`` beats ``<|a|>``).
2. Every other piece is split by :data:`GPT2_PATTERN` (contractions, optional space + letters, optional
   space + digits, optional space + other symbols, whitespace runs). The pattern covers every character,
   so the pre-tokens of a piece concatenate back to the piece.
3. A large text can be cut into chunks that are pre-tokenised independently (in parallel) with exactly the
   same result, at the "safe cuts" of :func:`is_safe_cut`.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache

import regex

GPT2_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
GPT2_REGEX = regex.compile(GPT2_PATTERN)

# Texts shorter than this are pre-tokenised in-process: starting worker processes costs more than it saves.
PARALLEL_MIN_CHARS = 4_000_000


def pretokenize(text: str) -> list[str]:
    """Split ``text`` (containing no special tokens) into GPT-2 pre-tokens, e.g. ``"I'm here"`` ->
    ``["I", "'m", " here"]``."""
    return GPT2_REGEX.findall(text)


@lru_cache(maxsize=64)
def _special_regex(special_tokens: tuple[str, ...]) -> regex.Pattern | None:
    if not special_tokens:
        return None
    # Longest first: at one position the regex alternation takes the first alternative that matches.
    ordered = sorted(set(special_tokens), key=lambda tok: (-len(tok), tok))
    return regex.compile("(" + "|".join(regex.escape(tok) for tok in ordered) + ")")


def split_on_special_tokens(text: str, special_tokens: Sequence[str] = ()) -> list[str]:
    """Cut ``text`` into pieces: each special-token occurrence, and each stretch of text between them.

    Empty pieces are dropped. A piece is a special token exactly when it is in ``special_tokens`` (a text
    piece can never equal one, or it would have been matched). Example with ``["<|eot|>"]``:
    ``"a<|eot|>b"`` -> ``["a", "<|eot|>", "b"]``.
    """
    pattern = _special_regex(tuple(special_tokens))
    if pattern is None:
        return [text] if text else []
    return [piece for piece in pattern.split(text) if piece]


def is_safe_cut(text: str, pos: int) -> bool:
    """True when cutting ``text`` at ``pos`` leaves the GPT-2 pre-tokens of both halves unchanged.

    We use a simple sufficient condition: ``text[pos-1]`` is a newline between two printable, non-space ASCII
    characters (``x\\ny``). The newline is then a pre-token on its own whether or not the text continues
    (``\\s+(?!\\S)`` fails and ``\\s+`` takes it in the whole text; at the end of the left half the first
    alternative takes it), and no pre-token reaches across it. A special token containing a newline could
    straddle such a cut: cut special-token-free text, or check that no special token contains ``"\\n"``.
    """
    return 2 <= pos < len(text) and text[pos - 1] == "\n" and _printable(text[pos - 2]) and _printable(text[pos])


def _printable(char: str) -> bool:
    return "!" <= char <= "~"


def last_safe_cut(text: str) -> int:
    """The largest ``pos`` with :func:`is_safe_cut` true, or 0 when there is none."""
    newline = text.rfind("\n")
    while newline != -1 and not is_safe_cut(text, newline + 1):
        newline = text.rfind("\n", 0, newline)
    return newline + 1


def cut_at_safe_points(text: str, max_chars: int) -> list[str]:
    """Cut ``text`` into pieces of about ``max_chars`` (longer when no safe cut is near) at safe cuts only."""
    pieces = []
    start = 0
    while len(text) - start > max_chars:
        newline = text.find("\n", start + max_chars - 1)
        while newline != -1 and not is_safe_cut(text, newline + 1):
            newline = text.find("\n", newline + 1)
        if newline == -1:
            break
        pieces.append(text[start : newline + 1])
        start = newline + 1
    pieces.append(text[start:])
    return pieces


def count_pretokens(pieces: Iterable[str]) -> Counter[str]:
    """Count the GPT-2 pre-tokens of special-token-free ``pieces`` (runs inside worker processes)."""
    counts: Counter[str] = Counter()
    for piece in pieces:
        counts.update(GPT2_REGEX.findall(piece))
    return counts


def pretoken_counts(text: str, special_tokens: Sequence[str] = (), num_workers: int | None = None) -> Counter[str]:
    """Frequency table ``pre-token -> count`` of ``text`` with special tokens cut out (and not counted).

    Texts of at least :data:`PARALLEL_MIN_CHARS` are cut (at special tokens, then at safe cuts) into chunks
    that ``num_workers`` processes count in parallel (default: the number of CPUs); the result is identical
    to a single-process count.
    """
    specials = set(special_tokens)
    pieces = [piece for piece in split_on_special_tokens(text, special_tokens) if piece not in specials]
    workers = num_workers or os.cpu_count() or 1
    if workers <= 1 or len(text) < PARALLEL_MIN_CHARS:
        return count_pretokens(pieces)

    batches = _batches(pieces, target_chars=len(text) // (4 * workers) + 1)
    # "spawn" behaves the same on Linux, macOS and Windows and is safe when the parent has threads (torch).
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        total: Counter[str] = Counter()
        for counts in pool.imap_unordered(count_pretokens, batches):
            total.update(counts)
    return total


def _batches(pieces: list[str], target_chars: int) -> list[list[str]]:
    """Group pieces into batches of about ``target_chars`` characters, cutting long pieces at safe cuts."""
    batches: list[list[str]] = [[]]
    size = 0
    for piece in pieces:
        for part in cut_at_safe_points(piece, target_chars):
            if size >= target_chars:
                batches.append([])
                size = 0
            batches[-1].append(part)
            size += len(part)
    return batches
