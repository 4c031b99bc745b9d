"""A vocabulary: the bijection between tokens and integer ids that every word-level model needs.

It lives with the tokenizers (``WordTokenizer`` is a regex split plus a :class:`Vocab`) and is re-exported by
``course_lib.data`` for batching code.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

PAD, UNK = "<pad>", "<unk>"


class Vocab:
    """A bijection between tokens and integer ids, with ``<unk>`` for tokens it has never seen.

    Ids are assigned deterministically: the special tokens first (in the order given), then the other tokens
    by decreasing frequency, ties broken alphabetically.
    """

    def __init__(self, tokens: Iterable[str] = (), specials: Sequence[str] = (PAD, UNK)) -> None:
        if UNK not in specials:
            raise ValueError(f"specials must include {UNK!r} (the id for unseen tokens); got {list(specials)}")
        self.id_to_token: list[str] = []
        self.token_to_id: dict[str, int] = {}
        for token in [*specials, *tokens]:
            if token not in self.token_to_id:
                self.token_to_id[token] = len(self.id_to_token)
                self.id_to_token.append(token)
        self.specials = tuple(specials)

    @classmethod
    def build(
        cls,
        sentences: Iterable[Sequence[str]],
        min_freq: int = 1,
        max_size: int | None = None,
        specials: Sequence[str] = (PAD, UNK),
    ) -> Vocab:
        """Vocabulary of the tokens seen at least ``min_freq`` times, the ``max_size`` most frequent at most
        (specials included in ``max_size``)."""
        if min_freq < 1:
            raise ValueError(f"min_freq must be >= 1, got {min_freq}")
        counts = Counter(token for sentence in sentences for token in sentence)
        ranked = sorted(
            (t for t, c in counts.items() if c >= min_freq and t not in specials), key=lambda t: (-counts[t], t)
        )
        if max_size is not None:
            ranked = ranked[: max(0, max_size - len(specials))]
        return cls(ranked, specials)

    def __len__(self) -> int:
        return len(self.id_to_token)

    def __contains__(self, token: str) -> bool:
        return token in self.token_to_id

    @property
    def unk_id(self) -> int:
        return self.token_to_id[UNK]

    @property
    def pad_id(self) -> int:
        if PAD not in self.token_to_id:
            raise ValueError(f"this vocabulary has no {PAD!r} token")
        return self.token_to_id[PAD]

    def encode(self, tokens: Iterable[str]) -> list[int]:
        """Token ids; tokens outside the vocabulary become ``<unk>``."""
        unk = self.unk_id
        return [self.token_to_id.get(token, unk) for token in tokens]

    def decode(self, ids: Iterable[int]) -> list[str]:
        try:
            return [self.id_to_token[i] for i in ids]
        except IndexError:
            raise ValueError(f"id out of range for a vocabulary of {len(self)} tokens") from None
