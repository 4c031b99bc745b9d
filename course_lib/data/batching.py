"""From tokens to tensors: a vocabulary, padding and truncation with attention masks, and LM batches."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np
import torch

from course_lib.device import get_device

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


def pad_and_truncate(
    sequences: Sequence[Sequence[int]],
    max_len: int | None = None,
    pad_id: int = 0,
) -> tuple[list[list[int]], list[list[int]]]:
    """Make variable-length id sequences rectangular.

    Sequences longer than ``max_len`` are truncated (the end is cut); shorter ones are padded on the right
    with ``pad_id``. ``max_len=None`` pads to the longest sequence. Returns ``(ids, attention_mask)``, both
    ``B`` lists of length ``L``; the mask is 1 at real tokens and 0 at padding.
    """
    if max_len is not None and max_len < 0:
        raise ValueError(f"max_len must be >= 0, got {max_len}")
    length = max_len if max_len is not None else max((len(s) for s in sequences), default=0)
    ids, mask = [], []
    for seq in sequences:
        kept = list(seq[:length])
        padding = length - len(kept)
        ids.append(kept + [pad_id] * padding)
        mask.append([1] * len(kept) + [0] * padding)
    return ids, mask


def collate(
    sequences: Sequence[Sequence[int]],
    max_len: int | None = None,
    pad_id: int = 0,
    device: str | torch.device | None = "cpu",
) -> dict[str, torch.Tensor]:
    """``pad_and_truncate`` as tensors: ``input_ids`` (B, L) int64 and ``attention_mask`` (B, L) bool."""
    ids, mask = pad_and_truncate(sequences, max_len, pad_id)
    device = get_device(device)
    length = len(ids[0]) if ids else 0
    return {
        "input_ids": torch.tensor(ids, dtype=torch.long, device=device).reshape(len(ids), length),
        "attention_mask": torch.tensor(mask, dtype=torch.bool, device=device).reshape(len(ids), length),
    }


def get_batch(
    data: np.ndarray | torch.Tensor,
    batch_size: int,
    block_size: int,
    device: str | torch.device | None = None,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sample ``batch_size`` random contiguous windows from a 1-D token array, for next-token prediction.

    Returns ``x`` (B, T) and ``y`` (B, T), int64 on ``device`` (default: ``course_lib.device.get_device()``),
    with ``y[b, t] = x[b, t + 1]``: the token that follows each input position. ``data`` may be a
    ``np.memmap`` (:mod:`course_lib.data.token_files`): only the sampled windows are read from it.
    """
    if not isinstance(data, np.ndarray | torch.Tensor) or data.ndim != 1:
        raise ValueError("data must be a 1-D numpy array or tensor of token ids")
    if batch_size < 1 or block_size < 1:
        raise ValueError(f"batch_size and block_size must be >= 1, got {batch_size} and {block_size}")
    if len(data) <= block_size:
        raise ValueError(f"data has {len(data)} tokens: need more than block_size={block_size}")
    device = get_device(device)
    starts = torch.randint(len(data) - block_size, (batch_size,), generator=generator)
    windows = starts[:, None] + torch.arange(block_size + 1)  # (B, T + 1) indices into data
    if isinstance(data, np.ndarray):  # gather the windows first, so a memmap pages in only these
        tokens = torch.from_numpy(data[windows.numpy()].astype(np.int64))
    else:
        tokens = data[windows].long()
    x, y = tokens[:, :-1].contiguous(), tokens[:, 1:].contiguous()
    if device.type == "cuda":  # pinned memory lets the copy overlap with compute
        return x.pin_memory().to(device, non_blocking=True), y.pin_memory().to(device, non_blocking=True)
    return x.to(device), y.to(device)
