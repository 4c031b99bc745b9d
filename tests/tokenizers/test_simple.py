"""Character and word tokenizers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from course_lib.data import Vocab
from course_lib.tokenizers import CharTokenizer, WordTokenizer


@given(st.text(min_size=1, max_size=100))
def test_char_round_trip_and_sorted_ids(text):
    tok = CharTokenizer.train(text)
    assert tok.itos == sorted(set(text))
    assert tok.decode(tok.encode(text)) == text
    assert tok.vocab_size == len(set(text))


def test_char_unknowns():
    with pytest.raises(ValueError, match="'z' is not in the vocabulary"):
        CharTokenizer.train("abc").encode("abz")
    tok = CharTokenizer.train(["ab", "c"], unk_token="<unk>")
    assert tok.itos == ["<unk>", "a", "b", "c"]
    assert tok.encode("azc") == [1, 0, 3]


def test_word_vocab_order_min_freq_and_unk():
    text = "the cat sat. The cat ran, the dog sat!"
    tok = WordTokenizer.train(text, lowercase=True, min_freq=2)
    # counts (lowercased): the 3, cat 2, sat 2, others 1 -> kept: the, cat, sat (ties alphabetical)
    assert tok.itos == ["<pad>", "<unk>", "the", "cat", "sat"]
    assert tok.encode("The dog sat.") == [2, 1, 4, 1]
    assert tok.decode([2, 3, 1]) == "the cat <unk>"
    assert tok.unk_rate("the dog sat.") == pytest.approx(2 / 4)


def test_word_split_keeps_contractions_and_separates_punctuation():
    assert WordTokenizer.split("Don't stop, O'Neil!") == ["Don't", "stop", ",", "O'Neil", "!"]


def test_word_max_size_counts_the_specials_like_vocab_build():
    tok = WordTokenizer.train(["a a a b b c"], max_size=4)
    assert tok.itos == ["<pad>", "<unk>", "a", "b"]
    sentences = [WordTokenizer.split(t) for t in ("a a a b b c", "c d")]
    for max_size in (2, 3, 5, None):
        want = Vocab.build(sentences, max_size=max_size, min_freq=1).id_to_token
        assert WordTokenizer.train(["a a a b b c", "c d"], max_size=max_size).itos == want


def test_word_bad_input():
    with pytest.raises(ValueError, match="min_freq"):
        WordTokenizer.train("x", min_freq=0)
