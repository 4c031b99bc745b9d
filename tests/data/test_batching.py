"""Vocabulary, padding/truncation and LM batches."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from course_lib.data import Vocab, collate, get_batch, pad_and_truncate


def test_vocab_orders_specials_then_frequency_then_alphabet() -> None:
    vocab = Vocab.build([["b", "a", "c"], ["a", "c"], ["d"]])
    assert vocab.id_to_token == ["<pad>", "<unk>", "a", "c", "b", "d"]
    assert vocab.encode(["c", "zebra"]) == [3, vocab.unk_id]
    assert vocab.decode([2, 3]) == ["a", "c"]
    assert Vocab.build([["a", "a", "b"]], min_freq=2).id_to_token == ["<pad>", "<unk>", "a"]
    assert len(Vocab.build([list("abcdef")], max_size=4)) == 4


def test_vocab_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="<unk>"):
        Vocab(["a"], specials=("<pad>",))
    with pytest.raises(ValueError, match="min_freq"):
        Vocab.build([["a"]], min_freq=0)
    with pytest.raises(ValueError, match="out of range"):
        Vocab(["a"]).decode([99])


@given(st.lists(st.lists(st.integers(1, 50), max_size=12), max_size=6), st.none() | st.integers(0, 15))
def test_pad_and_truncate_properties(seqs: list[list[int]], max_len: int | None) -> None:
    ids, mask = pad_and_truncate(seqs, max_len, pad_id=0)
    length = max_len if max_len is not None else max(map(len, seqs), default=0)
    assert len(ids) == len(mask) == len(seqs)
    for seq, row, row_mask in zip(seqs, ids, mask):
        kept = min(len(seq), length)
        assert len(row) == len(row_mask) == length
        assert row[:kept] == seq[:kept]  # truncation keeps the start
        assert row_mask == [1] * kept + [0] * (length - kept)
        assert all(token == 0 for token in row[kept:])


def test_collate_gives_tensors_with_a_boolean_mask() -> None:
    batch = collate([[5, 6, 7], [8]], pad_id=0)
    assert batch["input_ids"].tolist() == [[5, 6, 7], [8, 0, 0]]
    assert batch["input_ids"].dtype == torch.long
    assert batch["attention_mask"].dtype == torch.bool
    assert batch["attention_mask"].tolist() == [[True, True, True], [True, False, False]]
    assert collate([], pad_id=0)["input_ids"].shape == (0, 0)


@pytest.mark.parametrize("as_numpy", [True, False])
def test_get_batch_windows_are_contiguous_and_shifted(as_numpy: bool) -> None:
    data = np.arange(1000, dtype=np.int32) * 3
    data = data if as_numpy else torch.from_numpy(data)
    x, y = get_batch(data, batch_size=8, block_size=16, device="cpu", generator=torch.Generator().manual_seed(1))
    assert x.shape == y.shape == (8, 16) and x.dtype == torch.long
    assert torch.equal(x[:, 1:], y[:, :-1])  # y is x shifted by one
    assert torch.equal(torch.diff(x, dim=1), torch.full((8, 15), 3))  # windows are contiguous
    assert int(y.max()) <= 999 * 3


def test_get_batch_is_deterministic_under_a_generator_and_covers_the_data() -> None:
    data = torch.arange(50)
    draw = lambda seed: get_batch(data, 4, 8, device="cpu", generator=torch.Generator().manual_seed(seed))  # noqa: E731
    assert torch.equal(draw(7)[0], draw(7)[0])
    starts = torch.cat([get_batch(data, 64, 8, device="cpu")[0][:, 0] for _ in range(20)])
    assert int(starts.min()) == 0 and int(starts.max()) == 50 - 8 - 1  # every start can be drawn


def test_get_batch_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="1-D"):
        get_batch(np.zeros((4, 4)), 2, 2, device="cpu")
    with pytest.raises(ValueError, match="need more than block_size"):
        get_batch(np.arange(8), 2, 8, device="cpu")
    with pytest.raises(ValueError, match="unknown device 'gpu0'"):
        get_batch(np.arange(100), 2, 8, device="gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            get_batch(np.arange(100), 2, 8, device="cuda")
