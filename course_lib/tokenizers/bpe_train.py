"""Training byte-level BPE (Sennrich et al. 2016; GPT-2's byte-level variant, Radford et al. 2019).

Conventions (shared with :class:`~course_lib.tokenizers.bpe.BPETokenizer` and the A1 graders):

- ids: the special tokens first (in the order given), then the 256 single bytes (id = len(specials) + byte
  value), then one new id per merge in creation order;
- pre-tokenisation as in :mod:`~course_lib.tokenizers.pretokenize` (special tokens cut out, GPT-2 regex);
  no merge crosses a pre-token or a special token;
- each step merges the adjacent pair with the highest count over the whole corpus; ties go to the
  lexicographically greatest pair, comparing ``(left_bytes, right_bytes)`` as a tuple of byte strings;
- tokens are identified by their bytes: if a merge rebuilds bytes that are already a token (``(ab, c)`` and
  later ``(a, bc)``), the vocabulary gets a second id for them but both behave as one symbol from then on.

Speed (the naive loop recounts every pair after every merge): count each distinct pre-token once, keep the
pair counts and, per pair, the set of words containing it; a merge then touches only those words and
changes only the counts of pairs next to the merge sites. The best pair comes from a max-heap whose stale
entries (count changed since the push) are skipped when popped ("lazy invalidation").
"""

from __future__ import annotations

import heapq
import os
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from itertools import pairwise
from pathlib import Path
from typing import NamedTuple, TypeVar

from tqdm.auto import tqdm

from course_lib.tokenizers.pretokenize import pretoken_counts

Pair = tuple[int, int]
T = TypeVar("T")


class Merge(NamedTuple):
    """One BPE merge: ``left + right`` became token ``new_id``; ``count`` is how often the pair occurred."""

    rank: int  # 0 for the first merge
    left: bytes
    right: bytes
    new_id: int
    count: int


class _Descending:
    """Heap key that orders byte-string pairs from greatest to smallest (``heapq`` pops the smallest)."""

    __slots__ = ("pair",)

    def __init__(self, pair: tuple[bytes, bytes]) -> None:
        self.pair = pair

    def __lt__(self, other: _Descending) -> bool:
        return self.pair > other.pair


