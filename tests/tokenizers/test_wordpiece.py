"""WordPiece: parity with Hugging Face `tokenizers`' WordPiece model, a hand-worked training example, BERT
vocab.txt loading."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

from course_lib.data import load_corpus
from course_lib.tokenizers import WordPieceTokenizer
from course_lib.tokenizers.wordpiece import presplit, train_wordpiece

PYDOCS = load_corpus("pydocs")


@pytest.fixture(scope="module", params=[False, True], ids=["cased", "lowercase"])
def pair(request) -> tuple[WordPieceTokenizer, Tokenizer]:
    lowercase = request.param
    ours = WordPieceTokenizer.train(PYDOCS[:60_000].splitlines(), 800, lowercase=lowercase)
    hf = Tokenizer(models.WordPiece(ours.vocab, unk_token="[UNK]", max_input_chars_per_word=100))
    hf.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    if lowercase:
        hf.normalizer = normalizers.Lowercase()
    return ours, hf


def test_matches_hf_wordpiece_on_unseen_sentences(pair):
    ours, hf = pair
    sentences = [line for line in PYDOCS[150_000:200_000].splitlines() if line.strip()][:400]
    assert len(sentences) == 400
    for sentence in sentences:
        assert ours.encode(sentence) == hf.encode(sentence).ids, sentence


# Characters Unicode already had in version 3.2: Python's and the Rust crate's Unicode tables are of different
# versions, and a newer character can be punctuation in one and not the other: "0\u0c77" splits in two here, not in HF.
OLD_CHARACTERS = st.characters(exclude_categories=("Cs", "Cn")).filter(
    lambda c: unicodedata.ucd_3_2_0.category(c) == unicodedata.category(c) != "Cn"
)


@settings(max_examples=150, deadline=None)
@given(text=st.text(alphabet=OLD_CHARACTERS, max_size=80))
def test_matches_hf_on_random_text(pair, text):
    ours, hf = pair
    assert ours.encode(text) == hf.encode(text).ids


def test_cls_sep_like_bert_processing(pair):
    from tokenizers import processors

    ours, hf = pair
    hf.post_processor = processors.BertProcessing(("[SEP]", ours.vocab["[SEP]"]), ("[CLS]", ours.vocab["[CLS]"]))
    text = "Return the value of x, or None."
    assert ours.encode(text, add_special_tokens=True) == hf.encode(text).ids
    hf.post_processor = None


def test_unknown_and_too_long_words_become_unk():
    tok = WordPieceTokenizer(["[UNK]", "un", "##aff", "##able", "a", "##b"], max_input_chars_per_word=5)
    assert tok.tokenize("unaffable") == ["[UNK]"]  # 9 characters > 5
    tok.max_input_chars_per_word = 100
    assert tok.tokenize("unaffable, ab") == ["un", "##aff", "##able", "[UNK]", "a", "##b"]
    assert tok.tokenize("abx") == ["[UNK]"]  # one uncovered character spoils the whole word
    assert tok.decode(tok.encode("unaffable ab")) == "unaffable ab"


def test_presplit_like_bert():
    expected = ["Hello", ",", "world", "!", "It", "'", "s", "3", "$", "(", "ok", ")"]
    assert presplit("Hello, world!  It's 3$ (ok)") == expected


def test_training_example_worked_by_hand():
    # hug x10, pug x5, pun x12, bun x4, hugs x5. Counts: h 15, p 17, b 4, ##u 36, ##g 20, ##n 16, ##s 5.
    # Score count(ab)/(count(a)count(b)): pairs with ##u score 1/36, (##g, ##s) 5/(20*5) = 1/20 -> "##gs".
    # Then all six pairs score exactly 1/36; the lexicographically greatest is (p, ##u) -> "pu".
    counts = {"hug": 10, "pug": 5, "pun": 12, "bun": 4, "hugs": 5}
    vocab = train_wordpiece(counts, 9)
    assert vocab == ["##g", "##n", "##s", "##u", "b", "h", "p", "##gs", "pu"]


def test_trained_vocab_covers_its_corpus_and_ids_are_ordered():
    text = PYDOCS[:20_000]
    tok = WordPieceTokenizer.train(text, 400)
    assert [tok.id_to_token[i] for i in range(5)] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert tok.vocab_size == 400
    pieces = tok.tokenize(text)
    assert "[UNK]" not in pieces
    words = presplit(text)
    assert "".join(p.removeprefix("##") for p in pieces) == "".join(words)


def test_bert_vocab_txt_round_trip(tmp_path: Path):
    path = tmp_path / "vocab.txt"
    path.write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\nthe\n##re\nre\n", encoding="utf-8")
    tok = WordPieceTokenizer.from_vocab_file(path)
    assert tok.encode("there re") == [4, 5, 6]
    tok.save_bert_vocab(tmp_path / "again.txt")
    assert (tmp_path / "again.txt").read_text(encoding="utf-8") == path.read_text(encoding="utf-8")
    with pytest.raises(ValueError, match="unknown token"):
        WordPieceTokenizer(["a", "b"])
