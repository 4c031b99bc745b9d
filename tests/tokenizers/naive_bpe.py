"""A deliberately naive byte-level BPE trainer: the test oracle for course_lib.tokenizers.bpe_train.

Written from the conventions in course_lib.tokenizers' docstrings, sharing no code with course_lib: after every
merge it recounts every adjacent pair in every pre-token. Slow (O(merges x corpus)) but obviously right.
"""

from __future__ import annotations

import re
from collections import Counter

import regex

PATTERN = regex.compile(r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")


def naive_train_bpe(
    text: str, vocab_size: int, special_tokens: list[str] = ()
) -> tuple[dict[int, bytes], list[tuple[bytes, bytes]]]:
    specials = list(dict.fromkeys(special_tokens))
    if specials:
        longest_first = sorted(specials, key=len, reverse=True)
        parts = re.split("|".join(re.escape(s) for s in longest_first), text)
    else:
        parts = [text]
    words: Counter[tuple[bytes, ...]] = Counter()
    for part in parts:
        for pretoken in PATTERN.findall(part):
            words[tuple(bytes([b]) for b in pretoken.encode("utf-8"))] += 1

    vocab = {i: s.encode("utf-8") for i, s in enumerate(specials)}
    for b in range(256):
        vocab[len(vocab)] = bytes([b])
    merges = []
    while len(vocab) < vocab_size:
        pairs: Counter[tuple[bytes, bytes]] = Counter()
        for word, count in words.items():
            for i in range(len(word) - 1):
                pairs[word[i], word[i + 1]] += count
        if not pairs:
            break
        best = max(pairs, key=lambda pair: (pairs[pair], pair))
        merges.append(best)
        vocab[len(vocab)] = best[0] + best[1]
        new_words: Counter[tuple[bytes, ...]] = Counter()
        for word, count in words.items():
            out, i = [], 0
            while i < len(word):
                if i + 1 < len(word) and (word[i], word[i + 1]) == best:
                    out.append(best[0] + best[1])
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            new_words[tuple(out)] += count
        words = new_words
    return vocab, merges