class BPETrainer:
    """Byte-level BPE, one merge at a time: ``step()`` performs a merge, ``train()`` runs to a vocab size.

    Build it from text with :meth:`from_text` or from a pre-token frequency table. A lecture widget can call
    ``step()`` repeatedly and show :attr:`words` after each merge.

    >>> trainer = BPETrainer({"low": 5, "lower": 2, "newest": 6, "widest": 3})
    >>> trainer.step()
    Merge(rank=0, left=b's', right=b't', new_id=256, count=9)
    """

    def __init__(self, word_counts: Mapping[str, int] | Mapping[bytes, int], special_tokens: Sequence[str] = ()):
        self.special_tokens = list(dict.fromkeys(special_tokens))  # de-duplicated, order kept
        self.vocab: dict[int, bytes] = {i: tok.encode("utf-8") for i, tok in enumerate(self.special_tokens)}
        offset = len(self.vocab)
        self.vocab.update({offset + b: bytes([b]) for b in range(256)})
        self.merges: list[Merge] = []
        # The one id that stands for each byte string while training (the first id given those bytes).
        self._symbol: dict[bytes, int] = {tok: i for i, tok in self.vocab.items() if i >= offset}

        self.words: list[list[int]] = []  # each distinct pre-token as its current list of token ids
        self.counts: list[int] = []  # how often that pre-token occurs
        for word, count in word_counts.items():
            raw = word.encode("utf-8") if isinstance(word, str) else word
            if raw and count > 0:
                self.words.append([offset + b for b in raw])
                self.counts.append(count)

        pair_counts: dict[Pair, int] = defaultdict(int)
        self._pair_words: dict[Pair, set[int]] = defaultdict(set)  # pair -> words that may contain it
        for index, (word, count) in enumerate(zip(self.words, self.counts, strict=True)):
            for pair in pairwise(word):
                pair_counts[pair] += count
                self._pair_words[pair].add(index)
        self.pair_counts: dict[Pair, int] = dict(pair_counts)  # only pairs that occur, all counts > 0
        self._heap: list[tuple[int, _Descending, Pair]] = []
        self._rebuild_heap()

    @classmethod
    def from_text(cls, text: str, special_tokens: Sequence[str] = (), num_workers: int | None = None) -> BPETrainer:
        """Pre-tokenise ``text`` (in parallel when it is large) and count each pre-token once."""
        return cls(pretoken_counts(text, special_tokens, num_workers), special_tokens)

    # -- the merge loop --

    def best_pair(self) -> Pair | None:
        """The pair the next merge will join (as token ids), or None when no word has two tokens left."""
        while self._heap:
            neg_count, _, pair = self._heap[0]
            if self.pair_counts.get(pair, 0) == -neg_count:
                return pair
            heapq.heappop(self._heap)  # stale: the count changed after this entry was pushed
        return None

    def step(self) -> Merge | None:
        """Perform one merge and return it, or return None when nothing is left to merge."""
        pair = self.best_pair()
        if pair is None:
            return None
        left, right = self.vocab[pair[0]], self.vocab[pair[1]]
        new_id = len(self.vocab)
        self.vocab[new_id] = left + right
        symbol = self._symbol.setdefault(left + right, new_id)
        merge = Merge(len(self.merges), left, right, new_id, self.pair_counts[pair])
        self.merges.append(merge)
        self._apply(pair, symbol)
        return merge

    def train(
        self, vocab_size: int, progress: bool | None = None, on_merge: Callable[[Merge], None] | None = None
    ) -> None:
        """Merge until the vocabulary has ``vocab_size`` entries (or no pair is left).

        ``progress``: show a tqdm bar (None: only on a terminal). ``on_merge(merge)`` is called after each
        merge with its :class:`Merge`.
        """
        if vocab_size < len(self.vocab) - len(self.merges):
            raise ValueError(
                f"vocab_size={vocab_size} is too small: the {len(self.special_tokens)} special tokens and "
                f"the 256 single bytes alone need {len(self.vocab) - len(self.merges)}"
            )
        todo = max(0, vocab_size - len(self.vocab))
        for _ in tqdm(range(todo), desc="BPE merges", disable=None if progress is None else not progress):
            merge = self.step()
            if merge is None:
                break
            if on_merge is not None:
                on_merge(merge)

    def __iter__(self) -> Iterator[Merge]:
        """Iterate over merges as they are performed (until nothing is left to merge)."""
        while (merge := self.step()) is not None:
            yield merge

    # -- results --

    def segmented(self, top: int = 10) -> list[tuple[list[bytes], int]]:
        """The ``top`` most frequent pre-tokens, each as its current list of tokens, with its count (ties in
        first-seen order), e.g. ``[([b" th", b"e"], 5000), ...]``: what a merge-by-merge widget shows."""
        order = sorted(range(len(self.words)), key=lambda i: -self.counts[i])[:top]
        return [([self.vocab[t] for t in self.words[i]], self.counts[i]) for i in order]

    def merge_pairs(self) -> list[tuple[bytes, bytes]]:
        """The merges so far as ``(left_bytes, right_bytes)`` in creation order."""
        return [(m.left, m.right) for m in self.merges]

    # -- internals --

    def _apply(self, pair: Pair, symbol: int) -> None:
        """Replace ``pair`` by ``symbol`` in every word containing it; only those words' counts change.

        ``_pair_words`` may list words that no longer contain a pair (we never remove entries, which would
        cost more than it saves); such words come back unchanged from ``merge_pair`` and are skipped.
        """
        delta: dict[Pair, int] = defaultdict(int)  # net change of each pair's count
        pair_words = self._pair_words
        for index in pair_words.pop(pair):
            word, count = self.words[index], self.counts[index]
            merged = merge_pair(word, pair, symbol)
            if len(merged) == len(word):
                continue  # a stale entry: this word lost the pair in an earlier merge
            for p in pairwise(word):
                delta[p] -= count
            for p in pairwise(merged):
                delta[p] += count
                pair_words[p].add(index)
            self.words[index] = merged
        for p, change in delta.items():
            if change == 0:
                continue  # e.g. a pair elsewhere in a word that was touched: no new heap entry needed
            count = self.pair_counts.get(p, 0) + change
            if count > 0:
                self.pair_counts[p] = count
                heapq.heappush(self._heap, self._heap_entry(p, count))
            else:
                del self.pair_counts[p]
                pair_words.pop(p, None)
        if len(self._heap) > 4 * len(self.pair_counts) + 1024:
            self._rebuild_heap()  # keep memory bounded: most entries are stale by now

    def _heap_entry(self, pair: Pair, count: int) -> tuple[int, _Descending, Pair]:
        """Smallest entry = highest count, then the greatest ``(left_bytes, right_bytes)``."""
        return (-count, _Descending((self.vocab[pair[0]], self.vocab[pair[1]])), pair)

    def _rebuild_heap(self) -> None:
        self._heap = [self._heap_entry(p, count) for p, count in self.pair_counts.items()]
        heapq.heapify(self._heap)


def merge_pair(word: Sequence[T], pair: tuple[T, T], symbol: T) -> list[T]:
    """Replace each non-overlapping occurrence of ``pair`` in ``word``, left to right, by ``symbol``."""
    first, second = pair
    merged = []
    i = 0
    while i < len(word):
        if i + 1 < len(word) and word[i] == first and word[i + 1] == second:
            merged.append(symbol)
            i += 2
        else:
            merged.append(word[i])
            i += 1
    return merged


def read_input(input: str | os.PathLike) -> str:
    """A ``Path``, or a ``str`` naming an existing file, is read as UTF-8; another ``str`` is the text."""
    if isinstance(input, os.PathLike):
        return Path(input).read_text(encoding="utf-8")
    if isinstance(input, str):
        if len(input) < 4096 and "\n" not in input and os.path.isfile(input):
            return Path(input).read_text(encoding="utf-8")
        return input
    raise TypeError(f"input must be a path or a string, not {type(input).__name__}")


def train_bpe(
    input: str | os.PathLike,
    vocab_size: int,
    special_tokens: Sequence[str] = (),
    *,
    num_workers: int | None = None,
    progress: bool | None = None,
    on_merge: Callable[[Merge], None] | None = None,
) -> tuple[dict[int, bytes], list[tuple[bytes, bytes]]]:
    """Train byte-level BPE on ``input`` (a path or the text itself, see :func:`read_input`).

    Returns ``(vocab, merges)``: ``vocab`` maps id -> token bytes with ids as in the module docstring, at most
    ``vocab_size`` entries (fewer only if the corpus runs out of pairs); ``merges`` lists ``(left, right)``
    byte pairs in creation order. ``on_merge`` is called with each :class:`Merge` (e.g. to animate training).

    Texts of 4M characters or more are pre-tokenised by ``num_workers`` processes (default: all CPUs) started
    with "spawn": in a script, call this under ``if __name__ == "__main__":``, or pass ``num_workers=1``.
    """
    trainer = BPETrainer.from_text(read_input(input), special_tokens, num_workers)
    trainer.train(vocab_size, progress=progress, on_merge=on_merge)
    return dict(trainer.vocab), trainer.merge_pairs()
