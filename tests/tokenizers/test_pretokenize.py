"""Pre-tokenisation: GPT-2 regex examples, special-token splitting, safe cuts for parallel counting."""

from __future__ import annotations

from collections import Counter

import pytest
from gpt2_bytes import as_gpt2_str
from hypothesis import given, settings
from hypothesis import strategies as st
from tokenizers import pre_tokenizers

import course_lib.tokenizers.pretokenize as pt
from course_lib.data import load_corpus

WHITESPACE_HEAVY = st.text(alphabet="ab \n\n\t.'s日\u00a0\u3000", max_size=150)


def test_gpt2_examples_worked_by_hand():
    # "  now": the first space is left alone by \s+(?!\S) (a space follows it), the second joins " now".
    assert pt.pretokenize("I'm here  now!!") == ["I", "'m", " here", " ", " now", "!!"]
    assert pt.pretokenize("x = 42\n\n\ty") == ["x", " =", " 42", "\n\n", "\t", "y"]
    assert pt.pretokenize("they'll've") == ["they", "'ll", "'ve"]


@settings(max_examples=200, deadline=None)
# Unassigned code points (Cn) are left out: the two libraries ship different Unicode versions.
@given(st.text(alphabet=st.characters(exclude_categories=("Cs", "Cn")), max_size=100))
def test_pretokens_match_hf_byte_level(text):
    hf = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    theirs = [piece for piece, _ in hf.pre_tokenize_str(text)]  # shown with GPT-2's byte map
    ours = pt.pretokenize(text)
    assert "".join(ours) == text
    assert [as_gpt2_str(piece.encode("utf-8")) for piece in ours] == theirs


def test_split_on_special_tokens_longest_and_leftmost():
    specials = ["<|a|>", "<|a|><|a|>", "a|>x"]
    assert pt.split_on_special_tokens("<|a|><|a|><|a|>", specials) == ["<|a|><|a|>", "<|a|>"]
    # leftmost wins: "<|a|>" starts before "a|>x"
    assert pt.split_on_special_tokens("q<|a|>x", specials) == ["q", "<|a|>", "x"]
    assert pt.split_on_special_tokens("", specials) == []
    assert pt.split_on_special_tokens("plain", []) == ["plain"]


@settings(max_examples=300, deadline=None)
@given(text=WHITESPACE_HEAVY, size=st.integers(1, 40))
def test_cutting_at_safe_points_keeps_pretokens(text, size):
    pieces = pt.cut_at_safe_points(text, size)
    assert "".join(pieces) == text
    assert [tok for piece in pieces for tok in pt.pretokenize(piece)] == pt.pretokenize(text)


@settings(max_examples=300, deadline=None)
@given(text=WHITESPACE_HEAVY)
def test_last_safe_cut_is_safe(text):
    cut = pt.last_safe_cut(text)
    assert cut == 0 or pt.is_safe_cut(text, cut)
    assert pt.pretokenize(text[:cut]) + pt.pretokenize(text[cut:]) == pt.pretokenize(text)


def test_an_unsafe_newline_cut_would_change_pretokens():
    text = "a\n\nb"  # whole: "a", "\n", "\n", "b"; cut after the first newline: "a", "\n" | "\n", "b" (same)
    assert not pt.is_safe_cut(text, 2)
    text = "a \nb"  # cutting after " \n" would give " \n" at the end, but the whole text splits " ", "\n"
    assert pt.pretokenize(text) == ["a", " ", "\n", "b"]
    assert pt.pretokenize(text[:3]) == ["a", " \n"]
    assert not pt.is_safe_cut(text, 3)


@pytest.mark.slow
def test_parallel_counts_equal_serial_counts(monkeypatch):
    text = load_corpus("pydocs")[:400_000].replace("\n\n", "<|eot|>")
    serial = pt.pretoken_counts(text, ["<|eot|>"], num_workers=1)
    monkeypatch.setattr(pt, "PARALLEL_MIN_CHARS", 0)
    parallel = pt.pretoken_counts(text, ["<|eot|>"], num_workers=2)
    assert parallel == serial
    assert serial == Counter(tok for piece in text.split("<|eot|>") for tok in pt.pretokenize(piece))
