"""BPE training: hand-worked merges, parity with a naive recount-everything trainer, the step/callback API."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from naive_bpe import naive_train_bpe

from course_lib.data import load_corpus
from course_lib.tokenizers import BPETrainer, train_bpe

PYDOCS = load_corpus("pydocs")


def test_sennrich_example_worked_by_hand():
    # low x5, lower x2, newest x6, widest x3 (no spaces, so one pre-token each).
    # 1: (s,t)=9 ties (e,s)=9 -> the greater pair (s,t).   2: (e,st)=9.
    # 3: (l,o)=7 ties (o,w)=7 -> (o,w).                    4: (l,ow)=7.
    # 5: (n,e)=(e,w)=(w,est)=6 -> the greatest, (w,est).
    trainer = BPETrainer({"low": 5, "lower": 2, "newest": 6, "widest": 3})
    merges = [trainer.step() for _ in range(5)]
    assert [(m.left, m.right) for m in merges] == [
        (b"s", b"t"),
        (b"e", b"st"),
        (b"o", b"w"),
        (b"l", b"ow"),
        (b"w", b"est"),
    ]
    assert [m.count for m in merges] == [9, 9, 7, 7, 6]
    assert [m.new_id for m in merges] == [256, 257, 258, 259, 260]
    assert trainer.vocab[260] == b"west"
    assert trainer.segmented(2) == [([b"n", b"e", b"west"], 6), ([b"low"], 5)]


def test_ids_specials_then_bytes_then_merges():
    vocab, merges = train_bpe("the cat and the hat<|eot|>the end", 256 + 2 + 3, ["<|eot|>", "<pad>"])
    assert vocab[0] == b"<|eot|>" and vocab[1] == b"<pad>"
    assert all(vocab[2 + b] == bytes([b]) for b in range(256))
    assert [vocab[258 + i] for i in range(3)] == [left + right for left, right in merges]
    assert len(vocab) == 261


def test_no_merge_crosses_a_special_token():
    text = "ab<|eot|>ab<|eot|>ab<|eot|>" * 20
    vocab, merges = train_bpe(text, 300, ["<|eot|>"])
    # Without the special token cut out, (b, <), (<, |), ... would be as frequent as (a, b).
    assert merges == [(b"a", b"b")]
    assert len(vocab) == 1 + 256 + 1


@settings(max_examples=60, deadline=None)
@given(
    text=st.text(alphabet="aab  b\n'sthé日!0", max_size=120),
    extra=st.integers(0, 40),
    with_special=st.booleans(),
)
def test_matches_naive_trainer_on_random_corpora(text, extra, with_special):
    specials = ["<|eot|>"] if with_special else []
    if with_special:
        text = text.replace("0", "<|eot|>")
    size = 256 + len(specials) + extra
    assert train_bpe(text, size, specials) == naive_train_bpe(text, size, specials)


def test_matches_naive_trainer_on_python_docs():
    text = PYDOCS[:25_000]
    assert train_bpe(text, 256 + 120) == naive_train_bpe(text, 256 + 120)


def test_input_may_be_a_path_or_a_path_string(tmp_path: Path):
    text = PYDOCS[:5_000]
    path = tmp_path / "corpus.txt"
    path.write_text(text, encoding="utf-8")
    expected = train_bpe(text, 300)
    assert train_bpe(path, 300) == expected
    assert train_bpe(str(path), 300) == expected


def test_step_and_callback_replay_the_same_merges():
    text = PYDOCS[:20_000]
    seen = []
    vocab, merges = train_bpe(text, 320, on_merge=seen.append)
    assert [(m.left, m.right) for m in seen] == merges
    assert [m.rank for m in seen] == list(range(len(merges)))
    trainer = BPETrainer.from_text(text)
    stepped = [trainer.step() for _ in range(len(merges))]
    assert stepped == seen
    assert dict(trainer.vocab) == vocab
    # The counts reported are the real corpus counts of the pair at that moment.
    assert seen[0].count == max(trainer_pair_counts_at_start(text).values())


def trainer_pair_counts_at_start(text: str) -> dict:
    return dict(BPETrainer.from_text(text).pair_counts)


def test_stops_early_when_no_pair_is_left():
    vocab, merges = train_bpe("aaaa", 1000)
    assert merges == [(b"a", b"a"), (b"aa", b"aa")]
    assert len(vocab) == 258


def test_vocab_size_too_small_is_a_clear_error():
    with pytest.raises(ValueError, match="too small"):
        train_bpe("hello", 200, ["<|eot|>"])
